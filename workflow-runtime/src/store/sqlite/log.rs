//! A run's event log in `workflow_events`: appended inside a write transaction, one row per
//! write (`store::batch`), read a page at a time.
//!
//! A save learns the number its first event takes from the `log_next` of the checkpoint it
//! builds on, which its guard reads anyway, and records the new end on its own checkpoint: no
//! lookup of the log's last row (a descending search that cost a few microseconds a save).
//! An append outside a save records the end on the run's latest checkpoint. Where `log_next`
//! is `NULL` (rows written before version 11), the end is looked up once.
//!
//! The run's id is bound as `(SELECT ?1)`: this SQLite is built with `STAT4`, whose planner
//! marks a statement that looks up the first column of a two-column key by a bare parameter
//! as depending on that parameter's value, so that it is prepared again each time it is run
//! with another run's id (30,000 instructions, a third of what the log cost a checkpoint).
//! A value from a subquery is not one the planner looks at; the plan is the same search.

use rusqlite::{params, Connection, OptionalExtension};

use super::id::Id;
use super::read::select_run;
use super::rows::{store, Reader};
use crate::error::Error;
use crate::store::batch::{pack, unpack};
use crate::store::{LoggedEvent, NewEvent, RunId};

/// Appends `events` to run `run`'s log as one row, in `tx`, a write transaction (which holds
/// the file's write lock, so the numbers are the writer's own). `next` is the number the
/// first takes, if the caller knows it (its latest checkpoint's `log_next`); otherwise it is
/// looked up. Returns the number the run's next event takes, if known.
pub(super) fn append(
    tx: &Connection,
    run: RunId,
    next: Option<u64>,
    events: &[NewEvent],
) -> Result<Option<u64>, Error> {
    let Some((at, text)) = pack(events) else {
        return Ok(next);
    };
    let id = Id::run(run);
    let first = match next {
        Some(next) => next,
        None => end(tx, &id)?,
    };
    let count = events.len() as u64;
    tx.prepare_cached(
        "INSERT INTO workflow_events (run, seq, at, event, count) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut stmt| stmt.execute(params![id, first as i64, at, text, count as i64]))
    .map_err(store)?;
    Ok(Some(first + count))
}

/// The number the next event of the run with id `id` takes: one past its log's last.
fn end(tx: &Connection, id: &Id) -> Result<u64, Error> {
    let last: Option<i64> = tx
        .prepare_cached(
            "SELECT seq + count FROM workflow_events WHERE run = (SELECT ?1) \
             ORDER BY seq DESC LIMIT 1",
        )
        .and_then(|mut stmt| stmt.query_row(params![id], |row| row.get(0)).optional())
        .map_err(store)?;
    Ok(last.and_then(|end| u64::try_from(end).ok()).unwrap_or(0))
}

/// Appends `events` to the log of run `run`, which must exist, in a transaction of its own,
/// and records the log's new end on the run's latest checkpoint, where the next save reads it.
pub(super) fn append_alone(
    conn: &mut Connection,
    run: RunId,
    events: &[NewEvent],
) -> Result<(), Error> {
    let tx = super::tx::write(conn)?;
    exists(&tx, run)?;
    let id = Id::run(run);
    // The latest checkpoint, and where it says the log ends (-1: not known).
    let latest: Option<(i64, i64)> = tx
        .prepare_cached(
            "SELECT seq, coalesce(log_next, -1) FROM workflow_checkpoints \
             WHERE run = (SELECT ?1) ORDER BY seq DESC LIMIT 1",
        )
        .and_then(|mut stmt| {
            stmt.query_row(params![id], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()
        })
        .map_err(store)?;
    let known = latest.and_then(|(_, next)| u64::try_from(next).ok());
    let next = append(&tx, run, known, events)?;
    if let (Some((seq, _)), Some(next)) = (latest, next) {
        tx.prepare_cached(
            "UPDATE workflow_checkpoints SET log_next = ?3 WHERE run = (SELECT ?1) AND seq = ?2",
        )
        .and_then(|mut stmt| stmt.execute(params![id, seq, next as i64]))
        .map_err(store)?;
    }
    tx.commit()
}

/// Fails with [`Error::RunNotFound`] unless run `run` has a row.
fn exists(conn: &Connection, run: RunId) -> Result<(), Error> {
    let found = conn
        .prepare_cached("SELECT 1 FROM workflow_runs WHERE id = ?1")
        .and_then(|mut stmt| stmt.exists(params![Id::run(run)]))
        .map_err(store)?;
    if found {
        Ok(())
    } else {
        Err(Error::RunNotFound { run })
    }
}

/// The entries of run `run`'s log from `from`, at most `limit`.
pub(super) fn events(
    conn: &Connection,
    run: RunId,
    from: u64,
    limit: u32,
) -> Result<Vec<LoggedEvent>, Error> {
    let start = i64::try_from(from).unwrap_or(i64::MAX);
    // From the row that holds entry `from` (the last that starts at or before it): each row
    // holds at least one entry, so `limit` rows hold the page.
    let sql = "SELECT seq, count, at, event FROM workflow_events WHERE run = (SELECT ?1) \
         AND seq >= coalesce((SELECT seq FROM workflow_events WHERE run = (SELECT ?1) \
         AND seq <= ?2 ORDER BY seq DESC LIMIT 1), 0) ORDER BY seq LIMIT ?3";
    let values = params![Id::run(run), start, i64::from(limit)];
    let mut page = read_page(conn, run, sql, values, from)?;
    page.truncate(limit as usize);
    Ok(page)
}

/// The last `limit` entries of run `run`'s log, in order.
pub(super) fn latest_events(
    conn: &Connection,
    run: RunId,
    limit: u32,
) -> Result<Vec<LoggedEvent>, Error> {
    // The index read backwards from the log's end: `limit` rows hold the page.
    let sql = "SELECT seq, count, at, event FROM workflow_events WHERE run = (SELECT ?1) \
         ORDER BY seq DESC LIMIT ?2";
    let values = params![Id::run(run), i64::from(limit)];
    let mut page = read_page(conn, run, sql, values, 0)?;
    page.sort_unstable_by_key(|event| event.seq);
    let extra = page.len().saturating_sub(limit as usize);
    page.drain(..extra);
    Ok(page)
}

/// The entries numbered `from` or more in the rows `sql` selects (`seq, count, at, event`)
/// from run `run`'s log; an empty page of a run that does not exist is
/// [`Error::RunNotFound`].
fn read_page(
    conn: &Connection,
    run: RunId,
    sql: &str,
    params: &[&dyn rusqlite::ToSql],
    from: u64,
) -> Result<Vec<LoggedEvent>, Error> {
    let mut stmt = conn.prepare_cached(sql).map_err(store)?;
    let mut rows = stmt.query(params).map_err(store)?;
    let mut page = Vec::new();
    while let Some(row) = rows.next().map_err(store)? {
        let read = Reader::of(row, run);
        let numbers = (read.count(0, "seq")?, read.count(1, "count")?);
        let (at, text) = (read.get(2, "at")?, read.get(3, "event")?);
        unpack(numbers, at, text, from, &mut page).map_err(|bad| Error::CorruptCheckpoint {
            run: Some(run),
            seq: None,
            reason: format!("its event log does not read back: {bad}"),
            source: None,
        })?;
    }
    if page.is_empty() {
        // No entry: say whether the run is there at all.
        select_run(conn, run)?;
    }
    Ok(page)
}
