//! Durable timers and signals: a reminder run that waits for the user to confirm (a signal
//! sent by id, as a web hook would), then sleeps before it sends the reminder. The run waits
//! in an SQLite file, holding no worker; a worker stops while the run sleeps, and a new one,
//! started later, sends the reminder once the time has come.
//!
//! ```sh
//! cargo run --example reminder
//! ```
//!
//! The database is a new file under the system's temporary directory.

use std::sync::Arc;
use std::time::{Duration, Instant};

use workflow::prelude::*;
use workflow::store::RunFilter;
use workflow::{SqliteStore, Worker};

/// The user's answer to "remind you?".
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Confirm {
    at: String,
}

/// Drafts a reminder, waits for the user to confirm it, sleeps, then sends it.
struct Reminder;

#[workflow]
impl Reminder {
    async fn draft(&self, task: String) -> String {
        format!("remember to {task}")
    }

    async fn confirm(&self, text: String, confirm: Confirm) -> String {
        format!("{text} ({})", confirm.at)
    }

    async fn send(&self, text: String) -> String {
        println!("  sent: {text}");
        text
    }

    flow! {
        start -> draft -> receive confirm -> sleep "2s" -> send -> end;
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::temp_dir().join(format!("reminder-{}.db", workflow::RunId::new()));
    let runner = Runner::new(Arc::new(SqliteStore::open(&path)?));
    println!("{}", Reminder::MERMAID);

    let run = runner.submit::<Reminder>("water the plants".into()).await?;
    let worker = Worker::new(runner.clone())
        .register(Reminder)
        .poll_interval(Duration::from_millis(50))
        .spawn();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let waiting = runner.status(run.id()).await?;
    println!(
        "run {} waits before `{}`, owned by {:?}",
        run.id(),
        waiting.step,
        waiting.owner
    );

    // From anywhere that knows the run's id: the user confirms.
    let confirm = Confirm { at: "6 pm".into() };
    runner.send::<Reminder, Confirm>(run.id(), confirm).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let asleep = runner.status(run.id()).await?;
    println!(
        "confirmed; it sleeps before `{}`, owned by {:?}",
        asleep.step, asleep.owner
    );

    // Every worker stops while the run sleeps; another starts later and finishes it.
    let report = worker.stop().await;
    println!("the first worker stopped: {report:?}");
    let started = Instant::now();
    let later = Worker::new(runner.clone())
        .register(Reminder)
        .poll_interval(Duration::from_millis(50))
        .spawn();
    let text = run.result().await?;
    println!(
        "{text:?}, {:?} after the second worker started",
        started.elapsed()
    );
    later.stop().await;
    let runs = runner.list(RunFilter::new()).await?.into_runs()?;
    println!("{} run(s) in {}", runs.len(), path.display());
    Ok(())
}
