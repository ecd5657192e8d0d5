//! A limit per workflow across all workers: with several workers, each on a store of its own
//! as in separate processes, no more runs of a limited workflow run at once than its limit,
//! and every run finishes.

// `transition` is written as the trait declares it, as `#[workflow]` generates it.
#![allow(clippy::manual_async_fn)]

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use workflow_runtime::store::CheckpointStore;
use workflow_runtime::{Context, Error, Runner, StepPolicy, Worker, Workflow};

/// How many steps of [`Gauged`] run now, and the most that ever ran at once.
#[derive(Debug, Default)]
struct Meter {
    now: AtomicU32,
    most: AtomicU32,
}

/// `first -> second`, each step taking a while: it counts, from inside its steps, how many of
/// its runs run at once.
struct Gauged(Arc<Meter>);

#[derive(Debug, Serialize, Deserialize)]
enum GaugedState {
    First(u64),
    Second(u64),
    End(u64),
}

impl Gauged {
    async fn step(&self, x: u64) -> u64 {
        let now = self.0.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.0.most.fetch_max(now, Ordering::SeqCst);
        // Long beside a claim or a save, even a slow one: runs that may overlap do.
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.0.now.fetch_sub(1, Ordering::SeqCst);
        x + 1
    }
}

impl Workflow for Gauged {
    type Input = u64;
    type Output = u64;
    type State = GaugedState;
    const NAME: &'static str = "Gauged";
    const FINGERPRINT: u64 = 1;
    const STEPS: &'static [&'static str] = &["first", "second"];

    fn start(input: u64) -> GaugedState {
        GaugedState::First(input)
    }

    fn finish(state: GaugedState) -> Result<u64, GaugedState> {
        match state {
            GaugedState::End(out) => Ok(out),
            other => Err(other),
        }
    }

    fn step_name(state: &GaugedState) -> &'static str {
        match state {
            GaugedState::First(_) => "first",
            GaugedState::Second(_) => "second",
            GaugedState::End(_) => "end",
        }
    }

    fn transition<'a>(
        &'a self,
        state: GaugedState,
        cx: &'a mut Context,
    ) -> impl Future<Output = Result<GaugedState, Error>> + Send + 'a {
        const POLICY: StepPolicy = StepPolicy::new();
        async move {
            Ok(match state {
                GaugedState::First(x) => {
                    GaugedState::Second(cx.step("first", &POLICY, self.ok(x)).await?)
                }
                GaugedState::Second(x) => {
                    GaugedState::End(cx.step("second", &POLICY, self.ok(x)).await?)
                }
                end @ GaugedState::End(_) => end,
            })
        }
    }
}

impl Gauged {
    async fn ok(&self, x: u64) -> Result<u64, workflow_runtime::BoxError> {
        Ok(self.step(x).await)
    }
}

/// Submits 30 runs of `Gauged` and has one worker per store of `stores` (each 4 runs at a
/// time, with `limit` if given) run them all; returns the most that ran at once.
async fn most_at_once(stores: Vec<Arc<dyn CheckpointStore>>, limit: Option<u32>) -> u32 {
    let meter = Arc::new(Meter::default());
    let submitter = Runner::new(Arc::clone(&stores[0])).owner("submitter");
    let mut runs = Vec::new();
    for x in 0..30 {
        runs.push(submitter.submit::<Gauged>(x).await.expect("submits"));
    }
    let workers: Vec<_> = (0..)
        .zip(stores)
        .map(|(n, store)| {
            let runner = Runner::new(store).owner(format!("worker-{n}"));
            let worker = Worker::new(runner)
                .register(Gauged(Arc::clone(&meter)))
                .concurrency(4)
                .poll_interval(Duration::from_millis(5));
            match limit {
                Some(runs) => worker.limit::<Gauged>(runs),
                None => worker,
            }
            .spawn()
        })
        .collect();
    for (x, run) in (0..).zip(&runs) {
        let out = tokio::time::timeout(Duration::from_secs(30), run.result()).await;
        assert_eq!(out.expect("in time").expect("finishes"), x + 2);
    }
    let mut finished = 0;
    for worker in workers {
        let report = worker.stop().await;
        assert_eq!(report.failed + report.released, 0, "{report:?}");
        finished += report.finished;
    }
    assert_eq!(finished, 30);
    meter.most.load(Ordering::SeqCst)
}

/// With a limit of 3, at most 3 runs ran at once, and 3 did (the workers could run 12);
/// without one, more than 3 did: the measure sees a limit that is not kept.
async fn a_limit_holds_across_workers(
    mut stores: impl AsyncFnMut() -> Vec<Arc<dyn CheckpointStore>>,
) {
    assert_eq!(most_at_once(stores().await, Some(3)).await, 3);
    let unlimited = most_at_once(stores().await, None).await;
    assert!(unlimited > 3, "without a limit, {unlimited} at most");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory() {
    a_limit_holds_across_workers(async || {
        let store: Arc<dyn CheckpointStore> = Arc::new(workflow_runtime::MemoryStore::new());
        vec![Arc::clone(&store), Arc::clone(&store), store]
    })
    .await;
}

/// Three stores on one file, as three processes would open it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut files = 0;
    a_limit_holds_across_workers(async || {
        files += 1;
        let path = dir.path().join(format!("runs-{files}.db"));
        let open = || -> Arc<dyn CheckpointStore> {
            Arc::new(workflow_runtime::SqliteStore::open(&path).expect("opens"))
        };
        vec![open(), open(), open()]
    })
    .await;
}

/// Three stores on one schema, as three processes would connect.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    use workflow_runtime::store::{PostgresOptions, PostgresStore, RunId};

    let Some(url) = crate::stores::postgres_url() else {
        return;
    };
    a_limit_holds_across_workers(async || {
        let schema = format!("test_{}", RunId::new().as_uuid().simple());
        let mut stores: Vec<Arc<dyn CheckpointStore>> = Vec::new();
        for _ in 0..3 {
            let options = PostgresOptions::new().schema(schema.clone());
            let store = PostgresStore::connect_with(&url, options).await;
            stores.push(Arc::new(store.expect("connects")));
        }
        stores
    })
    .await;
}
