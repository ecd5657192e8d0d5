// Answering a paused run with a value no pause of it waits for, with two pause types: one
// error.
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

    async fn legal(&self, text: Option<String>, ok: bool) -> Option<String> {
        text.filter(|_| ok)
    }

    flow! {
        start -> draft -> pause publish -> pause legal -> end;
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let executor = Executor::new();
    let report = executor.start(&Approval, "topic".into()).report().await;
    let Outcome::Suspended(pause) = report.outcome else { return Ok(()) };
    // The pause waits for a `Decision`, nor a `bool`, but a `u8`.
    let _ = executor.answer(&Approval, &pause, 3_u8)?.await?;
    Ok(())
}
