//! Durable timers: `a -> sleep "…" -> b` in `flow!`. In memory the run waits where it is; a
//! durable run is put aside in its store with its wake-up time, holds no worker while it
//! sleeps, and is picked up by whichever worker comes after the time, even when every worker
//! that saw it fall asleep has stopped and the store was opened again (SQLite, Postgres).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use workflow::prelude::*;
use workflow::store::{Awaits, CheckpointStore, RunFilter, RunStatus};
use workflow::{MemoryStore, Runner, SqliteStore, Worker};

#[path = "support/postgres.rs"]
mod postgres;

/// Writes a reminder, sleeps, then sends it, noting when.
#[derive(Clone, Default)]
struct Remind {
    sent: Arc<Mutex<Vec<(String, SystemTime)>>>,
}

#[workflow]
impl Remind {
    async fn write(&self, who: String) -> String {
        format!("call {who}")
    }

    async fn send(&self, text: String) -> String {
        let mut sent = self.sent.lock().unwrap_or_else(PoisonError::into_inner);
        sent.push((text.clone(), SystemTime::now()));
        format!("sent: {text}")
    }

    flow! {
        start -> write -> sleep "1500ms" -> send -> end;
    }
}

const NAP: Duration = Duration::from_millis(1500);

impl Remind {
    fn sent(&self) -> Vec<(String, SystemTime)> {
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[tokio::test]
async fn a_run_in_memory_sleeps_where_it_is() {
    let remind = Remind::default();
    let started = Instant::now();
    let text = remind.run("mum".into()).await.expect("finishes");
    assert_eq!(text, "sent: call mum");
    assert!(
        started.elapsed() >= NAP,
        "woke after {:?}",
        started.elapsed()
    );
    assert_eq!(Remind::MAX_STEPS, Some(2), "a sleep takes no step");
}

#[test]
fn the_diagram_shows_the_sleep() {
    assert!(
        Remind::MERMAID.contains("send[\\\"sleep 1500ms, then send\"\\]"),
        "{}",
        Remind::MERMAID
    );
}

#[tokio::test]
async fn a_cancelled_run_in_memory_stops_sleeping() {
    let token = workflow::CancellationToken::new();
    let executor = Executor::new().cancellation(token.clone());
    let remind = Remind::default();
    let run = executor.start(&remind, "mum".into());
    let cancel = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        token.cancel();
    };
    let started = Instant::now();
    let (result, ()) = tokio::join!(run, cancel);
    assert!(
        matches!(result, Err(workflow::Error::Cancelled { .. })),
        "{result:?}"
    );
    assert!(started.elapsed() < NAP);
    assert!(remind.sent().is_empty());
}

/// A run started durably falls asleep: it is saved with no owner, the runner reports when it
/// wakes, no worker takes it before then, and a worker takes it after.
async fn sleeps_durably(store: Arc<dyn CheckpointStore>) {
    let remind = Remind::default();
    let runner = Runner::new(Arc::clone(&store)).owner("first");
    let before = SystemTime::now();
    let report = runner.start(&remind, "mum".into()).await.expect("starts");
    let Outcome::Sleeping { step, until } = report.outcome else {
        panic!("not asleep: {:?}", report.outcome);
    };
    assert_eq!(step, "send");
    // Rounded up to the millisecond the store keeps: never before its time.
    let ms = Duration::from_millis(1);
    assert!(
        until >= before + NAP && until <= SystemTime::now() + NAP + ms,
        "{until:?}"
    );
    let info = runner.status(report.id).await.expect("status");
    assert_eq!(
        (info.status, info.owner, info.step.as_str()),
        (RunStatus::Running, None, "send")
    );
    // The store shows when it wakes (to the millisecond it keeps), in a listing too.
    let Some(Awaits::Time(wakes)) = info.awaits else {
        panic!("not shown asleep: {:?}", info.awaits);
    };
    let apart = wakes
        .duration_since(until)
        .or_else(|_| until.duration_since(wakes));
    assert!(
        apart.expect("a duration") < ms,
        "{wakes:?} against {until:?}"
    );
    let listed = store.list(RunFilter::default()).await.expect("lists");
    assert_eq!(listed.runs[0].awaits, info.awaits);

    // Resumed by hand before its time, it falls asleep again, and nothing runs.
    let again = runner.resume(&remind, report.id).await.expect("resumes");
    assert!(matches!(again.outcome, Outcome::Sleeping { until: again, .. } if again == until));
    assert!(remind.sent().is_empty());

    // A worker on a new runner: it leaves the run until its time, then finishes it.
    let later = Runner::new(store).owner("second");
    let worker = Worker::new(later.clone())
        .register(remind.clone())
        .poll_interval(Duration::from_millis(20))
        .spawn();
    let output = later
        .handle::<Remind>(report.id)
        .result()
        .await
        .expect("finishes");
    assert_eq!(output, "sent: call mum");
    let report = worker.stop().await;
    // It never took the run before its time: a sleeping run is not claimed.
    assert_eq!((report.finished, report.slept), (1, 0));
    let sent = remind.sent();
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0].1 >= until,
        "sent at {:?}, before {until:?}",
        sent[0].1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_durable_run_sleeps_in_memory_store() {
    sleeps_durably(Arc::new(MemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_durable_run_sleeps_in_sqlite() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(dir.path().join("runs.db")).expect("opens");
    sleeps_durably(Arc::new(store)).await;
}

/// A submitted run falls asleep on a worker; every worker stops and the store is closed; a
/// new worker, on the store opened again, starts before the time and finishes the run after
/// it, once.
async fn survives_a_restart_of_every_worker<F, Fut>(open: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Arc<dyn CheckpointStore>>,
{
    let remind = Remind::default();
    let runner = Runner::new(open().await).owner("before");
    let run = runner
        .submit::<Remind>("dad".into())
        .await
        .expect("submits");
    let workers: Vec<_> = (0..2)
        .map(|_| {
            Worker::new(runner.clone())
                .register(remind.clone())
                .poll_interval(Duration::from_millis(20))
                .spawn()
        })
        .collect();
    let asleep = async {
        loop {
            let info = runner.status(run.id()).await.expect("status");
            if info.step == "send" && info.owner.is_none() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), asleep)
        .await
        .expect("falls asleep");
    let mut slept = 0;
    for worker in workers {
        let report = worker.stop().await;
        assert_eq!((report.finished, report.released), (0, 0));
        slept += report.slept;
    }
    assert_eq!(slept, 1);
    let id = run.id();
    drop((run, runner));

    let runner = Runner::new(open().await).owner("after");
    let worker = Worker::new(runner.clone())
        .register(remind.clone())
        .poll_interval(Duration::from_millis(20))
        .spawn();
    let output = runner
        .handle::<Remind>(id)
        .result()
        .await
        .expect("finishes");
    assert_eq!(output, "sent: call dad");
    let report = worker.stop().await;
    assert_eq!((report.finished, report.slept), (1, 0));
    let history = runner.history(id).await.expect("history");
    let steps: Vec<&str> = history.iter().map(|c| c.step.as_ref()).collect();
    assert_eq!(steps, ["write", "send", "end"]);
    let sent = remind.sent();
    assert_eq!(sent.len(), 1, "sent once");
    let asleep_at = history[1].created_at;
    assert!(
        sent[0].1 >= asleep_at + NAP - Duration::from_millis(5),
        "sent {:?} after falling asleep",
        sent[0].1.duration_since(asleep_at)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timer_survives_a_restart_of_every_worker_on_sqlite() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("runs.db");
    survives_a_restart_of_every_worker(|| {
        let path = path.clone();
        async move { Arc::new(SqliteStore::open(path).expect("opens")) as Arc<dyn CheckpointStore> }
    })
    .await;
}

#[cfg(feature = "postgres")]
mod on_postgres {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_durable_run_sleeps_in_postgres() {
        let Some(url) = super::postgres::url() else {
            return;
        };
        let schema = super::postgres::schema("sleep");
        sleeps_durably(super::postgres::connect(&url, &schema).await).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_timer_survives_a_restart_of_every_worker_on_postgres() {
        let Some(url) = super::postgres::url() else {
            return;
        };
        let schema = super::postgres::schema("sleep");
        survives_a_restart_of_every_worker(|| super::postgres::connect(&url, &schema)).await;
    }
}

/// A step may still be named `sleep`; a step that takes no input can be slept before.
struct Named;

#[workflow]
impl Named {
    async fn sleep(&self, n: u32) {
        assert_eq!(n, 1);
    }

    async fn wake(&self) -> u32 {
        7
    }

    flow! {
        start -> sleep -> sleep "10ms" -> wake -> end;
    }
}

#[tokio::test]
async fn a_step_named_sleep_and_a_step_without_input() {
    assert_eq!(Named.run(1).await.expect("finishes"), 7);
    assert!(Named::MERMAID.contains("sleep 10ms, then wake"));
}

/// A workflow that runs as a step of another sleeps as its parent does: a durable parent is
/// put aside while its child sleeps.
struct Nap;

#[workflow]
impl Nap {
    async fn yawn(&self, n: u32) -> u32 {
        n + 1
    }

    async fn wake(&self, n: u32) -> u32 {
        n * 10
    }

    flow! {
        // Long enough for the durable run below to be resumed before it ends, on a busy
        // machine.
        start -> yawn -> sleep "1s" -> wake -> end;
    }
}

struct Day {
    nap: Nap,
}

#[workflow]
impl Day {
    fn nap(&self) -> &Nap {
        &self.nap
    }

    async fn evening(&self, n: u32) -> String {
        format!("{n} at night")
    }

    flow! {
        start -> nap -> evening -> end;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_s_sleep_puts_its_durable_parent_aside() {
    let day = Day { nap: Nap };
    let started = Instant::now();
    assert_eq!(day.run(1).await.expect("finishes"), "20 at night");
    assert!(started.elapsed() >= Duration::from_secs(1));

    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(dir.path().join("runs.db")).expect("opens");
    let runner = Runner::new(Arc::new(store));
    let report = runner.start(&day, 1).await.expect("starts");
    let Outcome::Sleeping { step, until } = report.outcome else {
        panic!("not asleep: {:?}", report.outcome);
    };
    assert_eq!(step, "nap");
    let early = runner.resume(&day, report.id).await.expect("resumes");
    assert!(
        matches!(early.outcome, Outcome::Sleeping { .. }),
        "{:?}",
        early.outcome
    );
    tokio::time::sleep(until.duration_since(SystemTime::now()).unwrap_or_default()).await;
    let done = runner.resume(&day, report.id).await.expect("resumes");
    assert_eq!(done.into_output().expect("finishes"), "20 at night");
}
