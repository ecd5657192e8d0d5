//! Throughput of durable runs worked off by workers on Postgres, against its floor: the same
//! claims and checkpoint commits written by hand with `tokio-postgres`, in the same run of the
//! benchmark. `scripts/throughput.sh` runs it with DBOS Transact's side
//! (`scripts/dbos_throughput.py`) and prints a table; `BENCHMARKS.md` has the numbers.
//!
//! The workload: `RUNS` runs of `Ten`, ten steps that each add one to a `u64`, all submitted
//! before the clock starts, then worked off by `W` workers, each driving at most `C` runs at
//! once. Runs per second are `RUNS` divided by the time from the workers' start to the last
//! run's end. For each `W`:
//!
//! - `floor`: `W` tasks, each with a connection of its own (`C` tasks per worker when `C` is
//!   above 1), each looping: one claim statement (`UPDATE … WHERE id = (SELECT … ORDER BY id
//!   LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING`, autocommitted: one transaction; by an index of
//!   the runs not yet claimed, as the store has one of runnable runs), then ten
//!   autocommitted `INSERT`s of the run's checkpoints (the same JSON `Ten` saves), the last
//!   of which also marks the run done, until the claim finds nothing. The end is when the
//!   last task has seen nothing left.
//! - `floor_shared`: the floor with one connection per worker, which its `C` tasks share
//!   (their statements pipelined), as each worker's store has one.
//! - `workflow`: `W` [`Worker`]s, each with a [`Runner`] on a [`PostgresStore`] of its own
//!   (one connection each), with `concurrency(C)`, spawned as tasks of this process; the end
//!   is the last run's `updated_at` as the store records it (found by polling every 20 ms
//!   whether a run is still running).
//! - `workflow_nolog`: the same with `Runner::event_log(false)`.
//!
//! Before the clock starts, the workflow sides run `ANALYZE workflow_runs`, as autovacuum
//! would on a store in service: without statistics the claim is planned to read the whole
//! backlog (`BENCHMARKS.md`). `THROUGHPUT_NO_ANALYZE=1` skips it, as does
//! `THROUGHPUT_SUBMIT=during` (below).
//!
//! Each side has a schema of its own. All run on a multi-threaded Tokio runtime with as many
//! threads as the machine has cores, or `THROUGHPUT_THREADS`.
//!
//! Run with `cargo bench --bench throughput --features postgres` and `WORKFLOW_POSTGRES_URL`
//! set; `THROUGHPUT_WORKERS` (default `1,2,4`), `THROUGHPUT_RUNS` (default 5000) and
//! `THROUGHPUT_CONCURRENCY` (default 16, a `Worker`'s own default) change the workload;
//! `THROUGHPUT_SIDES` (say `floor,workflow`) measures only the sides named, and
//! `THROUGHPUT_KEEP_SCHEMAS=1` leaves each side's schema in place afterwards (to read its
//! tables' statistics). `THROUGHPUT_SUBMIT=during` has the workflow
//! sides submit their runs one by one while their workers work (the clock running), as clients
//! would, so that what each submit's notice costs the workers shows; the floor is unchanged.
//! Prints one line per measurement:
//! `<side> workers=W concurrency=C runs=R seconds=S runs_per_s=X`.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use divan::black_box;
use workflow::prelude::*;
use workflow::store::tokio_postgres::{self, Client, NoTls};
use workflow::store::{PostgresOptions, PostgresStore};
use workflow::{RunId, Worker};

#[path = "support/ten.rs"]
mod ten;
use ten::{ten_states, Ten};

/// The workload, from the environment.
struct Workload {
    url: String,
    workers: Vec<usize>,
    runs: usize,
    concurrency: usize,
    /// The sides to measure (`THROUGHPUT_SIDES`, comma-separated; all by default).
    sides: Option<Vec<String>>,
    /// Whether the workflow sides submit their runs while the workers work
    /// (`THROUGHPUT_SUBMIT=during`) rather than before the clock starts.
    submit_during: bool,
}

impl Workload {
    fn from_env() -> Option<Self> {
        let Ok(url) = std::env::var("WORKFLOW_POSTGRES_URL") else {
            eprintln!("note: WORKFLOW_POSTGRES_URL is not set; nothing to measure");
            return None;
        };
        let var = |name: &str, default: &str| std::env::var(name).unwrap_or(default.into());
        let number = |name: &str, text: &str| -> usize {
            match text.trim().parse() {
                Ok(n) if n > 0 => n,
                _ => {
                    eprintln!("error: {name}: `{text}` is not a positive whole number");
                    std::process::exit(2)
                }
            }
        };
        let workers = var("THROUGHPUT_WORKERS", "1,2,4");
        Some(Workload {
            url,
            workers: workers
                .split(',')
                .map(|w| number("THROUGHPUT_WORKERS", w))
                .collect(),
            runs: number("THROUGHPUT_RUNS", &var("THROUGHPUT_RUNS", "5000")),
            concurrency: number(
                "THROUGHPUT_CONCURRENCY",
                &var("THROUGHPUT_CONCURRENCY", "16"),
            ),
            sides: std::env::var("THROUGHPUT_SIDES").ok().map(|sides| {
                sides
                    .split(',')
                    .map(|side| side.trim().to_owned())
                    .collect()
            }),
            submit_during: match var("THROUGHPUT_SUBMIT", "before").as_str() {
                "before" => false,
                "during" => true,
                other => {
                    eprintln!(
                        "error: THROUGHPUT_SUBMIT: `{other}` is neither `before` nor `during`"
                    );
                    std::process::exit(2)
                }
            },
        })
    }

    /// Whether side `side` is measured.
    fn measures(&self, side: &str) -> bool {
        self.sides
            .as_ref()
            .is_none_or(|sides| sides.iter().any(|wanted| wanted == side))
    }

    fn report(&self, side: &str, workers: usize, seconds: f64) {
        println!(
            "{side} workers={workers} concurrency={} runs={} seconds={seconds:.3} runs_per_s={:.1}",
            self.concurrency,
            self.runs,
            self.runs as f64 / seconds
        );
    }
}

fn main() {
    let Some(load) = Workload::from_env() else {
        return;
    };
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Ok(threads) = std::env::var("THROUGHPUT_THREADS") {
        rt.worker_threads(
            threads
                .parse()
                .expect("THROUGHPUT_THREADS: a number of threads"),
        );
    }
    let rt = rt.enable_all().build().expect("a runtime");
    rt.block_on(async {
        for &workers in &load.workers {
            if load.measures("floor") {
                let floor = floor(&load, workers, false).await;
                load.report("floor", workers, floor);
            }
            if load.measures("floor_shared") {
                let floor = floor(&load, workers, true).await;
                load.report("floor_shared", workers, floor);
            }
            if load.measures("workflow") {
                let ours = durable(&load, workers, true).await;
                load.report("workflow", workers, ours);
            }
            if load.measures("workflow_nolog") {
                let nolog = durable(&load, workers, false).await;
                load.report("workflow_nolog", workers, nolog);
            }
        }
    });
}

/// A schema name no other run of the benchmark uses.
fn schema() -> String {
    format!("bench_{}", RunId::new().as_uuid().simple())
}

async fn connect(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.expect("connects");
    tokio::spawn(connection);
    client
}

/// The seconds the floor takes with `workers` workers: with a connection per run in flight,
/// or (`shared`) one per worker, which its runs in flight share.
async fn floor(load: &Workload, workers: usize, shared: bool) -> f64 {
    let schema = schema();
    let setup = connect(&load.url).await;
    let create = format!(
        "CREATE SCHEMA {schema}; SET search_path TO {schema}; \
         CREATE TABLE runs (id bigserial PRIMARY KEY, input bigint NOT NULL, \
         owner uuid, done boolean NOT NULL DEFAULT false); \
         CREATE TABLE checkpoints (run bigint NOT NULL, seq bigint NOT NULL, \
         state text NOT NULL, PRIMARY KEY (run, seq)); \
         CREATE INDEX runs_pending ON runs (id) WHERE owner IS NULL; \
         INSERT INTO runs (input) SELECT 0 FROM generate_series(1, {})",
        load.runs
    );
    setup.batch_execute(&create).await.expect("creates");
    let states = Arc::new(ten_states());
    let mut clients = Vec::new();
    let connections = if shared {
        workers
    } else {
        workers * load.concurrency
    };
    for _ in 0..connections {
        let client = connect(&load.url).await;
        let path = format!("SET search_path TO {schema}");
        client.batch_execute(&path).await.expect("sets");
        clients.push(Arc::new(client));
    }
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for client in &clients {
        let tasks_each = if shared { load.concurrency } else { 1 };
        for _ in 0..tasks_each {
            tasks.spawn(floor_worker(Arc::clone(client), Arc::clone(&states)));
        }
    }
    let mut claimed = 0;
    while let Some(done) = tasks.join_next().await {
        claimed += done.expect("a floor worker");
    }
    let seconds = start.elapsed().as_secs_f64();
    assert_eq!(claimed, load.runs, "the floor ran every run once");
    let left: i64 = setup
        .query_one("SELECT count(*) FROM runs WHERE NOT done", &[])
        .await
        .expect("counts")
        .get(0);
    assert_eq!(left, 0, "the floor finished every run");
    drop_schema(&setup, &schema).await;
    seconds
}

/// One of the floor's workers: claims runs and writes their ten checkpoints until there are
/// none left; how many it ran.
async fn floor_worker(client: Arc<Client>, states: Arc<Vec<String>>) -> usize {
    let claim = client
        .prepare(
            "UPDATE runs SET owner = $1 WHERE id = (SELECT id FROM runs WHERE owner IS NULL \
             ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id, input",
        )
        .await
        .expect("prepares");
    let save = client
        .prepare("INSERT INTO checkpoints (run, seq, state) VALUES ($1, $2, $3)")
        .await
        .expect("prepares");
    let last = client
        .prepare(
            "WITH run AS (UPDATE runs SET done = true WHERE id = $1 RETURNING id) \
             INSERT INTO checkpoints (run, seq, state) SELECT id, $2, $3 FROM run",
        )
        .await
        .expect("prepares");
    let owner = RunId::new();
    let mut ran = 0;
    while let Some(row) = client
        .query_opt(&claim, &[owner.as_uuid()])
        .await
        .expect("claims")
    {
        let (run, input): (i64, i64) = (row.get(0), row.get(1));
        black_box(input);
        for (seq, state) in (1_i64..).zip(states.iter()) {
            let statement = if seq == 10 { &last } else { &save };
            client
                .execute(statement, &[&run, &seq, state])
                .await
                .expect("saves");
        }
        ran += 1;
    }
    ran
}

/// The seconds `workers` workers take to work off the runs, with the event log on or off.
async fn durable(load: &Workload, workers: usize, event_log: bool) -> f64 {
    let schema = schema();
    let connect_store = || async {
        let options = PostgresOptions::new().schema(schema.clone());
        let store = PostgresStore::connect_with(&load.url, options).await;
        Runner::new(Arc::new(store.expect("connects"))).event_log(event_log)
    };
    let submitter = connect_store().await;
    if !load.submit_during {
        for _ in 0..load.runs {
            submitter.submit::<Ten>(0).await.expect("submits");
        }
    }
    let mut runners = Vec::new();
    for _ in 0..workers {
        runners.push(connect_store().await);
    }
    let watch = connect(&load.url).await;
    let path = format!("SET search_path TO {schema}");
    watch.batch_execute(&path).await.expect("sets");
    // Statistics of a table still empty (runs submitted during) would have the claim read
    // the whole table as it fills, until autovacuum analyzes it again.
    if !load.submit_during && std::env::var_os("THROUGHPUT_NO_ANALYZE").is_none() {
        // The statistics a store in service has: without them, the planner may not pick the
        // claim's partial indexes (see BENCHMARKS.md).
        watch
            .batch_execute("ANALYZE workflow_runs")
            .await
            .expect("analyzes");
    }

    let started = now_millis();
    let handles: Vec<_> = runners
        .into_iter()
        .map(|runner| {
            Worker::new(runner)
                .register(Ten)
                .concurrency(load.concurrency)
                .spawn()
        })
        .collect();
    let submitting = load.submit_during.then(|| {
        let runs = load.runs;
        tokio::spawn(async move {
            for _ in 0..runs {
                submitter.submit::<Ten>(0).await.expect("submits");
            }
        })
    });
    if let Some(submitting) = submitting {
        submitting.await.expect("the submitter");
    }
    // Polled by the partial index of running runs: a count over the whole table, 50 times a
    // second, would cost the server more than a worker's claims do at 10,000 runs.
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let running: bool = watch
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM workflow_runs WHERE status = 'running')",
                &[],
            )
            .await
            .expect("looks")
            .get(0);
        if !running {
            break;
        }
        assert!(Instant::now() < deadline, "runs still running after 10 min");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let row = watch
        .query_one(
            "SELECT count(*) FILTER (WHERE status = 'finished'), max(updated_at) \
             FROM workflow_runs",
            &[],
        )
        .await
        .expect("counts");
    let (finished, ended): (i64, i64) = (row.get(0), row.get(1));
    assert_eq!(finished as usize, load.runs, "every run finished");
    let mut finished = 0;
    for handle in handles {
        finished += handle.stop().await.finished;
    }
    assert_eq!(finished as usize, load.runs, "each run was driven once");
    drop_schema(&watch, &schema).await;
    (ended - started) as f64 / 1000.0
}

/// Milliseconds since the Unix epoch: the clock the store's `updated_at` is on (the server's,
/// on the same machine).
fn now_millis() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970");
    i64::try_from(since.as_millis()).expect("fits")
}

async fn drop_schema(client: &Client, schema: &str) {
    if std::env::var_os("THROUGHPUT_KEEP_SCHEMAS").is_some() {
        eprintln!("kept schema {schema}");
        return;
    }
    let sql = format!("DROP SCHEMA {schema} CASCADE");
    client.batch_execute(&sql).await.expect("drops");
}
