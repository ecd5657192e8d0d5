use workflow::prelude::*;
use workflow::Answer;

struct Approval;

#[derive(Serialize, Deserialize)]
enum Decision {
    Approve,
    Reject,
}

#[workflow]
impl Approval {
    async fn draft(&self, topic: String) -> String {
        topic
    }

    async fn publish(&self, draft: String, decision: Decision) -> Option<String> {
        match decision {
            Decision::Approve => Some(draft),
            Decision::Reject => None,
        }
    }

    flow! {
        start -> draft -> pause publish -> end;
    }
}

fn main() {
    let state = Approval::start("topic".into());
    // The pause waits for a `Decision`, not a `bool`.
    let _ = <Approval as Answer<bool>>::answer(state, true);
}
