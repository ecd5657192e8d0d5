//! What the console and the `workflow` command ask of a busy store, side by side with the raw
//! SQL a person would write for the same rows, in the same run of the benchmark.
//!
//! The store holds 100,000 runs (one in a hundred suspended, the rest finished) and one run
//! of 10,000 checkpoints, with a map of 10,000 elements early on (10,000 saved branches). Each pair reads the same rows of the same tables:
//!
//! - `list_first`, `list_deep`: a page of 50 runs with what each spent (`workflow runs`, the
//!   console's run list), from the start, and after the 90,000th run (`--after`), against
//!   `SELECT … FROM workflow_runs` joined with each run's latest checkpoint for its usage
//!   (and that of the branches saved at it), `WHERE id > ? ORDER BY id LIMIT 50`.
//! - `list_first_then_each_latest`: the same page as the run list read it before listings
//!   carried what each run spent: the page, then each run's latest checkpoint (51 reads).
//! - `list_suspended`: a page of 50 suspended runs (`--status suspended`), against the same
//!   query with `AND status = 'suspended'`.
//! - `run_page`: what a run's page reads of the long run: the run, its latest checkpoint and
//!   its last 200 checkpoints, against the three `SELECT`s by primary key and range.
//!
//! Run with `cargo bench --bench console` (add `--features postgres` and set
//! `WORKFLOW_POSTGRES_URL` for the Postgres pairs); `BENCHMARKS.md` has the numbers. Filling
//! the stores takes a few seconds (SQLite) to a minute (Postgres) before the first sample.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use divan::{black_box, Bencher};
use futures_util::{stream, StreamExt};
use workflow::store::{
    BranchRecord, Checkpoint, CheckpointStore, Lease, NewRun, RunFilter, RunId, RunStatus,
    FORMAT_VERSION,
};
use workflow::usage::{SavedUsage, Usage};

fn main() {
    divan::main();
}

const RUNS: usize = 100_000;
const LONG: u64 = 10_000;
const PAGE: u32 = 50;
const TIMELINE: u32 = 200;
/// The checkpoint of the long run that a map of 10,000 elements saved its branches at.
const MAP_AT: u64 = 10;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

/// A checkpoint of the kind a small workflow writes.
fn checkpoint(run: RunId, seq: u64, status: RunStatus) -> Checkpoint {
    Checkpoint {
        run,
        seq,
        workflow: "Article".into(),
        fingerprint: 0x5eed,
        format: FORMAT_VERSION,
        step: if status == RunStatus::Running {
            "draft".into()
        } else {
            "review".into()
        },
        status,
        state: format!(r#"{{"review":["a draft about topic {seq}","waiting"]}}"#),
        loops: "{}".into(),
        usage: spent(seq),
        created_at: SystemTime::now(),
        branches: Vec::new(),
        child: None,
    }
}

/// What a run of two model calls had spent by checkpoint `seq`, as its checkpoints save it.
fn spent(seq: u64) -> SavedUsage {
    let mut usage = SavedUsage::default();
    usage.total.calls = 2;
    usage.total.usage = Usage::new(1_200 + seq, 300);
    usage.total.cost_usd = 0.0096;
    usage.steps.push(("draft".to_owned(), usage.total));
    usage
}

/// What the benchmarks read: the ids in order, and the long run.
struct Filled {
    ids: Vec<RunId>,
    long: RunId,
}

/// Fills `store` with the runs the benchmarks read.
async fn fill(store: &dyn CheckpointStore) -> Filled {
    let ids: Vec<RunId> = (0..RUNS).map(|_| RunId::new()).collect();
    stream::iter(ids.iter().enumerate())
        .map(|(i, &run)| {
            let status = if i % 100 == 0 {
                RunStatus::Suspended
            } else {
                RunStatus::Finished
            };
            store.create(NewRun {
                first: checkpoint(run, 0, status),
                parent: None,
                lease: None,
            })
        })
        .buffer_unordered(32)
        .for_each(|created| async move { created.expect("creates") })
        .await;
    let long = RunId::new();
    let lease = Lease::new("bench", Duration::from_secs(3600));
    store
        .create(NewRun {
            first: checkpoint(long, 0, RunStatus::Running),
            parent: None,
            lease: Some(lease.clone()),
        })
        .await
        .expect("creates");
    for seq in 1..LONG {
        let status = if seq + 1 == LONG {
            RunStatus::Suspended
        } else {
            RunStatus::Running
        };
        store
            .save(&lease, checkpoint(long, seq, status))
            .await
            .expect("saves");
        if seq == MAP_AT {
            // A map of 10,000 elements early in the run: one saved branch each.
            for index in 0..10_000 {
                let branch = BranchRecord {
                    index,
                    value: format!(r#""element {index}""#),
                    usage: Default::default(),
                };
                let saved = store.save_branch(&lease, long, seq, branch).await;
                saved.expect("saves a branch");
            }
        }
    }
    Filled { ids, long }
}

/// A page of runs with what each spent, as the run list reads it.
async fn list(store: &dyn CheckpointStore, filter: RunFilter) -> usize {
    let page = store.list(filter.limit(PAGE)).await.expect("lists");
    assert_eq!(page.len(), PAGE as usize);
    let spent = page.runs.iter().filter(|run| run.spent.is_some()).count();
    assert_eq!(spent, PAGE as usize);
    spent
}

/// The same page as the run list read it before a listing carried what each run spent: the
/// page, then each run's latest checkpoint.
async fn list_then_each_latest(store: &dyn CheckpointStore, filter: RunFilter) -> usize {
    let page = store.list(filter.limit(PAGE)).await.expect("lists");
    let mut spent = 0;
    for run in &page.runs {
        let latest = store.checkpoint(run.id, None).await.expect("its latest");
        spent += usize::from(latest.usage_so_far().total.calls > 0);
    }
    assert_eq!(spent, PAGE as usize);
    spent
}

async fn run_page(store: &dyn CheckpointStore, run: RunId) -> usize {
    let info = store.run(run).await.expect("the run");
    let latest = store.checkpoint(run, None).await.expect("its latest");
    let from = info.version + 1 - u64::from(TIMELINE);
    let history = store
        .history_page(run, from, TIMELINE)
        .await
        .expect("its history");
    assert_eq!(history.len(), TIMELINE as usize);
    latest.state.len() + history.len()
}

mod sqlite {
    use rusqlite::{params, Connection};

    use super::*;
    use workflow::store::{Durability, SqliteOptions};
    use workflow::SqliteStore;

    struct Fixture {
        _dir: tempfile::TempDir,
        path: std::path::PathBuf,
        store: SqliteStore,
        filled: Filled,
    }

    fn fixture() -> &'static Fixture {
        static FIXTURE: OnceLock<Fixture> = OnceLock::new();
        FIXTURE.get_or_init(|| {
            let dir = tempfile::tempdir().expect("a directory");
            let path = dir.path().join("busy.db");
            let options = SqliteOptions::new().durability(Durability::Normal);
            let store = SqliteStore::open_with(&path, options).expect("opens");
            let filled = runtime().block_on(fill(&store));
            Fixture {
                _dir: dir,
                path,
                store,
                filled,
            }
        })
    }

    fn raw() -> Connection {
        Connection::open(&fixture().path).expect("opens")
    }

    /// A page of runs, each with its latest checkpoint's number, step, time and usage, and
    /// the usage of the branches saved at it (a running run's row is not rewritten at each
    /// checkpoint, so its latest is looked up).
    const RAW_PAGE: &str = "SELECT r.id, r.workflow, r.fingerprint, r.status, r.step, \
         r.version, r.owner, r.lease_expires, r.parent, r.parent_seq, r.error, r.created_at, \
         r.updated_at, c.seq, c.step, c.created_at, c.usage, (SELECT group_concat(b.usage) \
         FROM workflow_branches b WHERE b.run = r.id AND b.seq = c.seq) FROM workflow_runs r \
         LEFT JOIN workflow_checkpoints c ON c.run = r.id AND c.seq = \
         (SELECT max(seq) FROM workflow_checkpoints WHERE run = r.id) \
         WHERE r.id > ?1 AND (?2 IS NULL OR r.status = ?2) ORDER BY r.id LIMIT ?3";

    /// Reads every column of every row of `rows`, as the store decodes them.
    fn drain(rows: &mut rusqlite::Rows<'_>) -> usize {
        let mut n = 0;
        while let Some(row) = rows.next().expect("a row") {
            for i in 0..row.as_ref().column_count() {
                black_box(row.get_ref(i).expect("a value"));
            }
            n += 1;
        }
        n
    }

    fn raw_list(conn: &Connection, after: &str, status: Option<&str>) -> usize {
        let mut stmt = conn.prepare_cached(RAW_PAGE).expect("prepares");
        let mut rows = stmt.query(params![after, status, PAGE]).expect("queries");
        let n = drain(&mut rows);
        assert_eq!(n, PAGE as usize);
        n
    }

    #[divan::bench]
    fn list_first(bencher: Bencher<'_, '_>) {
        let (rt, fixture) = (runtime(), fixture());
        bencher.bench_local(|| rt.block_on(list(&fixture.store, RunFilter::new())));
    }

    #[divan::bench]
    fn raw_list_first(bencher: Bencher<'_, '_>) {
        let conn = raw();
        bencher.bench_local(|| raw_list(&conn, "", None));
    }

    #[divan::bench]
    fn list_first_then_each_latest(bencher: Bencher<'_, '_>) {
        let (rt, fixture) = (runtime(), fixture());
        bencher
            .bench_local(|| rt.block_on(list_then_each_latest(&fixture.store, RunFilter::new())));
    }

    #[divan::bench]
    fn list_deep(bencher: Bencher<'_, '_>) {
        let (rt, fixture) = (runtime(), fixture());
        let after = fixture.filled.ids[90_000];
        bencher.bench_local(|| rt.block_on(list(&fixture.store, RunFilter::new().after(after))));
    }

    #[divan::bench]
    fn raw_list_deep(bencher: Bencher<'_, '_>) {
        let conn = raw();
        let after = fixture().filled.ids[90_000].to_string();
        bencher.bench_local(|| raw_list(&conn, &after, None));
    }

    #[divan::bench]
    fn list_suspended(bencher: Bencher<'_, '_>) {
        let (rt, fixture) = (runtime(), fixture());
        let filter = RunFilter::new().status(RunStatus::Suspended);
        bencher.bench_local(|| rt.block_on(list(&fixture.store, filter.clone())));
    }

    #[divan::bench]
    fn raw_list_suspended(bencher: Bencher<'_, '_>) {
        let conn = raw();
        bencher.bench_local(|| raw_list(&conn, "", Some("suspended")));
    }

    #[divan::bench]
    fn run_page(bencher: Bencher<'_, '_>) {
        let (rt, fixture) = (runtime(), fixture());
        bencher.bench_local(|| rt.block_on(super::run_page(&fixture.store, fixture.filled.long)));
    }

    #[divan::bench]
    fn raw_run_page(bencher: Bencher<'_, '_>) {
        let conn = raw();
        let long = fixture().filled.long.to_string();
        bencher.bench_local(|| {
            let tx = conn.unchecked_transaction().expect("begins");
            let version: i64 = tx
                .prepare_cached("SELECT version FROM workflow_runs WHERE id = ?1")
                .expect("prepares")
                .query_row([&long], |row| row.get(0))
                .expect("the run");
            let mut latest = tx
                .prepare_cached("SELECT * FROM workflow_checkpoints WHERE run = ?1 AND seq = ?2")
                .expect("prepares");
            let n = drain(&mut latest.query(params![long, version]).expect("queries"));
            let mut page = tx
                .prepare_cached(
                    "SELECT * FROM workflow_checkpoints WHERE run = ?1 AND seq >= ?2 \
                     ORDER BY seq LIMIT ?3",
                )
                .expect("prepares");
            let from = version + 1 - i64::from(TIMELINE);
            let n = n + drain(&mut page.query(params![long, from, TIMELINE]).expect("queries"));
            assert_eq!(n, 1 + TIMELINE as usize);
            n
        });
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;
    use workflow::store::tokio_postgres::{self, NoTls};
    use workflow::store::uuid;
    use workflow::store::PostgresOptions;
    use workflow::PostgresStore;

    struct Fixture {
        rt: tokio::runtime::Runtime,
        url: String,
        schema: String,
        store: PostgresStore,
        filled: Filled,
    }

    fn fixture() -> Option<&'static Fixture> {
        static FIXTURE: OnceLock<Option<Fixture>> = OnceLock::new();
        FIXTURE
            .get_or_init(|| {
                let Ok(url) = std::env::var("WORKFLOW_POSTGRES_URL") else {
                    eprintln!(
                        "note: WORKFLOW_POSTGRES_URL is not set; the postgres pairs are skipped"
                    );
                    return None;
                };
                let rt = runtime();
                let schema = format!("bench_{}", RunId::new().as_uuid().simple());
                let options = PostgresOptions::new().schema(&schema);
                let store = rt
                    .block_on(PostgresStore::connect_with(&url, options))
                    .expect("connects");
                let filled = rt.block_on(fill(&store));
                Some(Fixture {
                    rt,
                    url,
                    schema,
                    store,
                    filled,
                })
            })
            .as_ref()
    }

    fn raw(fixture: &Fixture) -> tokio_postgres::Client {
        fixture.rt.block_on(async {
            let (client, connection) = tokio_postgres::connect(&fixture.url, NoTls)
                .await
                .expect("connects");
            tokio::spawn(connection);
            client
                .batch_execute(&format!("SET search_path TO {}", fixture.schema))
                .await
                .expect("sets the schema");
            client
        })
    }

    /// A page of runs, each with its latest checkpoint's usage and that of the branches saved
    /// at it (the row's `version` is its latest checkpoint).
    const RAW_PAGE: &str = "SELECT r.id, r.workflow, r.fingerprint, r.status, r.step, \
         r.version, r.owner, r.lease_expires, r.parent, r.parent_seq, r.error, r.created_at, \
         r.updated_at, c.usage, (SELECT array_agg(b.usage) FROM workflow_branches b \
         WHERE b.run = r.id AND b.seq = r.version) FROM workflow_runs r \
         LEFT JOIN workflow_checkpoints c ON c.run = r.id AND c.seq = r.version \
         WHERE ($1::uuid IS NULL OR r.id > $1) AND ($2::text IS NULL OR r.status = $2) \
         ORDER BY r.id LIMIT 50";

    macro_rules! pair {
        ($store:ident, $raw:ident, $filter:expr, $after:expr, $status:expr) => {
            #[divan::bench]
            fn $store(bencher: Bencher<'_, '_>) {
                let Some(fixture) = fixture() else { return };
                let filter: fn(&Filled) -> RunFilter = $filter;
                let filter = filter(&fixture.filled);
                bencher.bench_local(|| fixture.rt.block_on(list(&fixture.store, filter.clone())));
            }

            #[divan::bench]
            fn $raw(bencher: Bencher<'_, '_>) {
                let Some(fixture) = fixture() else { return };
                let client = raw(fixture);
                let statement = fixture
                    .rt
                    .block_on(client.prepare(RAW_PAGE))
                    .expect("prepares");
                let after: fn(&Filled) -> Option<uuid::Uuid> = $after;
                let after = after(&fixture.filled);
                let status: Option<&str> = $status;
                bencher.bench_local(|| {
                    let rows = fixture
                        .rt
                        .block_on(client.query(&statement, &[&after, &status]))
                        .expect("queries");
                    assert_eq!(rows.len(), PAGE as usize);
                    rows.len()
                });
            }
        };
    }

    pair!(
        list_first,
        raw_list_first,
        |_| RunFilter::new(),
        |_| None,
        None
    );
    pair!(
        list_deep,
        raw_list_deep,
        |filled| RunFilter::new().after(filled.ids[90_000]),
        |filled| Some(*filled.ids[90_000].as_uuid()),
        None
    );
    pair!(
        list_suspended,
        raw_list_suspended,
        |_| RunFilter::new().status(RunStatus::Suspended),
        |_| None,
        Some("suspended")
    );

    #[divan::bench]
    fn list_first_then_each_latest(bencher: Bencher<'_, '_>) {
        let Some(fixture) = fixture() else { return };
        bencher.bench_local(|| {
            fixture
                .rt
                .block_on(list_then_each_latest(&fixture.store, RunFilter::new()))
        });
    }

    #[divan::bench]
    fn run_page(bencher: Bencher<'_, '_>) {
        let Some(fixture) = fixture() else { return };
        bencher.bench_local(|| {
            fixture
                .rt
                .block_on(super::run_page(&fixture.store, fixture.filled.long))
        });
    }

    #[divan::bench]
    fn raw_run_page(bencher: Bencher<'_, '_>) {
        let Some(fixture) = fixture() else { return };
        let client = raw(fixture);
        let long = *fixture.filled.long.as_uuid();
        let (version, latest, page) = fixture.rt.block_on(async {
            (
                client
                    .prepare("SELECT version FROM workflow_runs WHERE id = $1")
                    .await
                    .expect("prepares"),
                client
                    .prepare("SELECT * FROM workflow_checkpoints WHERE run = $1 AND seq = $2")
                    .await
                    .expect("prepares"),
                client
                    .prepare(
                        "SELECT * FROM workflow_checkpoints WHERE run = $1 AND seq >= $2 \
                         ORDER BY seq LIMIT $3",
                    )
                    .await
                    .expect("prepares"),
            )
        });
        bencher.bench_local(|| {
            fixture.rt.block_on(async {
                let row = client.query_one(&version, &[&long]).await.expect("the run");
                let at: i64 = row.get(0);
                let one = client.query(&latest, &[&long, &at]).await.expect("queries");
                let from = at + 1 - i64::from(TIMELINE);
                let rows = client
                    .query(&page, &[&long, &from, &i64::from(TIMELINE)])
                    .await
                    .expect("queries");
                assert_eq!(one.len() + rows.len(), 1 + TIMELINE as usize);
                rows.len()
            })
        });
    }
}
