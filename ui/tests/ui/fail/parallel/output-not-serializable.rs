use workflow::prelude::*;

struct Review;

struct Score(u32);

#[workflow]
impl Review {
    async fn read(&self, text: String) -> String {
        text
    }

    async fn sentiment(&self, text: String) -> String {
        text
    }

    async fn score(&self, text: String) -> Score {
        Score(text.len() as u32)
    }

    async fn report(&self, (sentiment, score): (String, Score)) -> String {
        format!("{sentiment} {}", score.0)
    }

    flow! {
        start -> read -> (sentiment, score) -> report -> end;
    }
}

fn main() {}
