//! Human in the loop, durably: a writer drafts a post, the run pauses for a human's decision,
//! then publishes. The run lives in an SQLite file, so the pause survives the process.
//!
//! ```sh
//! cargo run --example approval                                # prints the draft and its pause
//! cargo run --example approval -- --answer PAUSE --approve    # publishes it
//! cargo run --example approval -- --answer PAUSE --reject "too long"
//! cargo run --example approval -- --work RUN_ID   # gives a run the answer a tool recorded
//! ```
//!
//! The `workflow` command and its console answer a pause without this code: they record the
//! answer, and `--work` runs a worker that gives it to the run and publishes.
//!
//! `PAUSE` is the pause's token, `RUN_ID/CHECKPOINT`: it names the pause the decision is
//! for, so that a decision sent twice is refused rather than taken for a later one.
//!
//! The draft is written by a deterministic stand-in for a writer agent, so that the example
//! runs offline; `chain` and `evaluator` show real agents. The database is
//! `target/approval.sqlite3` (`WORKFLOW_APPROVAL_DB` to put it elsewhere).

use std::sync::Arc;

use workflow::prelude::*;
use workflow::{PauseToken, SqliteStore};

/// What the human decides. Its JSON Schema, recorded with the workflow's definition, lets
/// the `workflow` command and the console check an answer before they record it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
enum Decision {
    Approve,
    Reject { reason: String },
}

struct Newsletter;

#[workflow]
impl Newsletter {
    /// Drafts the post (a model call in a real workflow).
    async fn draft(&self, topic: String) -> String {
        format!(
            "This week: {topic}. Three things changed, one of them breaks your build, and \
             here is how to fix it in five minutes."
        )
    }

    /// Runs once a human has decided: the run waits for a `Decision` before this step.
    async fn publish(&self, draft: String, decision: Decision) -> String {
        match decision {
            Decision::Approve => format!("published: {draft}"),
            Decision::Reject { reason } => format!("not published ({reason})"),
        }
    }

    flow! {
        start -> draft -> pause publish -> end;
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match approval().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn approval() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::var("WORKFLOW_APPROVAL_DB")
        .unwrap_or_else(|_| "target/approval.sqlite3".to_owned());
    if let Some(parent) = std::path::Path::new(&path).parent() {
        std::fs::create_dir_all(parent)?;
    }
    let runner = Runner::new(Arc::new(SqliteStore::open(&path)?));
    let args: Vec<String> = std::env::args().skip(1).collect();
    let run = match args.as_slice() {
        [] => runner.start(&Newsletter, "Rust 1.95".to_owned()).await?,
        [flag, run] if flag == "--work" => return work(runner, run.parse()?).await,
        [flag, token, rest @ ..] if flag == "--answer" => {
            let token: PauseToken = token.parse()?;
            let decision = match rest {
                [approve] if approve == "--approve" => Decision::Approve,
                [reject, reason] if reject == "--reject" => Decision::Reject {
                    reason: reason.clone(),
                },
                _ => return Err(usage().into()),
            };
            runner.answer(&Newsletter, token, decision).await?
        }
        _ => return Err(usage().into()),
    };
    match run.outcome {
        Outcome::Suspended(pause) => {
            let token = pause.token().ok_or("a durable run's pause has a token")?;
            println!("draft: {}", pause.payload);
            println!(
                "run {} waits for a decision before `{}`:",
                run.id, pause.step
            );
            println!("  cargo run --example approval -- --answer {token} --approve");
            println!("  cargo run --example approval -- --answer {token} --reject \"reason\"");
        }
        Outcome::Finished(text) => println!("{text}"),
        // `Newsletter` has no `sleep` nor `receive`, so its runs never stop at either.
        Outcome::Sleeping { step, until } => println!("asleep before `{step}` until {until:?}"),
        Outcome::Receiving { step, signal } => println!("waits for `{signal}` before `{step}`"),
        Outcome::Failed(error) => return Err(error.into()),
    }
    Ok(())
}

/// Runs a worker until run `run` has ended: it gives the run the answer `workflow answer` (or
/// the console) recorded, and publishes.
async fn work(runner: Runner, run: workflow::RunId) -> Result<(), Box<dyn std::error::Error>> {
    let worker = workflow::Worker::new(runner.clone())
        .register(Newsletter)
        .spawn();
    let text = runner.handle::<Newsletter>(run).result().await;
    worker.stop().await;
    println!("{}", text?);
    Ok(())
}

fn usage() -> String {
    "usage: approval [--answer PAUSE (--approve | --reject REASON) | --work RUN]".to_owned()
}
