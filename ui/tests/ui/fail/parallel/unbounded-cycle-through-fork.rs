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

    async fn report(&self, (sentiment, topic): (String, String)) -> String {
        sentiment + &topic
    }

    flow! {
        type Output = String;
        start -> read -> (sentiment, topic) -> report;
        report -> match {
            text if text.is_empty() => end(text),
            text => read(text),
        };
    }
}

fn main() {}
