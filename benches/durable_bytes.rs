//! What a durable map stores: the bytes of its checkpoints and of its branch records, for a
//! map over 100 and over 1,000 elements, on a `MemoryStore` (read back with
//! `Runner::history`) and on an `SqliteStore` (the tables' rows, counted in SQL).
//!
//! The workflow is `start -> split -> each work -> join -> end` over `n` numbers: `split`
//! makes `0..n`, `work` adds one, `join` sums. Each element saves its value as a branch
//! record of the checkpoint before the map; the map's state is not saved again per element,
//! so the bytes grow with `n`, not with `n²`.
//!
//! The SQLite figures also give the rows' whole payload in the file (`dbstat`): with the run
//! id, step number and index that key each row.
//!
//! Run with `cargo bench --bench durable_bytes`; `BENCHMARKS.md` has the numbers.

use std::sync::Arc;

use rusqlite::Connection;
use workflow::prelude::*;
use workflow::store::{Durability, SqliteOptions};
use workflow::{MemoryStore, SqliteStore};

struct Map;

#[workflow]
impl Map {
    async fn split(&self, n: u64) -> Vec<u64> {
        (0..n).collect()
    }

    async fn work(&self, x: u64) -> u64 {
        x + 1
    }

    async fn join(&self, values: Vec<u64>) -> u64 {
        values.iter().sum()
    }

    flow! {
        start -> split -> each work -> join -> end;
    }
}

/// What one run stored.
#[derive(Debug, PartialEq, Eq)]
struct Stored {
    checkpoints: u64,
    /// Bytes of the checkpoints' states and loop counters.
    checkpoint_bytes: u64,
    branches: u64,
    /// Bytes of the branch records' values.
    branch_bytes: u64,
    /// What the rows of both tables take in the file, keys and row headers included (SQLite's
    /// `dbstat` payload); `None` for the memory store.
    payload: Option<u64>,
}

impl Stored {
    fn total(&self) -> u64 {
        self.checkpoint_bytes + self.branch_bytes
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let dir = tempfile::tempdir().expect("a temporary directory");
    println!("what a durable map over n elements stores, in bytes (states, loop counters, branch values):");
    println!(
        "{:<8} {:>6} {:>12} {:>16} {:>9} {:>13} {:>8} {:>12}",
        "store",
        "n",
        "checkpoints",
        "checkpoint bytes",
        "branches",
        "branch bytes",
        "total",
        "row payload"
    );
    let (mut totals, mut payloads) = (Vec::new(), Vec::new());
    for n in [100, 1_000] {
        let memory = rt.block_on(on_memory(n));
        let path = dir.path().join(format!("map{n}.db"));
        let sqlite = rt.block_on(on_sqlite(&path, n));
        let same = (memory.checkpoint_bytes, memory.branch_bytes)
            == (sqlite.checkpoint_bytes, sqlite.branch_bytes);
        assert!(same, "both stores keep the same bytes");
        for (store, stored) in [("memory", &memory), ("sqlite", &sqlite)] {
            let payload = stored.payload.map_or("-".into(), |bytes| bytes.to_string());
            println!(
                "{store:<8} {n:>6} {:>12} {:>16} {:>9} {:>13} {:>8} {payload:>12}",
                stored.checkpoints,
                stored.checkpoint_bytes,
                stored.branches,
                stored.branch_bytes,
                stored.total(),
            );
        }
        totals.push(memory.total());
        payloads.push(sqlite.payload.unwrap_or(0));
    }
    #[allow(clippy::cast_precision_loss)]
    let growth = totals[1] as f64 / totals[0] as f64;
    println!("10x the elements: {growth:.2}x the bytes (linear: 10x; quadratic: 100x)");
    #[allow(clippy::cast_precision_loss)]
    let rows = payloads[1] as f64 / payloads[0] as f64;
    println!("10x the elements: {rows:.2}x the row payload in SQLite");
}

fn expected(n: u64) -> u64 {
    (1..=n).sum()
}

async fn on_memory(n: u64) -> Stored {
    let runner = Runner::new(Arc::new(MemoryStore::new()));
    let run = runner.start(&Map, n).await.expect("created");
    let id = run.id;
    assert_eq!(run.into_output().expect("finished"), expected(n));
    let history = runner.history(id).await.expect("a history");
    let branches = history.iter().flat_map(|c| &c.branches);
    Stored {
        checkpoints: history.len() as u64,
        checkpoint_bytes: history
            .iter()
            .map(|c| (c.state.len() + c.loops.len()) as u64)
            .sum(),
        branches: branches.clone().count() as u64,
        branch_bytes: branches.map(|b| b.value.len() as u64).sum(),
        payload: None,
    }
}

async fn on_sqlite(path: &std::path::Path, n: u64) -> Stored {
    let options = SqliteOptions::new().durability(Durability::Normal);
    let store = SqliteStore::open_with(path, options).expect("opens");
    let runner = Runner::new(Arc::new(store));
    let run = runner.start(&Map, n).await.expect("created");
    assert_eq!(run.into_output().expect("finished"), expected(n));
    let db = Connection::open(path).expect("opens");
    let count = |sql: &str| -> u64 {
        let value: i64 = db.query_row(sql, [], |row| row.get(0)).expect("counts");
        u64::try_from(value).expect("a count")
    };
    Stored {
        checkpoints: count("SELECT count(*) FROM workflow_checkpoints"),
        checkpoint_bytes: count(
            "SELECT coalesce(sum(length(CAST(state AS BLOB)) + length(CAST(loops AS BLOB))), 0) \
             FROM workflow_checkpoints",
        ),
        branches: count("SELECT count(*) FROM workflow_branches"),
        branch_bytes: count(
            "SELECT coalesce(sum(length(CAST(value AS BLOB))), 0) FROM workflow_branches",
        ),
        payload: Some(count(
            "SELECT sum(payload) FROM dbstat \
             WHERE name IN ('workflow_checkpoints', 'workflow_branches')",
        )),
    }
}
