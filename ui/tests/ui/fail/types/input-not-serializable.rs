use workflow::prelude::*;

struct Pipeline;

struct Notes(String);

#[workflow]
impl Pipeline {
    async fn research(&self, topic: String) -> Notes {
        Notes(topic)
    }

    async fn summarize(&self, notes: Notes) -> String {
        notes.0
    }

    flow! {
        start -> research -> summarize -> end;
    }
}

fn main() {}
