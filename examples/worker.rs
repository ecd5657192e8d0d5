//! Runs that run themselves: this process submits 200 runs of a three-step workflow to an
//! SQLite file, starts two worker processes (this example again, with `--worker`), kills
//! one of them with SIGKILL while it is busy, and waits for every run's result. The runs the
//! killed worker held are taken over by the other once their leases expire (1 s here), and
//! none is lost.
//!
//! ```sh
//! cargo run --example worker
//! ```
//!
//! The database is a new file under the system's temporary directory.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

use workflow::prelude::*;
use workflow::{CancellationToken, SqliteStore, Worker};

/// Fetches an order, prices it, and writes an invoice: each step a few milliseconds of
/// pretend I/O.
struct Invoice;

#[workflow]
impl Invoice {
    async fn fetch(&self, order: u64) -> (u64, u64) {
        tokio::time::sleep(Duration::from_millis(5)).await;
        (order, order % 5 + 1)
    }

    async fn price(&self, (order, items): (u64, u64)) -> (u64, u64) {
        tokio::time::sleep(Duration::from_millis(5)).await;
        (order, items * 1_250)
    }

    async fn invoice(&self, (order, cents): (u64, u64)) -> String {
        tokio::time::sleep(Duration::from_millis(5)).await;
        format!("order {order}: {}.{:02} EUR", cents / 100, cents % 100)
    }

    flow! {
        start -> fetch -> price -> invoice -> end;
    }
}

fn runner(path: &Path) -> Result<Runner, Error> {
    let store = SqliteStore::open(path)?;
    Ok(Runner::new(Arc::new(store)).lease(Duration::from_secs(1)))
}

/// A worker process: serves `Invoice` until it is killed.
async fn work(path: &Path) -> Result<(), Error> {
    let runner = runner(path)?.owner(format!("worker {}", std::process::id()));
    let worker = Worker::new(runner)
        .register(Invoice)
        .concurrency(8)
        .poll_interval(Duration::from_millis(20));
    worker.run(CancellationToken::new()).await;
    Ok(())
}

fn spawn_worker(path: &Path) -> std::io::Result<Process> {
    let child = Command::new(std::env::current_exe()?)
        .arg("--worker")
        .arg(path)
        .spawn()?;
    Ok(Process(child))
}

/// A worker process, killed (SIGKILL) when dropped, however `main` ends.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("--worker") {
        let path: PathBuf = args
            .next()
            .ok_or("--worker takes the database's path")?
            .into();
        return Ok(work(&path).await?);
    }
    let dir = std::env::temp_dir().join(format!("workflow-worker-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("runs.sqlite3");
    let runner = runner(&path)?;

    let started = Instant::now();
    let mut handles = Vec::new();
    for order in 0..200 {
        handles.push(runner.submit::<Invoice>(order).await?);
    }
    println!("submitted 200 runs to {}", path.display());

    let first = spawn_worker(&path)?;
    let second = spawn_worker(&path)?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let killed = first.0.id();
    drop(first);
    println!("killed worker {killed} with SIGKILL; its runs wait for their leases to expire");

    let mut last = String::new();
    for handle in &handles {
        last = handle.result().await?;
    }
    println!(
        "all 200 runs finished in {:.1?} (the last: {last}), worker {} took over the rest",
        started.elapsed(),
        second.0.id()
    );
    drop(second);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
