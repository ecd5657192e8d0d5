//! Workers under SIGKILL: four worker processes (this test binary again, `--exact
//! worker_process`) work through a thousand submitted runs of a four-step workflow while the
//! parent kills one at random every few hundred milliseconds and starts another in its place.
//! Every run must finish with the right output and history (each step checkpointed once, no
//! fork), every step's side effect must be committed exactly once per idempotency key (the
//! job and the step: a unique key in an SQLite file the steps write to), and nothing may be
//! left running or owned. Kills that land in a step make it run again (at-least-once): the
//! attempts are counted beside the effects.
//!
//! Also: a run hanging in a worker process is cancelled by id from this one.
//!
//! `WORKFLOW_WORKER_RUNS` (1000), `WORKFLOW_WORKER_PROCESSES` (4) and
//! `WORKFLOW_WORKER_KILL_MS` (250, the mean time between kills) set the sizes.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use workflow::prelude::*;
use workflow::store::{CheckpointStore, RunFilter, RunId, RunStatus};
use workflow::{CancellationToken, Runner, SqliteStore, Worker};

#[path = "support/postgres.rs"]
mod postgres;

/// A job: its number and the running value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Job {
    id: u64,
    acc: u64,
}

/// What step `k` makes of `acc`.
fn next(acc: u64, k: u64) -> u64 {
    (acc * 31 + k + 1) % 1_000_000_007
}

/// Four steps; each commits its effect under the key (job, step), and counts its attempts.
struct Four {
    effects: Arc<Mutex<Connection>>,
}

#[workflow]
impl Four {
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

    flow! {
        start -> s0 -> s1 -> s2 -> s3 -> end;
    }
}

impl Four {
    fn open(path: &Path) -> Self {
        let db = Connection::open(path).expect("the effects file opens");
        db.busy_timeout(Duration::from_secs(30)).expect("sets");
        db.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
             CREATE TABLE IF NOT EXISTS effects (job INTEGER, step INTEGER, value INTEGER, \
             PRIMARY KEY (job, step)); \
             CREATE TABLE IF NOT EXISTS attempts (job INTEGER, step INTEGER);",
        )
        .expect("creates the tables");
        Four {
            effects: Arc::new(Mutex::new(db)),
        }
    }

    async fn step(&self, k: u64, job: Job) -> Result<Job, rusqlite::Error> {
        let (id, step, acc) = (job.id as i64, k as i64, job.acc as i64);
        self.write(
            "INSERT INTO attempts (job, step) VALUES (?1, ?2)",
            [id, step],
        )
        .await?;
        if k == 1 && env::<u64>("WORKFLOW_WORKER_HANG_JOB") == Some(job.id) {
            std::future::pending::<()>().await;
        }
        // A millisecond or two of work, in which a kill can land.
        tokio::time::sleep(Duration::from_micros(500 + (job.id % 7) * 200)).await;
        let effects = Arc::clone(&self.effects);
        tokio::task::spawn_blocking(move || {
            let db = effects.lock().unwrap_or_else(PoisonError::into_inner);
            db.execute(
                "INSERT INTO effects (job, step, value) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (job, step) DO NOTHING",
                [id, step, acc],
            )
        })
        .await
        .expect("the write does not panic")?;
        Ok(Job {
            id: job.id,
            acc: next(job.acc, k),
        })
    }

    async fn write(&self, sql: &'static str, values: [i64; 2]) -> Result<(), rusqlite::Error> {
        let effects = Arc::clone(&self.effects);
        tokio::task::spawn_blocking(move || {
            let db = effects.lock().unwrap_or_else(PoisonError::into_inner);
            db.execute(sql, values).map(drop)
        })
        .await
        .expect("the write does not panic")
    }
}

fn env<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok()?.parse().ok()
}

/// Where the runs are: an SQLite file, or a schema of a Postgres server.
#[derive(Clone)]
enum Target {
    Sqlite(PathBuf),
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Postgres {
        url: String,
        schema: String,
    },
}

impl Target {
    fn to_env(&self) -> (String, String) {
        match self {
            Target::Sqlite(path) => ("sqlite".into(), path.display().to_string()),
            Target::Postgres { url, schema } => ("postgres".into(), format!("{schema} {url}")),
        }
    }

    fn from_env() -> Option<Self> {
        let (kind, place) = (
            std::env::var("WORKFLOW_WORKER_STORE").ok()?,
            std::env::var("WORKFLOW_WORKER_PLACE").ok()?,
        );
        Some(match kind.as_str() {
            "sqlite" => Target::Sqlite(place.into()),
            _ => {
                let (schema, url) = place.split_once(' ')?;
                Target::Postgres {
                    url: url.into(),
                    schema: schema.into(),
                }
            }
        })
    }

    async fn store(&self) -> Arc<dyn CheckpointStore> {
        match self {
            Target::Sqlite(path) => {
                let options = workflow::store::SqliteOptions::new()
                    .durability(workflow::store::Durability::Normal);
                Arc::new(SqliteStore::open_with(path, options).expect("opens"))
            }
            #[cfg(feature = "postgres")]
            Target::Postgres { url, schema } => {
                use workflow::store::{PostgresOptions, PostgresStore};
                let options = PostgresOptions::new().schema(schema.clone());
                let store = PostgresStore::connect_with(url, options).await;
                Arc::new(store.expect("connects"))
            }
            #[cfg(not(feature = "postgres"))]
            Target::Postgres { .. } => unreachable!("postgres is off"),
        }
    }
}

/// What a worker process does: serve `Four` until it is killed. Run directly (no
/// `WORKFLOW_WORKER_STORE`), it does nothing.
#[test]
fn worker_process() {
    let Some(target) = Target::from_env() else {
        return;
    };
    let effects: PathBuf = env("WORKFLOW_WORKER_EFFECTS").expect("the effects file");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let runner = Runner::new(target.store().await)
            .owner(format!("worker {}", std::process::id()))
            .lease(Duration::from_millis(600));
        let worker = Worker::new(runner)
            .register(Four::open(&effects))
            .concurrency(8)
            .poll_interval(Duration::from_millis(20));
        worker.run(CancellationToken::new()).await;
    });
}

/// Worker processes, killed when dropped: also when a check fails.
struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A small random number generator (xorshift64*), seeded from the clock.
struct Rng(u64);

impl Rng {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % below.max(1)
    }
}

fn spawn(target: &Target, effects: &Path) -> Child {
    spawn_with(target, effects, &[])
}

fn spawn_with(target: &Target, effects: &Path, vars: &[(&str, &str)]) -> Child {
    let (kind, place) = target.to_env();
    Command::new(std::env::current_exe().expect("the test binary"))
        .envs(vars.iter().copied())
        .args([
            "--exact",
            "worker_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("WORKFLOW_WORKER_STORE", kind)
        .env("WORKFLOW_WORKER_PLACE", place)
        .env("WORKFLOW_WORKER_EFFECTS", effects)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("a worker process starts")
}

/// The parent's runtime and runner, with the effects' tables created.
fn parent(target: &Target, effects: &Path) -> (tokio::runtime::Runtime, Runner) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let runner = Runner::new(runtime.block_on(target.store()));
    Four::open(effects);
    (runtime, runner)
}

fn crash_test(target: &Target, effects: &Path, name: &str) {
    let runs: u64 = env("WORKFLOW_WORKER_RUNS").unwrap_or(1000);
    let processes: usize = env("WORKFLOW_WORKER_PROCESSES").unwrap_or(4);
    let kill_ms: u64 = env("WORKFLOW_WORKER_KILL_MS").unwrap_or(250);
    let (runtime, runner) = parent(target, effects);
    let started = Instant::now();
    // Each job is submitted under an id of its own, twice: the second submit is the same run.
    let ids: Vec<RunId> = (0..runs).map(|_| RunId::new()).collect();
    runtime.block_on(async {
        for (id, &run) in (0..).zip(&ids) {
            let job = Job { id, acc: id };
            runner
                .submit_with_id::<Four>(run, job.clone())
                .await
                .expect("submits");
            let again = runner.submit_with_id::<Four>(run, job).await;
            assert_eq!(again.expect("the same run").id(), run);
        }
    });
    let mut children = Children((0..processes).map(|_| spawn(target, effects)).collect());
    let mut rng =
        Rng(u64::from(std::process::id()) << 20 | started.elapsed().as_nanos() as u64 | 1);
    let (mut kills, deadline) = (0, Instant::now() + Duration::from_secs(240));
    loop {
        std::thread::sleep(Duration::from_millis(kill_ms / 2 + rng.next(kill_ms)));
        let finished = runtime.block_on(count(&runner, RunStatus::Finished));
        if finished == runs as usize {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{name}: stuck at {finished} of {runs} runs"
        );
        let victim = rng.next(children.0.len() as u64) as usize;
        children.0[victim].kill().expect("SIGKILL");
        children.0[victim].wait().expect("reaped");
        kills += 1;
        children.0[victim] = spawn(target, effects);
    }
    let elapsed = started.elapsed();
    drop(children);
    let attempts = runtime.block_on(check(&runner, &ids, effects));
    eprintln!(
        "{name}: {runs} runs by {processes} workers in {elapsed:.1?}, {kills} SIGKILLs, \
         {attempts} step attempts for {} effects",
        runs * 4
    );
    assert!(kills > 0, "{name}: no worker was killed");
}

async fn count(runner: &Runner, status: RunStatus) -> usize {
    let runs = runner.list(RunFilter::new().status(status)).await;
    runs.expect("lists").into_runs().expect("reads").len()
}

/// Checks every run, and the effects; returns how many step attempts there were.
async fn check(runner: &Runner, ids: &[RunId], effects: &Path) -> u64 {
    for (id, &run) in (0..).zip(ids) {
        let info = runner.status(run).await.expect("reads");
        assert_eq!(info.status, RunStatus::Finished, "{info:?}");
        assert!(info.owner.is_none(), "{info:?}");
        let history = runner.history(run).await.expect("history");
        let steps: Vec<&str> = history.iter().map(|c| c.step.as_ref()).collect();
        assert_eq!(steps, ["s0", "s1", "s2", "s3", "end"], "job {id}");
        let seqs: Vec<u64> = history.iter().map(|c| c.seq).collect();
        assert_eq!(seqs, [0, 1, 2, 3, 4], "job {id}");
        let output = runner.handle::<Four>(run).result().await.expect("finished");
        assert_eq!(
            output,
            Job {
                id,
                acc: (0..4).fold(id, next)
            },
            "job {id}"
        );
    }
    let db = Connection::open(effects).expect("opens");
    let effects: i64 = db
        .query_row("SELECT count(*) FROM effects", [], |row| row.get(0))
        .expect("counts");
    assert_eq!(
        effects as usize,
        ids.len() * 4,
        "one effect per job and step"
    );
    let keys: i64 = db
        .query_row(
            "SELECT count(*) FROM effects WHERE job >= 0 AND job < ?1 AND step BETWEEN 0 AND 3",
            [ids.len() as i64],
            |row| row.get(0),
        )
        .expect("counts");
    assert_eq!(keys, effects);
    let attempts: i64 = db
        .query_row("SELECT count(*) FROM attempts", [], |row| row.get(0))
        .expect("counts");
    assert!(
        attempts >= effects,
        "{attempts} attempts for {effects} effects"
    );
    attempts as u64
}

/// A run hangs in its second step in a worker process; this process cancels it by id. The
/// worker stops it when it next renews its lease, records it as cancelled, and goes on
/// serving other runs.
fn cancel_test(target: &Target, effects: &Path) {
    let (runtime, runner) = parent(target, effects);
    let _child = Children(vec![spawn_with(
        target,
        effects,
        &[("WORKFLOW_WORKER_HANG_JOB", "7")],
    )]);
    runtime.block_on(async {
        let hanging = runner.submit::<Four>(Job { id: 7, acc: 7 }).await;
        let hanging = hanging.expect("submits");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let info = hanging.status().await.expect("reads");
            if info.step == "s1" && info.owner.is_some() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the run never reached s1: {info:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let asked = Instant::now();
        let cancel = runner.cancel(hanging.id()).await.expect("cancels");
        assert_eq!(cancel, workflow::store::Cancel::Requested);
        let result = hanging.result().await;
        assert!(
            matches!(result, Err(Error::RunCancelled { .. })),
            "{result:?}"
        );
        // The worker renews its 600 ms lease every 200 ms.
        assert!(
            asked.elapsed() < Duration::from_secs(5),
            "{:?}",
            asked.elapsed()
        );
        let info = hanging.status().await.expect("reads");
        assert_eq!((info.status, info.owner), (RunStatus::Cancelled, None));
        let again = runner.cancel(hanging.id()).await.expect("a no-op");
        assert_eq!(again, workflow::store::Cancel::Ended(RunStatus::Cancelled));

        let other = runner.submit::<Four>(Job { id: 8, acc: 8 }).await;
        let output = other.expect("submits").result().await.expect("finishes");
        assert_eq!(output.acc, (0..4).fold(8, next));
    });
}

#[test]
fn a_run_is_cancelled_from_another_process_on_sqlite() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let target = Target::Sqlite(dir.path().join("runs.db"));
    cancel_test(&target, &dir.path().join("effects.db"));
}

#[cfg(feature = "postgres")]
#[test]
fn a_run_is_cancelled_from_another_process_on_postgres() {
    if let Some(target) = postgres_target() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        cancel_test(&target, &dir.path().join("effects.db"));
    }
}

#[test]
fn killed_workers_lose_no_run_on_sqlite() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let target = Target::Sqlite(dir.path().join("runs.db"));
    crash_test(&target, &dir.path().join("effects.db"), "workers/sqlite");
}

/// A new schema of the Postgres server; `None` (the test is skipped) without one, except
/// under CI.
#[cfg(feature = "postgres")]
fn postgres_target() -> Option<Target> {
    let url = postgres::url()?;
    let schema = postgres::schema("workers");
    Some(Target::Postgres { url, schema })
}

#[cfg(feature = "postgres")]
#[test]
fn killed_workers_lose_no_run_on_postgres() {
    if let Some(target) = postgres_target() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        crash_test(&target, &dir.path().join("effects.db"), "workers/postgres");
    }
}
