//! The schema of the file, and how a file written by an older version is brought up to date.

use rusqlite::Connection;

use super::rows::store;
use crate::error::Error;

/// The tables, created if missing. `PRAGMA user_version` records the schema's version.
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS workflow_runs (
    id TEXT PRIMARY KEY NOT NULL,
    workflow TEXT NOT NULL,
    fingerprint INTEGER NOT NULL,
    status TEXT NOT NULL,
    step TEXT NOT NULL,
    version INTEGER NOT NULL,
    lease_id TEXT,
    owner TEXT,
    lease_expires INTEGER,
    parent TEXT,
    parent_seq INTEGER,
    parent_step TEXT,
    error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    wake_at INTEGER,
    awaiting TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS workflow_runs_by_status ON workflow_runs (workflow, status);
CREATE INDEX IF NOT EXISTS workflow_runs_runnable ON workflow_runs (id) WHERE status = 'running';
CREATE INDEX IF NOT EXISTS workflow_runs_sleeping ON workflow_runs (wake_at)
    WHERE status = 'running' AND wake_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS workflow_runs_ready ON workflow_runs (id)
    WHERE status = 'running' AND wake_at IS NULL AND awaiting IS NULL;
CREATE INDEX IF NOT EXISTS workflow_runs_awaiting ON workflow_runs (id)
    WHERE status = 'running' AND awaiting IS NOT NULL;
CREATE INDEX IF NOT EXISTS workflow_runs_cancelling ON workflow_runs (id)
    WHERE status = 'running' AND cancel_requested = 1;
CREATE TABLE IF NOT EXISTS workflow_checkpoints (
    run TEXT NOT NULL,
    seq INTEGER NOT NULL,
    workflow TEXT NOT NULL,
    fingerprint INTEGER NOT NULL,
    format INTEGER NOT NULL,
    step TEXT NOT NULL,
    status TEXT NOT NULL,
    state TEXT NOT NULL,
    loops TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    usage TEXT,
    log_next INTEGER,
    events TEXT,
    events_seq INTEGER,
    events_at INTEGER,
    events_count INTEGER,
    PRIMARY KEY (run, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS workflow_branches (
    run TEXT NOT NULL,
    seq INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    value TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    usage TEXT,
    PRIMARY KEY (run, seq, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS workflow_signals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run TEXT NOT NULL,
    signal TEXT NOT NULL,
    value TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS workflow_signals_by_run ON workflow_signals (run, signal, id);
CREATE TABLE IF NOT EXISTS workflow_events (
    run TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at INTEGER NOT NULL,
    event TEXT NOT NULL,
    count INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (run, seq)
) WITHOUT ROWID;
";

/// Schema version 7: the answers recorded for pauses by tools without the workflow's code,
/// and the workflow definitions those tools show. Two new tables, created if missing (kept
/// apart from [`SCHEMA`] so that the step reads on its own).
const ANSWERS_AND_DEFINITIONS: &str = "
CREATE TABLE IF NOT EXISTS workflow_answers (
    run TEXT NOT NULL,
    seq INTEGER NOT NULL,
    value TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (run, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS workflow_definitions (
    workflow TEXT NOT NULL,
    fingerprint INTEGER NOT NULL,
    definition TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (workflow, fingerprint)
) WITHOUT ROWID;
";

/// Schema version 8: the calls the step in flight of a run made (model turns, tool calls,
/// `once` blocks), so that the step, run again after a crash, does not make them again. A new
/// table, created if missing.
const CALLS: &str = "
CREATE TABLE IF NOT EXISTS workflow_calls (
    run TEXT NOT NULL,
    seq INTEGER NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (run, seq, key)
) WITHOUT ROWID;
";

/// Schema version 9: the start times of the calls of shared rate limits
/// ([`CheckpointStore::take_rate_slot`](crate::store::CheckpointStore::take_rate_slot)), per
/// key. A new table, created if missing.
const RATE_LIMITS: &str = "
CREATE TABLE IF NOT EXISTS workflow_rate_starts (
    key TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS workflow_rate_starts_by_key ON workflow_rate_starts (key, at);
";

/// Schema version 10: child runs, a workflow that runs as a step of a durable parent, in
/// `workflow_runs`: `parent_step` (the parent's step; `NULL` for a run of its own), and the
/// index that finds a run's children.
const CHILDREN: &str = "
CREATE INDEX IF NOT EXISTS workflow_runs_children ON workflow_runs (parent)
    WHERE parent_step IS NOT NULL;
";

/// What version 10 added to the runs.
const PARENT_STEP: &str = "ALTER TABLE workflow_runs ADD COLUMN parent_step TEXT;";

/// The schema version this code writes and reads: 2 added `workflow_branches`, 3 the
/// `usage` of checkpoints and branches, 4 the `cancel_requested` of runs (and the index of
/// running runs that workers claim from), 5 `workflow_events` (a new table: [`SCHEMA`]
/// creates it in an older file), 6 the `wake_at` and `awaiting` of runs and
/// `workflow_signals` (durable timers and signals: [`WAITS`]), 7 `workflow_answers` and
/// `workflow_definitions` ([`ANSWERS_AND_DEFINITIONS`]), 8 `workflow_calls` ([`CALLS`]), 9
/// `workflow_rate_starts` ([`RATE_LIMITS`]), 10 the `parent_step` of runs ([`CHILDREN`]), 11
/// the `count` of `workflow_events` (a row holds the events of one write) and the `log_next` of
/// checkpoints ([`BATCHES`]), 12 the events a checkpoint's save logs, in its own row
/// ([`INLINE_EVENTS`]).
pub(super) const SCHEMA_VERSION: i64 = 12;

/// What version 12 added: the batch of events a save logs, kept in its checkpoint's row as a
/// row of `workflow_events` holds it (`events`, the first numbered `events_seq`, from
/// `events_at`, `events_count` of them), so that the save's commit writes one page of the file
/// rather than two. `NULL` in the rows written before, whose events are in `workflow_events`.
const INLINE_EVENTS: &str = "ALTER TABLE workflow_checkpoints ADD COLUMN events TEXT; \
     ALTER TABLE workflow_checkpoints ADD COLUMN events_seq INTEGER; \
     ALTER TABLE workflow_checkpoints ADD COLUMN events_at INTEGER; \
     ALTER TABLE workflow_checkpoints ADD COLUMN events_count INTEGER;";

/// What version 11 added: how many events a row of the log holds (rows written before hold
/// one), and on each checkpoint the number the run's next event takes (`NULL`, as in the
/// rows written before, when not known: it is then looked up in the log).
const BATCHES: &str = "ALTER TABLE workflow_checkpoints ADD COLUMN log_next INTEGER;";

/// What version 11 added to a log that was already there (a file below version 5 gets the
/// table from [`SCHEMA`]).
const BATCH_COUNT: &str =
    "ALTER TABLE workflow_events ADD COLUMN count INTEGER NOT NULL DEFAULT 1;";

/// What version 4 added.
const CANCEL: &str =
    "ALTER TABLE workflow_runs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;";

/// What version 6 added to the runs: when a sleeping run may be picked up, and the signal a
/// run waits for (the index of the one, and the table of signals, are in [`SCHEMA`]).
const WAITS: &str = "ALTER TABLE workflow_runs ADD COLUMN wake_at INTEGER; \
     ALTER TABLE workflow_runs ADD COLUMN awaiting TEXT;";

/// What brings a file at schema version `from` (1 or more) up to date, before [`SCHEMA`]
/// creates the tables it lacks: the columns added since, to the tables it has.
fn migrations(from: i64) -> String {
    let usage = match from {
        1 => "ALTER TABLE workflow_checkpoints ADD COLUMN usage TEXT;",
        2 => {
            "ALTER TABLE workflow_checkpoints ADD COLUMN usage TEXT; \
              ALTER TABLE workflow_branches ADD COLUMN usage TEXT;"
        }
        _ => "",
    };
    // A new file (0) gets the tables as they are; the current version has nothing to do.
    let cancel = if (1..4).contains(&from) { CANCEL } else { "" };
    let wake = if (1..6).contains(&from) { WAITS } else { "" };
    let children = if (1..10).contains(&from) {
        PARENT_STEP
    } else {
        ""
    };
    let batches = if (1..11).contains(&from) { BATCHES } else { "" };
    let count = if (5..11).contains(&from) {
        BATCH_COUNT
    } else {
        ""
    };
    let inline = if (1..12).contains(&from) {
        INLINE_EVENTS
    } else {
        ""
    };
    format!("{usage} {cancel} {wake} {children} {batches} {count} {inline}")
}

/// Creates the tables of a new file, or brings those of a file at an older version up to
/// date, in one transaction that holds the file's write lock: two processes opening an old
/// file at once migrate it once.
///
/// # Errors
///
/// [`Error::Store`] if the file is at a newer version than this code, or SQLite fails.
pub(super) fn set_up(conn: &mut Connection) -> Result<(), Error> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate);
    let tx = tx.map_err(store)?;
    let version: i64 = tx
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(store)?;
    if version > SCHEMA_VERSION {
        return Err(newer(version));
    }
    let setup = format!(
        "{} {SCHEMA} {ANSWERS_AND_DEFINITIONS} {CALLS} {RATE_LIMITS} {CHILDREN} \
         PRAGMA user_version = {SCHEMA_VERSION};",
        migrations(version)
    );
    tx.execute_batch(&setup).map_err(store)?;
    tx.commit().map_err(store)
}

/// The error of a file at schema version `version`, newer than this code reads.
fn newer(version: i64) -> Error {
    let reason = format!(
        "the file was written with schema version {version}, newer than this version of \
         `workflow` reads ({SCHEMA_VERSION}); upgrade `workflow`"
    );
    Error::Store {
        store: "sqlite",
        source: reason.into(),
    }
}
