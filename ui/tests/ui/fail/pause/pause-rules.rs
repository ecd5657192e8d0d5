use workflow::prelude::*;

struct Approval;

#[workflow]
impl Approval {
    async fn draft(&self, topic: String) -> String {
        topic
    }

    // Marked `pause` below, but takes no value to wait for.
    async fn review(&self, draft: String) -> String {
        draft
    }

    // Takes a second value, but is not marked `pause`.
    async fn publish(&self, draft: String, approved: bool) -> String {
        format!("{draft} {approved}")
    }

    flow! {
        start -> draft -> pause review -> publish -> pause end;
    }
}

fn main() {}
