use workflow::prelude::*;

struct Pipeline;

#[workflow]
impl Pipeline {
    async fn research(&self, topic: String) -> String {
        topic
    }

    async fn review(&self, draft: &str) -> String {
        draft.to_owned()
    }

    flow! {
        start -> research -> review -> end;
    }
}

fn main() {}
