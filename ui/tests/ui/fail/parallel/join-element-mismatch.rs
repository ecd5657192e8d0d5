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

    async fn length(&self, text: String) -> usize {
        text.len()
    }

    async fn report(&self, (sentiment, length): (String, String)) -> String {
        sentiment + &length
    }

    flow! {
        start -> read -> (sentiment, length) -> report -> end;
    }
}

fn main() {}
