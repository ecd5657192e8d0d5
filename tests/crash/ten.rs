//! The workflow the crash tests run: ten steps, each committing a side effect under an
//! idempotency key, and the check that every effect was committed exactly once.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{params, Connection, TransactionBehavior};
use workflow::prelude::*;

/// A job: its id (the idempotency keys are `{id}/{step}`) and the running value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Job {
    id: u64,
    acc: u64,
}

pub(crate) fn job(id: u64) -> Job {
    Job { id, acc: id }
}

/// What step `k` makes of `acc`.
fn next(acc: u64, k: u64) -> u64 {
    (acc * 31 + k + 1) % 1_000_000_007
}

/// The inputs of the ten steps of job `id`, in order.
fn inputs(id: u64) -> Vec<u64> {
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

/// Ten steps in a row; each adds its input to the job's total, once per idempotency key.
pub(crate) struct Ten {
    effects: Mutex<Connection>,
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
    /// The workflow, with its side effects in the SQLite file at `path`.
    pub(crate) fn open(path: &Path) -> Self {
        Ten {
            effects: Mutex::new(effects_db(path)),
        }
    }

    /// Step `k`: records the attempt, waits a little, then commits the effect: the key, and
    /// the input added to the job's total, only if the key is new.
    async fn step(&self, k: u64, job: Job) -> Result<Job, rusqlite::Error> {
        let key = format!("{}/s{k}", job.id);
        self.db()
            .execute("INSERT INTO attempts (key) VALUES (?1)", [&key])?;
        let micros = u64::from(std::process::id() % 7) * 150 + k * 100;
        tokio::time::sleep(Duration::from_micros(micros)).await;
        let mut db = self.db();
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (id, value) = (job.id as i64, job.acc as i64);
        let new = tx.execute(
            "INSERT INTO effects (key, job, value) VALUES (?1, ?2, ?3) ON CONFLICT (key) DO NOTHING",
            params![key, id, value],
        )?;
        if new == 1 {
            tx.execute(
                "INSERT INTO totals (job, total) VALUES (?1, ?2) \
                 ON CONFLICT (job) DO UPDATE SET total = total + excluded.total",
                params![id, value],
            )?;
        }
        tx.commit()?;
        Ok(Job {
            id: job.id,
            acc: next(job.acc, k),
        })
    }

    fn db(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.effects
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The side effects' tables in the SQLite file at `path`.
fn effects_db(path: &Path) -> Connection {
    let db = Connection::open(path).expect("opens");
    db.busy_timeout(Duration::from_secs(30)).expect("sets");
    db.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE IF NOT EXISTS attempts (key TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS lost (run TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS effects (key TEXT PRIMARY KEY, job INTEGER NOT NULL, value INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS totals (job INTEGER PRIMARY KEY, total INTEGER NOT NULL);",
    )
    .expect("creates the tables");
    db
}

/// The side effects, as the parent reads them.
pub(crate) struct Effects(Connection);

impl Effects {
    pub(crate) fn open(path: &Path) -> Self {
        Effects(effects_db(path))
    }

    /// Records that a worker lost its lease (its step may run again elsewhere).
    pub(crate) fn record_lost(path: &Path) {
        effects_db(path)
            .execute("INSERT INTO lost (run) VALUES ('')", [])
            .expect("records");
    }

    fn lost(&self) -> u64 {
        let count: i64 = self
            .0
            .query_row("SELECT count(*) FROM lost", [], |row| row.get(0))
            .expect("reads");
        count as u64
    }

    /// Checks that job `id` committed each of its ten effects exactly once, with the right
    /// value, and that a step ran again only where a worker was killed or lost its lease
    /// (`kills` kills of this job, the leases lost since the last check). Returns how many
    /// steps ran again.
    pub(crate) fn check_once(&self, id: u64, kills: u64) -> u64 {
        let mut stmt = self
            .0
            .prepare("SELECT key, value FROM effects WHERE job = ?1 ORDER BY value")
            .expect("prepares");
        let rows: Vec<(String, i64)> = stmt
            .query_map([id as i64], |row| Ok((row.get(0)?, row.get(1)?)))
            .expect("reads")
            .collect::<Result<_, _>>()
            .expect("reads");
        let mut found: Vec<(String, u64)> =
            rows.into_iter().map(|(key, v)| (key, v as u64)).collect();
        found.sort();
        let mut wanted: Vec<(String, u64)> = inputs(id)
            .into_iter()
            .enumerate()
            .map(|(k, v)| (format!("{id}/s{k}"), v))
            .collect();
        wanted.sort();
        assert_eq!(
            found, wanted,
            "job {id}: one effect per key, with its step's input"
        );
        let total: i64 = self
            .0
            .query_row(
                "SELECT total FROM totals WHERE job = ?1",
                [id as i64],
                |row| row.get(0),
            )
            .expect("reads");
        let sum: u64 = inputs(id).iter().sum();
        assert_eq!(total as u64, sum, "job {id}: each effect added once");
        let extra: i64 = self
            .0
            .query_row(
                "SELECT count(*) - count(DISTINCT key) FROM attempts WHERE key LIKE ?1",
                [format!("{id}/%")],
                |row| row.get(0),
            )
            .expect("reads");
        let lost = self.lost();
        assert!(
            extra as u64 <= kills + lost,
            "job {id}: {extra} steps ran again, but only {kills} kills and {lost} lost leases"
        );
        self.0.execute("DELETE FROM lost", []).expect("clears");
        extra as u64
    }
}
