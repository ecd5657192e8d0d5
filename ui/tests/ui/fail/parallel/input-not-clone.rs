use workflow::prelude::*;

struct Review;

#[derive(Serialize, Deserialize)]
struct Text(String);

#[workflow]
impl Review {
    async fn read(&self, text: String) -> Text {
        Text(text)
    }

    async fn sentiment(&self, text: Text) -> String {
        text.0
    }

    async fn topic(&self, text: Text) -> String {
        text.0
    }

    async fn report(&self, (sentiment, topic): (String, String)) -> String {
        sentiment + &topic
    }

    flow! {
        start -> read -> (sentiment, topic) -> report -> end;
    }
}

fn main() {}
