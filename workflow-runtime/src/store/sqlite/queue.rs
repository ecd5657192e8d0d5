//! What workers ask of the file: the next run to pick up, and cancelling a run by id.

use rusqlite::{params, Connection};

use super::id::Id;
use super::read::{missing, select_checkpoint, select_run};
use super::rows::{store, Reader};
use super::sql::{expiry, now};
use super::tx::write;
use crate::error::Error;
use crate::store::queue::{limited, with_room, CANCELLED};
use crate::store::time::lease_millis;
use crate::store::{Cancel, Checkpoint, Lease, RunId, RunInfo, RunStatus, WorkflowType};

/// Leases the oldest run a worker of `types` may pick up to `lease`, in one write
/// transaction: it holds the file's write lock, so two workers never take the same run, nor
/// both the last free place of a limited workflow. Runs asked to stop whose lease has expired
/// are recorded as cancelled first.
pub(super) fn claim_next(
    conn: &mut Connection,
    types: &[WorkflowType],
    lease: &Lease,
) -> Result<Option<(RunInfo, Checkpoint)>, Error> {
    let tx = write(conn)?;
    let now = now();
    let held = held(&tx, now, &limited(types))?;
    let types = with_room(types, &held);
    let wanted: Vec<(&str, i64)> = types
        .iter()
        .map(|kind| (kind.name.as_str(), kind.fingerprint as i64))
        .collect();
    let wanted = serde_json::to_string(&wanted).map_err(|error| store_error(error.into()))?;
    // A run asked to stop whose worker died before it saw the request, and its children in
    // flight.
    let swept: Vec<String> = tx
        .prepare_cached(
            "UPDATE workflow_runs SET status = 'cancelled', error = ?2, updated_at = ?1, \
             lease_id = NULL, owner = NULL, lease_expires = NULL WHERE status = 'running' \
             AND cancel_requested = 1 AND (lease_expires IS NULL OR lease_expires <= ?1) \
             RETURNING id",
        )
        .and_then(|mut stmt| {
            let rows = stmt.query_map(params![now, CANCELLED], |row| row.get(0))?;
            rows.collect()
        })
        .map_err(store)?;
    for id in swept {
        let run = parse_id(&id)?;
        super::children::end(&tx, run, now)?;
    }
    let found = next_runnable(&tx, now, &wanted)?;
    let Some(id) = found else {
        tx.commit()?;
        return Ok(None);
    };
    let run = parse_id(&id)?;
    tx.prepare_cached(
        "UPDATE workflow_runs SET lease_id = ?2, owner = ?3, lease_expires = ?4 WHERE id = ?1",
    )
    .and_then(|mut stmt| {
        let expires = expiry(now, lease_millis(lease));
        stmt.execute(params![
            Id::run(run),
            Id::of(&lease.id),
            lease.owner,
            expires
        ])
    })
    .map_err(store)?;
    // The lease is committed even if the run does not read back: the caller records why.
    let read = select_run(&tx, run).and_then(|info| {
        let latest = select_checkpoint(&tx, run, info.version)?;
        Ok((latest.ok_or_else(|| missing(&info))?, info))
    });
    tx.commit()?;
    let (latest, info) = read?;
    Ok(Some((info, latest)))
}

/// The id of the run to lease, of the workflows `wanted` (as JSON pairs) at `now`: the first
/// that [`SEARCHES`] finds.
fn next_runnable(tx: &Connection, now: i64, wanted: &str) -> Result<Option<String>, Error> {
    for sql in SEARCHES {
        let found: Option<String> = tx
            .prepare_cached(sql)
            .and_then(|mut stmt| {
                let mut rows = stmt.query(params![now, wanted])?;
                rows.next()?.map(|row| row.get(0)).transpose()
            })
            .map_err(store)?;
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

/// Whether run `r` may be leased at `?1` by a worker of the workflows `?2` (JSON pairs of
/// name and fingerprint): no cancel request, not a child run, no live lease, one of them.
macro_rules! free {
    () => {
        "NOT r.cancel_requested AND r.parent_step IS NULL \
         AND (r.lease_id IS NULL OR r.lease_expires IS NULL OR r.lease_expires <= ?1) \
         AND (r.workflow, r.fingerprint) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?2))"
    };
}

/// The searches of a claim, in order, each the id of a run that may be leased ([`free!`]):
/// a suspended run with an answer recorded for its pause (someone waits for it;
/// `workflow_answers` holds only answers not yet given, so this costs nothing when there are
/// none), a sleeping run whose time has come, a run waiting for a signal one of whose
/// messages is queued (from the queued messages), the oldest run ready to go on. A sleeping
/// or waiting run is never scanned while looking for a ready one.
///
/// Each search is made to start where its runs are few, so that a claim does not cost as much
/// as the queue is long: the sleeping and the ready runs by their own indexes, named
/// (`INDEXED BY`), the answered pauses and the queued messages from their tables (`CROSS
/// JOIN`, which SQLite takes as the order of the loops). With no statistics the planner
/// started each at the index of runs by workflow and status: it read every running run of the
/// wanted workflows, and sorted them, at every claim (3.3 ms a claim with 5,000 runs queued,
/// 14 ms with 20,000). By the index of ready runs, in order, a claim reads the runs that are
/// leased, then takes the first free one.
const SEARCHES: [&str; 4] = [
    concat!(
        "SELECT r.id FROM workflow_answers a CROSS JOIN workflow_runs r ON r.id = a.run \
         AND r.version = a.seq WHERE r.status = 'suspended' AND ",
        free!(),
        " ORDER BY r.id LIMIT 1"
    ),
    concat!(
        "SELECT r.id FROM workflow_runs r INDEXED BY workflow_runs_sleeping \
         WHERE r.status = 'running' AND r.wake_at IS NOT NULL AND r.wake_at <= ?1 AND ",
        free!(),
        " ORDER BY r.wake_at LIMIT 1"
    ),
    concat!(
        "SELECT r.id FROM workflow_signals s CROSS JOIN workflow_runs r \
         ON r.id = s.run AND r.awaiting = s.signal WHERE r.status = 'running' AND ",
        free!(),
        " ORDER BY s.id LIMIT 1"
    ),
    concat!(
        "SELECT r.id FROM workflow_runs r INDEXED BY workflow_runs_ready \
         WHERE r.status = 'running' AND r.wake_at IS NULL AND r.awaiting IS NULL AND ",
        free!(),
        " ORDER BY r.id LIMIT 1"
    ),
];

/// How many runs of each workflow of `names` hold a live lease at `now`.
fn held(tx: &Connection, now: i64, names: &[&str]) -> Result<Vec<(String, u64)>, Error> {
    let mut stmt = tx
        .prepare_cached(
            "SELECT count(*) FROM workflow_runs WHERE workflow = ?1 AND status = 'running' \
             AND lease_id IS NOT NULL AND lease_expires > ?2",
        )
        .map_err(store)?;
    names
        .iter()
        .map(|name| {
            let runs: i64 = stmt
                .query_row(params![name, now], |row| row.get(0))
                .map_err(store)?;
            Ok(((*name).to_owned(), runs.unsigned_abs()))
        })
        .collect()
}

/// Cancels run `run`: at once if nobody holds it, by a request its holder sees otherwise.
pub(super) fn cancel(conn: &mut Connection, run: RunId) -> Result<Cancel, Error> {
    let tx = write(conn)?;
    let now = now();
    let live = "lease_id IS NOT NULL AND lease_expires > ?2";
    let sql = format!(
        "UPDATE workflow_runs SET cancel_requested = 1, \
         status = CASE WHEN {live} THEN status ELSE 'cancelled' END, \
         error = CASE WHEN {live} THEN error ELSE ?3 END, \
         updated_at = CASE WHEN {live} THEN updated_at ELSE ?2 END, \
         owner = CASE WHEN {live} THEN owner END, \
         lease_expires = CASE WHEN {live} THEN lease_expires END, \
         lease_id = CASE WHEN {live} THEN lease_id END \
         WHERE id = ?1 AND status IN ('running', 'suspended') RETURNING status"
    );
    let changed: Option<String> = tx
        .prepare_cached(&sql)
        .and_then(|mut stmt| {
            let mut rows = stmt.query(params![Id::run(run), now, CANCELLED])?;
            rows.next()?.map(|row| row.get(0)).transpose()
        })
        .map_err(store)?;
    let outcome = match changed.as_deref() {
        Some("cancelled") => {
            super::children::end(&tx, run, now)?;
            Cancel::Cancelled
        }
        Some(_) => Cancel::Requested,
        None => Cancel::Ended(ended(&tx, run)?),
    };
    tx.commit()?;
    Ok(outcome)
}

/// The run id `id` reads back as.
///
/// # Errors
///
/// [`Error::CorruptCheckpoint`] if it is not a UUID.
fn parse_id(id: &str) -> Result<RunId, Error> {
    match uuid::Uuid::parse_str(id) {
        Ok(uuid) => Ok(RunId::from_uuid(uuid)),
        Err(_) => Err(Error::CorruptCheckpoint {
            run: None,
            seq: None,
            reason: format!("its id `{id}` is not a UUID"),
            source: None,
        }),
    }
}

/// The status of run `run`, which a cancel found ended.
fn ended(tx: &Connection, run: RunId) -> Result<RunStatus, Error> {
    let mut stmt = tx
        .prepare_cached("SELECT status FROM workflow_runs WHERE id = ?1")
        .map_err(store)?;
    let mut rows = stmt.query(params![Id::run(run)]).map_err(store)?;
    let Some(row) = rows.next().map_err(store)? else {
        return Err(Error::RunNotFound { run });
    };
    Reader::of(row, run).status(0)
}

fn store_error(source: crate::error::BoxError) -> Error {
    Error::Store {
        store: "sqlite",
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plan SQLite makes for each search of a claim, on a new file.
    fn plans() -> Vec<String> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("runs.db");
        let options = super::super::SqliteOptions::new();
        let conn = super::super::connect(&path, options).expect("opens");
        SEARCHES
            .iter()
            .map(|sql| {
                let mut stmt = conn
                    .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                    .expect("plans");
                let steps = stmt
                    .query_map(params![0, "[]"], |row| row.get::<_, String>(3))
                    .expect("reads");
                steps
                    .collect::<Result<Vec<_>, _>>()
                    .expect("reads")
                    .join("; ")
            })
            .collect()
    }

    /// No search reads the queue's running runs by workflow (`workflow_runs_by_status`): each
    /// starts from its own index or table, and the sleeping and ready runs are read in order.
    #[test]
    fn a_claim_s_searches_start_where_their_runs_are() {
        let plans = plans();
        let starts = [
            "SCAN a",
            "SEARCH r USING INDEX workflow_runs_sleeping",
            "SCAN s",
            "SCAN r USING INDEX workflow_runs_ready",
        ];
        for (plan, start) in plans.iter().zip(starts) {
            assert!(plan.starts_with(start), "{plan}");
            assert!(!plan.contains("workflow_runs_by_status"), "{plan}");
        }
        for plan in [&plans[1], &plans[3]] {
            assert!(!plan.contains("TEMP B-TREE"), "{plan}");
        }
    }
}
