//! Keeping history small: pruning a run's checkpoints, deleting old ended runs.

use std::time::SystemTime;

use rusqlite::{params, Connection};

use super::id::Id;
use super::read::select_run;
use super::rows::store;
use super::tx::write;
use crate::store::time::to_millis;
use crate::store::{Retention, RunId, RunStatus};
use crate::Error;

/// Deletes the checkpoints of run `run` but its last `keep` (at least 1), the branches
/// saved at them, and the calls recorded by its steps that are over; the events they logged
/// move to `workflow_events`.
pub(super) fn prune(conn: &mut Connection, run: RunId, keep: u64) -> Result<u64, Error> {
    let tx = write(conn)?;
    let info = select_run(&tx, run)?;
    // The calls of the steps that are over are never read again.
    tx.prepare_cached("DELETE FROM workflow_calls WHERE run = ?1 AND seq < ?2")
        .and_then(|mut stmt| stmt.execute(params![Id::run(run), seq(info.version)]))
        .map_err(store)?;
    // Checkpoints `version - keep + 1 ..= version` stay.
    let last_gone = info.version.checked_sub(keep.max(1));
    let Some(last_gone) = last_gone.and_then(|at| i64::try_from(at).ok()) else {
        tx.commit()?;
        return Ok(0);
    };
    // The events those checkpoints logged stay in the log.
    super::log::keep(&tx, run, last_gone)?;
    // The branches saved at the checkpoints that go, go with them.
    tx.prepare_cached("DELETE FROM workflow_branches WHERE run = ?1 AND seq <= ?2")
        .and_then(|mut stmt| stmt.execute(params![Id::run(run), last_gone]))
        .map_err(store)?;
    let gone = tx
        .prepare_cached("DELETE FROM workflow_checkpoints WHERE run = ?1 AND seq <= ?2")
        .and_then(|mut stmt| stmt.execute(params![Id::run(run), last_gone]))
        .map_err(store)?;
    tx.commit()?;
    Ok(gone as u64)
}

/// Deletes the runs `retention` selects, with their checkpoints, branches, event logs,
/// messages, answers and recorded calls.
pub(super) fn delete_runs(conn: &mut Connection, retention: &Retention) -> Result<u64, Error> {
    // The runs to delete, with `?1` and `?2` the statuses, `?3` the time, `?4` now, as the
    // table `doomed (id)`: the selected runs and their child runs at any depth (child runs go
    // with their parent only).
    const DOOMED: &str = "WITH RECURSIVE doomed (id) AS (SELECT id FROM workflow_runs \
         WHERE parent_step IS NULL AND status IN (?1, ?2) AND updated_at < ?3 \
         AND (lease_id IS NULL OR lease_expires IS NULL OR lease_expires <= ?4) \
         UNION ALL SELECT r.id FROM workflow_runs AS r JOIN doomed ON r.parent = doomed.id \
         AND r.parent_step IS NOT NULL)";
    let statuses = retention.statuses();
    let status = |index: usize| statuses.get(index).copied().map(RunStatus::as_str);
    let values = params![
        status(0),
        status(1),
        to_millis(retention.before),
        to_millis(SystemTime::now()),
    ];
    let tx = write(conn)?;
    for table in [
        "workflow_branches",
        "workflow_checkpoints",
        "workflow_events",
        "workflow_signals",
        "workflow_answers",
        "workflow_calls",
    ] {
        let rows = format!("{DOOMED} DELETE FROM {table} WHERE run IN (SELECT id FROM doomed)");
        tx.prepare_cached(&rows)
            .and_then(|mut stmt| stmt.execute(values))
            .map_err(store)?;
    }
    let runs = format!("{DOOMED} DELETE FROM workflow_runs WHERE id IN (SELECT id FROM doomed)");
    let gone = tx
        .prepare_cached(&runs)
        .and_then(|mut stmt| stmt.execute(values))
        .map_err(store)?;
    tx.commit()?;
    Ok(gone as u64)
}

/// Checkpoint number `at` as SQLite keeps it.
fn seq(at: u64) -> i64 {
    i64::try_from(at).unwrap_or(i64::MAX)
}
