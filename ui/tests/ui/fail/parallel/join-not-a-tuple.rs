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

    async fn report(&self, both: Vec<String>) -> String {
        both.concat()
    }

    flow! {
        start -> read -> (sentiment, topic) -> report -> end;
    }
}

fn main() {}
