// Answering a paused run with a value of the wrong type, when all its pauses wait for one
// type: our message, not "mismatched types".
use workflow::prelude::*;

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

#[tokio::main]
async fn main() -> Result<()> {
    let executor = Executor::new();
    let report = executor.start(&Approval, "topic".into()).report().await;
    let Outcome::Suspended(pause) = report.outcome else { return Ok(()) };
    // The pause waits for a `Decision`, not a `bool`.
    let _ = executor.answer(&Approval, &pause, true)?.await?;
    Ok(())
}
