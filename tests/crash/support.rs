//! Child processes: where they keep their runs, starting and killing them, and what they do.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use workflow::prelude::*;
use workflow::store::CheckpointStore;
use workflow::{RunId, SqliteStore};

use crate::effects::Effects;
use crate::ten::Ten;

/// The variable `name`, parsed.
pub(crate) fn env<T: FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok()?.parse().ok()
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

/// Where the runs are kept, and the SQLite file of the side effects.
pub(crate) struct Target {
    store: Store,
    pub(crate) effects: PathBuf,
}

enum Store {
    Sqlite(PathBuf),
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Postgres {
        url: String,
        schema: String,
    },
}

impl Target {
    /// Runs and effects in one SQLite file.
    pub(crate) fn sqlite(path: PathBuf) -> Self {
        Target {
            store: Store::Sqlite(path.clone()),
            effects: path,
        }
    }

    /// Runs in a new schema of the Postgres server at `url`; effects in an SQLite file.
    #[cfg(feature = "postgres")]
    pub(crate) fn postgres(url: String, effects: PathBuf) -> Self {
        let schema = format!("crash_{}", RunId::new().as_uuid().simple());
        Target {
            store: Store::Postgres { url, schema },
            effects,
        }
    }

    fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).unwrap_or_default();
        let store = match var("WORKFLOW_CRASH_STORE").as_str() {
            "postgres" => Store::Postgres {
                url: var("WORKFLOW_CRASH_URL"),
                schema: var("WORKFLOW_CRASH_SCHEMA"),
            },
            _ => Store::Sqlite(var("WORKFLOW_CRASH_DB").into()),
        };
        Target {
            store,
            effects: var("WORKFLOW_CRASH_EFFECTS").into(),
        }
    }

    fn vars(&self) -> Vec<(&'static str, String)> {
        let effects = ("WORKFLOW_CRASH_EFFECTS", self.effects.display().to_string());
        match &self.store {
            Store::Sqlite(path) => vec![
                ("WORKFLOW_CRASH_STORE", "sqlite".into()),
                ("WORKFLOW_CRASH_DB", path.display().to_string()),
                effects,
            ],
            Store::Postgres { url, schema } => vec![
                ("WORKFLOW_CRASH_STORE", "postgres".into()),
                ("WORKFLOW_CRASH_URL", url.clone()),
                ("WORKFLOW_CRASH_SCHEMA", schema.clone()),
                effects,
            ],
        }
    }

    /// Whether no process holds the write lock of the SQLite file of the effects (on SQLite,
    /// also the runs'): a child stopped while it holds it would stop every other writer.
    pub(crate) fn unlocked(&self) -> bool {
        let db = rusqlite::Connection::open(&self.effects).expect("opens");
        db.busy_timeout(Duration::ZERO).expect("sets");
        db.execute_batch("BEGIN IMMEDIATE; ROLLBACK;").is_ok()
    }

    pub(crate) async fn store(&self) -> Arc<dyn CheckpointStore> {
        match &self.store {
            Store::Sqlite(path) => Arc::new(SqliteStore::open(path).expect("opens")),
            Store::Postgres { url, schema } => postgres(url, schema).await,
        }
    }
}

#[cfg(feature = "postgres")]
async fn postgres(url: &str, schema: &str) -> Arc<dyn CheckpointStore> {
    use workflow::store::{PostgresOptions, PostgresStore};
    let options = PostgresOptions::new().schema(schema);
    Arc::new(
        PostgresStore::connect_with(url, options)
            .await
            .expect("connects"),
    )
}

#[cfg(not(feature = "postgres"))]
async fn postgres(_: &str, _: &str) -> Arc<dyn CheckpointStore> {
    unreachable!("built without the `postgres` feature")
}

/// A child process resuming one run.
pub(crate) struct Child(std::process::Child);

impl Child {
    pub(crate) fn spawn(target: &Target, run: RunId, lease: Duration) -> Self {
        Self::spawn_slow(target, run, lease, None)
    }

    /// A child whose step `slow.0` takes `slow.1`.
    pub(crate) fn spawn_slow(
        target: &Target,
        run: RunId,
        lease: Duration,
        slow: Option<(u64, Duration)>,
    ) -> Self {
        let exe = std::env::current_exe().expect("the test binary");
        let slow = slow.map_or(String::new(), |(k, wait)| {
            format!("{k}:{}", wait.as_millis())
        });
        let child = Command::new(exe)
            .args([
                "--exact",
                "child_process",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .envs(target.vars())
            .env("WORKFLOW_CRASH_RUN", run.to_string())
            .env("WORKFLOW_CRASH_LEASE_MS", lease.as_millis().to_string())
            .env("WORKFLOW_CRASH_SLOW", slow)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starts");
        Child(child)
    }

    pub(crate) fn pid(&self) -> u32 {
        self.0.id()
    }

    /// Whether the child exits within `wait` (then successfully, or the test fails).
    pub(crate) fn finishes_within(&mut self, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(status) = self.0.try_wait().expect("waits") {
                if !status.success() {
                    let mut stderr = String::new();
                    if let Some(mut pipe) = self.0.stderr.take() {
                        let _ = pipe.read_to_string(&mut stderr);
                    }
                    panic!("a child failed ({status}):\n{stderr}");
                }
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_micros(250));
        }
    }

    /// Kills the child with SIGKILL and reaps it.
    pub(crate) fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    /// Sends the child `signal` (`STOP`, `CONT`) with kill(1).
    pub(crate) fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.pid().to_string()])
            .status()
            .expect("runs kill");
        assert!(status.success(), "kill -{signal} failed");
    }
}

impl Drop for Child {
    /// A test that fails leaves no child behind, stopped or running.
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            self.kill();
        }
    }
}

/// What a child does: resume the run in `WORKFLOW_CRASH_RUN` until it has finished. When
/// another process holds the run, wait and try again; when this one loses its lease, record
/// it and try again.
pub(crate) fn child_main() {
    let Some(run) = env::<RunId>("WORKFLOW_CRASH_RUN") else {
        return;
    };
    let target = Target::from_env();
    runtime().block_on(async {
        let runner = Runner::new(target.store().await)
            .owner(format!("child {}", std::process::id()))
            .lease(Duration::from_millis(
                env("WORKFLOW_CRASH_LEASE_MS").unwrap_or(100),
            ));
        let ten = Ten::open(&target.effects, slow());
        loop {
            match runner.resume(&ten, run).await {
                Ok(report) => match report.outcome {
                    Outcome::Finished(_) => return,
                    Outcome::Failed(
                        error @ (Error::LeaseLost { .. } | Error::VersionConflict { .. }),
                    ) => Effects::record_lost(&target.effects, run, &error),
                    other => panic!("{other:?}"),
                },
                Err(Error::RunOwned { .. }) => tokio::time::sleep(Duration::from_millis(5)).await,
                Err(error) => panic!("{error}"),
            }
        }
    });
}

/// The step `WORKFLOW_CRASH_SLOW` (`K:MILLIS`) makes slow, and how slow.
fn slow() -> Option<(u64, Duration)> {
    let slow = std::env::var("WORKFLOW_CRASH_SLOW").ok()?;
    let (k, millis) = slow.split_once(':')?;
    Some((k.parse().ok()?, Duration::from_millis(millis.parse().ok()?)))
}

/// A small random number generator (xorshift64*), seeded for replay.
pub(crate) struct Rng(u64);

impl Rng {
    /// A seed from the clock.
    pub(crate) fn seed() -> u64 {
        let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH);
        now.map_or(1, |now| now.as_nanos() as u64) | 1
    }

    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    /// A number in `0..n`.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }
}
