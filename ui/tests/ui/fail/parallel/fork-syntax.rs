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
        start -> read -> (sentiment) -> report -> end;
        read -> (sentiment, topic);
        read -> (sentiment, topic) [concurrency 2] -> report;
        read -> each sentiment [concurency 2] -> report;
        read -> each sentiment [concurrency 0] -> report;
        read -> (sentiment, topic) [max 3] -> report;
        read -> (sentiment, topic) -> (sentiment, topic) -> report;
        read -> (sentiment, topic) -> match { _ => end };
        read -> (sentiment, "topic") -> report;
        read -> (sentiment, topic) [colect] -> report;
        read -> each sentiment [collect, collect] -> report;
        read -> each sentiment [4] -> report;
    }
}

fn main() {}
