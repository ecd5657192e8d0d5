//! The workflow the crash tests run: ten steps, each recording that it starts (with the
//! process's pid) and then committing a side effect that is not idempotent: one row per
//! execution, so that every execution of a step can be counted.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use rusqlite::Connection;
use workflow::prelude::*;

/// A job: its number and the running value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Job {
    pub(crate) id: u64,
    pub(crate) acc: u64,
}

pub(crate) fn job(id: u64) -> Job {
    Job { id, acc: id }
}

/// What step `k` makes of `acc`.
fn next(acc: u64, k: u64) -> u64 {
    (acc * 31 + k + 1) % 1_000_000_007
}

/// The inputs of the ten steps of job `id`, in order.
pub(crate) fn inputs(id: u64) -> Vec<u64> {
    (0..10)
        .scan(id, |acc, k| Some(std::mem::replace(acc, next(*acc, k))))
        .collect()
}

/// The output of job `id`.
pub(crate) fn expected(id: u64) -> Job {
    Job {
        id,
        acc: (0..10).fold(id, next),
    }
}

/// Ten steps in a row; each appends one effect row per execution.
pub(crate) struct Ten {
    effects: Arc<Mutex<Connection>>,
    /// A step that takes this long, instead of a millisecond or two.
    slow: Option<(u64, Duration)>,
}

#[workflow]
impl Ten {
    async fn s0(&self, job: Job) -> Result<Job, rusqlite::Error> {
        self.step(0, job).await
    }
    async fn s1(&self, job: Job) -> Result<Job, rusqlite::Error> {
        self.step(1, job).await
    }
    async fn s2(&self, job: Job) -> Result<Job, rusqlite::Error> {
        self.step(2, job).await
    }
    async fn s3(&self, job: Job) -> Result<Job, rusqlite::Error> {
        self.step(3, job).await
    }
    async fn s4(&self, job: Job) -> Result<Job, rusqlite::Error> {
        self.step(4, job).await
    }
    async fn s5(&self, job: Job) -> Result<Job, rusqlite::Error> {
        self.step(5, job).await
    }
    async fn s6(&self, job: Job) -> Result<Job, rusqlite::Error> {
        self.step(6, job).await
    }
    async fn s7(&self, job: Job) -> Result<Job, rusqlite::Error> {
        self.step(7, job).await
    }
    async fn s8(&self, job: Job) -> Result<Job, rusqlite::Error> {
        self.step(8, job).await
    }
    async fn s9(&self, job: Job) -> Result<Job, rusqlite::Error> {
        self.step(9, job).await
    }

    flow! {
        start -> s0 -> s1 -> s2 -> s3 -> s4 -> s5 -> s6 -> s7 -> s8 -> s9 -> end;
    }
}

impl Ten {
    /// The workflow, with its side effects in the SQLite file at `path`, and step
    /// `slow.0` taking `slow.1`.
    pub(crate) fn open(path: &Path, slow: Option<(u64, Duration)>) -> Self {
        Ten {
            effects: Arc::new(Mutex::new(effects_db(path))),
            slow,
        }
    }

    /// Step `k`: records the attempt, waits a little, then commits its effect.
    async fn step(&self, k: u64, job: Job) -> Result<Job, rusqlite::Error> {
        let (id, step, pid) = (job.id as i64, k as i64, std::process::id());
        self.write(
            "INSERT INTO attempts (job, step, pid, at) VALUES (?1, ?2, ?3, ?4)",
            [id, step, pid.into(), now_millis()],
        )
        .await?;
        let wait = match self.slow {
            Some((slow, wait)) if slow == k => wait,
            _ => Duration::from_micros(u64::from(pid % 7) * 150 + k * 100),
        };
        tokio::time::sleep(wait).await;
        self.write(
            "INSERT INTO effects (job, step, pid, value) VALUES (?1, ?2, ?3, ?4)",
            [id, step, pid.into(), job.acc as i64],
        )
        .await?;
        Ok(Job {
            id: job.id,
            acc: next(job.acc, k),
        })
    }

    /// Runs `sql` on the effects' file off the async runtime's thread, so that the lease is
    /// renewed while it waits for the file's lock.
    async fn write(&self, sql: &'static str, values: [i64; 4]) -> Result<(), rusqlite::Error> {
        let effects = Arc::clone(&self.effects);
        tokio::task::spawn_blocking(move || {
            let db = effects
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            db.execute(sql, values).map(drop)
        })
        .await
        .expect("the write does not panic")
    }
}

/// Milliseconds since the Unix epoch, as the stores write `created_at`.
pub(crate) fn now_millis() -> i64 {
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH);
    now.map_or(0, |now| now.as_millis() as i64)
}

/// The tables of the SQLite file at `path`: each attempt of a step (before its effect),
/// each execution of its effect, and each lease a child lost.
pub(crate) fn effects_db(path: &Path) -> Connection {
    let db = Connection::open(path).expect("opens");
    db.busy_timeout(Duration::from_secs(30)).expect("sets");
    db.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE IF NOT EXISTS attempts (job INTEGER NOT NULL, step INTEGER NOT NULL,
             pid INTEGER NOT NULL, at INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS effects (job INTEGER NOT NULL, step INTEGER NOT NULL,
             pid INTEGER NOT NULL, value INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS lost (run TEXT NOT NULL, pid INTEGER NOT NULL,
             at INTEGER NOT NULL, error TEXT NOT NULL);",
    )
    .expect("creates the tables");
    db
}
