//! The cost of a checkpointed step on each store, side by side with its floor: the same bytes
//! written by hand, in the same run of the benchmark.
//!
//! Every `durable_run` is `Runner::start` of `Ten`, a ten-step `#[workflow]` over a `u64`
//! (each step adds one): the run is created with its checkpoint 0, each step's state is saved
//! as a checkpoint before the next step starts, and the last one (`end`) lets go of the lease.
//! One iteration is one run: eleven writes. Divided by ten, it is the time per checkpointed
//! step, the run's creation included.
//!
//! - `memory`: on a `MemoryStore`, against `hashmap_insert`, ten inserts of the checkpoints'
//!   JSON (a copy of each) into a `HashMap` keyed by run and step number. Both sides run in
//!   `block_on` of a current-thread runtime built once. `durable_run_unlogged` is the run
//!   without its event log (`Runner::event_log(false)`).
//! - `sqlite_normal`, `sqlite_full`: on an `SqliteStore` with `Durability::Normal` or `Full`,
//!   against `raw_insert`: ten `INSERT`s, each committed on its own, of the same JSON into a
//!   table of one `TEXT` column, through `rusqlite` on the bench's thread, with a cached
//!   statement. Both in WAL mode, with the same `synchronous` setting, in files in the same
//!   temporary directory. In `Full` mode both sides first write until their WAL has started
//!   over once (an fsync that also has to record a longer file costs about twice as much):
//!   `WARM_RUNS` runs, `WARM_INSERTS` inserts. `sqlite_normal` also has the pair for a ~300-byte document
//!   (`doc_durable_run`, `doc_raw_insert`).
//! - `postgres` (feature `postgres`, and only when `WORKFLOW_POSTGRES_URL` is set): on a
//!   `PostgresStore`, against `raw_insert`: ten autocommitted `INSERT`s of the same JSON
//!   through a prepared `tokio-postgres` statement, on the same server, each its own round
//!   trip. Each side has a schema of its own.
//!
//! - `nested_run` (in `memory`, `sqlite_normal` and `postgres`): `Nest`, the same ten steps
//!   with the last nine in a child workflow, on the same store as `durable_run`: twelve
//!   writes (the turn on which the child ends saves the parent's next state), nine of which
//!   also write the child run's row and checkpoint. Against `durable_run`, what a durable
//!   child step costs.
//!
//! Run with `cargo bench --bench durable` (add `--features postgres` with a server);
//! `BENCHMARKS.md` has the numbers. `cargo bench --bench durable_bytes` prints what a map
//! stores.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use divan::{black_box, Bencher};
use rusqlite::Connection;
use workflow::prelude::*;
use workflow::store::{Durability, SqliteOptions};
use workflow::{MemoryStore, SqliteStore};

fn main() {
    let rt = runtime();
    let runner = Runner::new(Arc::new(MemoryStore::new()));
    let run = rt.block_on(runner.start(&Ten, 0)).expect("created");
    let history = rt.block_on(runner.history(run.id)).expect("a history");
    let saved: Vec<&str> = history[1..].iter().map(|c| c.state.as_str()).collect();
    assert_eq!(
        saved,
        ten_states(),
        "the raw side writes what the run saves"
    );
    assert_eq!(run.into_output().expect("finished"), 10);
    // `Nest`'s child is a run of its own, with a checkpoint per step.
    let nested = rt.block_on(runner.start(&Nest::new(), 0)).expect("created");
    let child = workflow::RunId::child(nested.id, "nine", 1);
    let child_history = rt
        .block_on(runner.history(child))
        .expect("the child's history");
    assert_eq!(child_history.len(), 9);
    divan::main();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

#[path = "support/ten.rs"]
mod ten;
use ten::{ten_states, Ten};

#[path = "support/nest.rs"]
mod nest;
use nest::Nest;

/// Runs `Nest` from 0 on `runner`, once per iteration.
fn nested_runs(bencher: Bencher<'_, '_>, rt: &tokio::runtime::Runtime, runner: &Runner) {
    let nest = Nest::new();
    let check = rt.block_on(runner.start(&nest, 0)).expect("created");
    assert_eq!(check.into_output().expect("finished"), 10);
    bencher.bench_local(|| {
        let run = rt.block_on(runner.start(&nest, black_box(0)));
        black_box(run.expect("created"))
    });
}

/// Runs `Ten` from 0 on `runner`, once per iteration.
fn durable_runs(bencher: Bencher<'_, '_>, rt: &tokio::runtime::Runtime, runner: &Runner) {
    let check = rt.block_on(runner.start(&Ten, 0)).expect("created");
    assert_eq!(check.into_output().expect("finished"), 10);
    bencher.bench_local(|| {
        let run = rt.block_on(runner.start(&Ten, black_box(0)));
        black_box(run.expect("created"))
    });
}

#[divan::bench_group(sample_count = 1000, sample_size = 10)]
mod memory {
    use super::*;

    #[divan::bench]
    fn durable_run(bencher: Bencher<'_, '_>) {
        let runner = Runner::new(Arc::new(MemoryStore::new()));
        durable_runs(bencher, &runtime(), &runner);
    }

    #[divan::bench]
    fn durable_run_unlogged(bencher: Bencher<'_, '_>) {
        let runner = Runner::new(Arc::new(MemoryStore::new())).event_log(false);
        durable_runs(bencher, &runtime(), &runner);
    }

    #[divan::bench]
    fn nested_run(bencher: Bencher<'_, '_>) {
        let runner = Runner::new(Arc::new(MemoryStore::new()));
        nested_runs(bencher, &runtime(), &runner);
    }

    #[divan::bench]
    fn hashmap_insert(bencher: Bencher<'_, '_>) {
        let (rt, states) = (runtime(), ten_states());
        let mut map: HashMap<(u64, u64), String> = HashMap::new();
        let mut run = 0;
        bencher.bench_local(|| {
            run += 1;
            rt.block_on(async {
                for (seq, state) in (1..).zip(&states) {
                    map.insert((black_box(run), seq), black_box(state).clone());
                }
            });
        });
    }
}

/// The store on a new file in `dir`, in mode `durability`.
fn sqlite_runner(dir: &Path, durability: Durability) -> Runner {
    let options = SqliteOptions::new().durability(durability);
    let store = SqliteStore::open_with(dir.join("runs.db"), options).expect("opens");
    Runner::new(Arc::new(store))
}

/// `Ten` on a new file in mode `durability`, with the event log or without (`logged`).
fn sqlite_durable(bencher: Bencher<'_, '_>, durability: Durability, logged: bool) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let runner = sqlite_runner(dir.path(), durability).event_log(logged);
    let rt = runtime();
    if durability == Durability::Full {
        // In steady state: the WAL (16 MiB) has been filled and started over once.
        for _ in 0..WARM_RUNS {
            rt.block_on(runner.start(&Ten, 0)).expect("created");
        }
    }
    durable_runs(bencher, &rt, &runner);
}

/// Runs (`Full` mode) before timing: about 20 WAL frames each, past the store's 16 MiB WAL.
const WARM_RUNS: usize = 250;

/// Inserts (`FULL` mode) before timing: past SQLite's own checkpoint at 1000 pages, after
/// which the WAL is written again from its start.
const WARM_INSERTS: usize = 2_000;

/// A new file at `path` in WAL mode with `synchronous` set, and a table of one column.
fn raw_connection(path: &Path, synchronous: &str) -> Connection {
    let db = Connection::open(path).expect("opens");
    let mode: String = db
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .expect("WAL");
    assert_eq!(mode, "wal");
    db.pragma_update(None, "synchronous", synchronous)
        .expect("sets");
    db.execute_batch("CREATE TABLE raw (id INTEGER PRIMARY KEY, state TEXT NOT NULL)")
        .expect("creates");
    db
}

/// Ten autocommitted inserts of `states` per iteration.
fn sqlite_raw(bencher: Bencher<'_, '_>, synchronous: &str, states: &[String]) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = raw_connection(&dir.path().join("raw.db"), synchronous);
    if synchronous == "FULL" {
        let mut insert = db
            .prepare_cached("INSERT INTO raw (state) VALUES (?1)")
            .expect("prepares");
        for state in states.iter().cycle().take(WARM_INSERTS) {
            insert.execute([state]).expect("inserts");
        }
    }
    bencher.bench_local(|| {
        let mut insert = db
            .prepare_cached("INSERT INTO raw (state) VALUES (?1)")
            .expect("prepares");
        for state in states {
            insert.execute([black_box(state)]).expect("inserts");
        }
    });
}

#[divan::bench_group(sample_count = 300)]
mod sqlite_normal {
    use super::*;

    #[divan::bench]
    fn durable_run(bencher: Bencher<'_, '_>) {
        sqlite_durable(bencher, Durability::Normal, true);
    }

    #[divan::bench]
    fn durable_run_unlogged(bencher: Bencher<'_, '_>) {
        sqlite_durable(bencher, Durability::Normal, false);
    }

    #[divan::bench]
    fn raw_insert(bencher: Bencher<'_, '_>) {
        sqlite_raw(bencher, "NORMAL", &ten_states());
    }

    #[divan::bench]
    fn nested_run(bencher: Bencher<'_, '_>) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let runner = sqlite_runner(dir.path(), Durability::Normal);
        nested_runs(bencher, &runtime(), &runner);
    }

    #[divan::bench]
    fn doc_durable_run(bencher: Bencher<'_, '_>) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let runner = sqlite_runner(dir.path(), Durability::Normal);
        let rt = runtime();
        let check = rt.block_on(runner.start(&TenDocs, doc()));
        assert_eq!(check.expect("created").into_output().expect("ends").n, 10);
        bencher.bench_local(|| {
            let run = rt.block_on(runner.start(&TenDocs, black_box(doc())));
            black_box(run.expect("created"))
        });
    }

    #[divan::bench]
    fn doc_raw_insert(bencher: Bencher<'_, '_>) {
        sqlite_raw(bencher, "NORMAL", &doc_states());
    }
}

#[divan::bench_group(sample_count = 40, sample_size = 1)]
mod sqlite_full {
    use super::*;

    #[divan::bench]
    fn durable_run(bencher: Bencher<'_, '_>) {
        sqlite_durable(bencher, Durability::Full, true);
    }

    #[divan::bench]
    fn durable_run_unlogged(bencher: Bencher<'_, '_>) {
        sqlite_durable(bencher, Durability::Full, false);
    }

    #[divan::bench]
    fn raw_insert(bencher: Bencher<'_, '_>) {
        sqlite_raw(bencher, "FULL", &ten_states());
    }
}

#[cfg(feature = "postgres")]
#[divan::bench_group(sample_count = 200)]
mod postgres {
    use super::*;
    use workflow::store::tokio_postgres::{self, NoTls};
    use workflow::store::{PostgresOptions, PostgresStore};
    use workflow::RunId;

    /// The server, or `None` (with a note) to skip the pair.
    fn url() -> Option<String> {
        let url = std::env::var("WORKFLOW_POSTGRES_URL").ok();
        if url.is_none() {
            eprintln!("note: WORKFLOW_POSTGRES_URL is not set; the postgres pair is skipped");
        }
        url
    }

    /// A schema name no other run of the benchmark uses.
    fn schema() -> String {
        format!("bench_{}", RunId::new().as_uuid().simple())
    }

    #[divan::bench]
    fn durable_run(bencher: Bencher<'_, '_>) {
        let Some(url) = url() else { return };
        let rt = runtime();
        let options = PostgresOptions::new().schema(schema());
        let store = rt.block_on(PostgresStore::connect_with(&url, options));
        let runner = Runner::new(Arc::new(store.expect("connects")));
        durable_runs(bencher, &rt, &runner);
    }

    #[divan::bench]
    fn nested_run(bencher: Bencher<'_, '_>) {
        let Some(url) = url() else { return };
        let rt = runtime();
        let options = PostgresOptions::new().schema(schema());
        let store = rt.block_on(PostgresStore::connect_with(&url, options));
        let runner = Runner::new(Arc::new(store.expect("connects")));
        nested_runs(bencher, &rt, &runner);
    }

    #[divan::bench]
    fn raw_insert(bencher: Bencher<'_, '_>) {
        let Some(url) = url() else { return };
        let (rt, states) = (runtime(), ten_states());
        let (client, insert) = rt.block_on(async {
            let (client, connection) = tokio_postgres::connect(&url, NoTls)
                .await
                .expect("connects");
            tokio::spawn(connection);
            let schema = schema();
            let setup = format!(
                "CREATE SCHEMA {schema}; SET search_path TO {schema}; \
                 CREATE TABLE raw (id bigserial PRIMARY KEY, state text NOT NULL)"
            );
            client.batch_execute(&setup).await.expect("creates");
            let sql = "INSERT INTO raw (state) VALUES ($1)";
            let insert = client.prepare(sql).await.expect("prepares");
            (client, insert)
        });
        bencher.bench_local(|| {
            rt.block_on(async {
                for state in &states {
                    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [state];
                    client.execute(&insert, &params).await.expect("inserts");
                }
            });
        });
    }
}

/// What each step of `TenDocs` passes on: a document of ~300 bytes and a counter.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Doc {
    text: String,
    n: u64,
}

fn doc() -> Doc {
    Doc {
        text: "a paragraph of a draft, as an LLM step would pass it on; ".repeat(5),
        n: 0,
    }
}

fn bump(doc: Doc) -> Doc {
    Doc {
        n: black_box(doc.n) + 1,
        ..doc
    }
}

struct TenDocs;

#[workflow]
impl TenDocs {
    async fn s0(&self, doc: Doc) -> Doc {
        bump(doc)
    }
    async fn s1(&self, doc: Doc) -> Doc {
        bump(doc)
    }
    async fn s2(&self, doc: Doc) -> Doc {
        bump(doc)
    }
    async fn s3(&self, doc: Doc) -> Doc {
        bump(doc)
    }
    async fn s4(&self, doc: Doc) -> Doc {
        bump(doc)
    }
    async fn s5(&self, doc: Doc) -> Doc {
        bump(doc)
    }
    async fn s6(&self, doc: Doc) -> Doc {
        bump(doc)
    }
    async fn s7(&self, doc: Doc) -> Doc {
        bump(doc)
    }
    async fn s8(&self, doc: Doc) -> Doc {
        bump(doc)
    }
    async fn s9(&self, doc: Doc) -> Doc {
        bump(doc)
    }

    flow! {
        start -> s0 -> s1 -> s2 -> s3 -> s4 -> s5 -> s6 -> s7 -> s8 -> s9 -> end;
    }
}

/// The JSON of `TenDocs`'s states after each of its ten steps.
fn doc_states() -> Vec<String> {
    let states: [fn(Doc) -> TenDocsState; 10] = [
        TenDocsState::S1,
        TenDocsState::S2,
        TenDocsState::S3,
        TenDocsState::S4,
        TenDocsState::S5,
        TenDocsState::S6,
        TenDocsState::S7,
        TenDocsState::S8,
        TenDocsState::S9,
        TenDocsState::End,
    ];
    let mut doc = doc();
    states
        .iter()
        .map(|state| {
            doc = bump(doc.clone());
            serde_json::to_string(&state(doc.clone())).expect("serializes")
        })
        .collect()
}
