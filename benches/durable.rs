//! The cost of a durable step on SQLite against the floor: the same bytes written by hand.
//!
//! - `durable_run`: a ten-step `#[workflow]` run with `Runner::start` on an `SqliteStore`:
//!   the run is created with its checkpoint 0, and each step's result is saved as a
//!   checkpoint (an `UPDATE` of the run guarded by its lease and version, and an `INSERT` of
//!   the checkpoint, in one transaction) before the next step starts. Each step only adds one
//!   to a counter in a ~300-byte document, so what is measured is the checkpointing.
//! - `raw_insert`: ten `INSERT`s, each committed on its own, of the very bytes the ten
//!   checkpoints of such a run hold, through `rusqlite` on the bench's thread, in a table of
//!   one `TEXT` column: the least a checkpoint can cost.
//!
//! Both sides use a file in WAL mode with the same `synchronous` mode, in the same temporary
//! directory: `normal` (`Durability::Normal`) and `full` (`Durability::Full`, one fsync per
//! commit, the default). Divan reports the time of one iteration: ten steps, or ten inserts.
//!
//! Run with `cargo bench --bench durable`; `BENCHMARKS.md` has the numbers.

use std::path::Path;
use std::sync::Arc;

use divan::{black_box, Bencher};
use rusqlite::Connection;
use workflow::prelude::*;
use workflow::store::{Durability, SqliteOptions};
use workflow::SqliteStore;

fn main() {
    divan::main();
}

/// What each step passes on: a document of ~300 bytes and a counter.
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

struct Ten;

#[workflow]
impl Ten {
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

/// The JSON of the states after each of the ten steps: what the checkpoints hold.
fn checkpoint_bytes() -> Vec<String> {
    let states: [fn(Doc) -> TenState; 10] = [
        TenState::S1,
        TenState::S2,
        TenState::S3,
        TenState::S4,
        TenState::S5,
        TenState::S6,
        TenState::S7,
        TenState::S8,
        TenState::S9,
        TenState::End,
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

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

fn durable(bencher: Bencher<'_, '_>, durability: Durability) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let options = SqliteOptions::new().durability(durability);
    let store = SqliteStore::open_with(dir.path().join("runs.db"), options).expect("opens");
    let runner = Runner::new(Arc::new(store));
    let rt = runtime();
    let check = rt.block_on(runner.start(&Ten, doc())).expect("created");
    assert_eq!(check.into_output().expect("finished").n, 10);
    bencher.bench_local(|| {
        let run = rt.block_on(runner.start(&Ten, black_box(doc())));
        black_box(run.expect("created"))
    });
}

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

fn raw(bencher: Bencher<'_, '_>, synchronous: &str) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = raw_connection(&dir.path().join("raw.db"), synchronous);
    let states = checkpoint_bytes();
    bencher.bench_local(|| {
        let mut insert = db
            .prepare_cached("INSERT INTO raw (state) VALUES (?1)")
            .expect("prepares");
        for state in &states {
            insert.execute([black_box(state)]).expect("inserts");
        }
    });
}

#[divan::bench_group(sample_count = 300)]
mod normal {
    use super::*;

    #[divan::bench]
    fn durable_run(bencher: Bencher<'_, '_>) {
        durable(bencher, Durability::Normal);
    }

    #[divan::bench]
    fn raw_insert(bencher: Bencher<'_, '_>) {
        raw(bencher, "NORMAL");
    }
}

#[divan::bench_group(sample_count = 40, sample_size = 1)]
mod full {
    use super::*;

    #[divan::bench]
    fn durable_run(bencher: Bencher<'_, '_>) {
        durable(bencher, Durability::Full);
    }

    #[divan::bench]
    fn raw_insert(bencher: Bencher<'_, '_>) {
        raw(bencher, "FULL");
    }
}
