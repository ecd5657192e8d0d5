use workflow::prelude::*;

struct Review;

#[workflow]
impl Review {
    async fn sentiment(&self, text: String) -> String {
        text
    }

    async fn length(&self, text: String) -> usize {
        text.len()
    }

    flow! {
        type Output = String;
        start -> (sentiment, length) -> end;
    }
}

fn main() {}
