use workflow::prelude::*;

struct Approval;

struct Decision(bool);

#[workflow]
impl Approval {
    async fn draft(&self, topic: String) -> String {
        topic
    }

    async fn publish(&self, draft: String, decision: Decision) -> String {
        format!("{draft} {}", decision.0)
    }

    flow! {
        start -> draft -> pause publish -> end;
    }
}

fn main() {}
