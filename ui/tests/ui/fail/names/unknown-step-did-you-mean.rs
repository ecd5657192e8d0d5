use workflow::prelude::*;

struct Pipeline;

#[workflow]
impl Pipeline {
    async fn research(&self, topic: String) -> String {
        topic
    }

    async fn review(&self, draft: String) -> String {
        draft
    }

    flow! {
        start -> research -> reveiw -> end;
    }
}

fn main() {}
