use workflow::prelude::*;

struct Review;

#[workflow]
impl Review {
    async fn read(&self, text: String) -> String {
        text
    }

    async fn sentiment(&self, text: String) -> String {
        text
    }

    async fn topic(&self, text: String) -> String {
        text
    }

    async fn tone(&self, text: String) -> String {
        text
    }

    async fn report(&self, (sentiment, topic): (String, String)) -> String {
        sentiment + &topic
    }

    flow! {
        start -> read -> (sentiment, topic, tone) -> report -> end;
    }
}

fn main() {}
