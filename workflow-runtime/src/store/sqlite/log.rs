//! A run's event log in `workflow_events`: appended inside a write transaction, read a page
//! at a time.
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
use crate::store::time::{from_millis, to_millis};
use crate::store::{LoggedEvent, NewEvent, RunId};

/// Appends `events` to run `run`'s log, numbered on from its last entry, in `tx`, a write
/// transaction (which holds the file's write lock, so the numbers are the writer's own).
pub(super) fn append(tx: &Connection, run: RunId, events: &[NewEvent]) -> Result<(), Error> {
    if events.is_empty() {
        return Ok(());
    }
    let id = Id::run(run);
    let last: Option<i64> = tx
        .prepare_cached(
            "SELECT seq FROM workflow_events WHERE run = (SELECT ?1) ORDER BY seq DESC LIMIT 1",
        )
        .and_then(|mut stmt| stmt.query_row(params![id], |row| row.get(0)).optional())
        .map_err(store)?;
    let mut stmt = tx
        .prepare_cached("INSERT INTO workflow_events (run, seq, at, event) VALUES (?1, ?2, ?3, ?4)")
        .map_err(store)?;
    for (seq, event) in (last.map_or(0, |last| last + 1)..).zip(events) {
        stmt.execute(params![id, seq, to_millis(event.at), event.event])
            .map_err(store)?;
    }
    Ok(())
}

/// Appends `events` to the log of run `run`, which must exist, in a transaction of its own.
pub(super) fn append_alone(
    conn: &mut Connection,
    run: RunId,
    events: &[NewEvent],
) -> Result<(), Error> {
    let tx = super::tx::write(conn)?;
    exists(&tx, run)?;
    append(&tx, run, events)?;
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
    let from = i64::try_from(from).unwrap_or(i64::MAX);
    let sql = "SELECT seq, at, event FROM workflow_events WHERE run = (SELECT ?1) AND seq >= ?2 \
         ORDER BY seq LIMIT ?3";
    read_page(
        conn,
        run,
        sql,
        params![Id::run(run), from, i64::from(limit)],
    )
}

/// The last `limit` entries of run `run`'s log, in order.
pub(super) fn latest_events(
    conn: &Connection,
    run: RunId,
    limit: u32,
) -> Result<Vec<LoggedEvent>, Error> {
    // The index read backwards from the log's end.
    let sql = "SELECT seq, at, event FROM workflow_events WHERE run = (SELECT ?1) \
         ORDER BY seq DESC LIMIT ?2";
    let mut page = read_page(conn, run, sql, params![Id::run(run), i64::from(limit)])?;
    page.reverse();
    Ok(page)
}

/// The entries `sql` selects (`seq, at, event`) from run `run`'s log; an empty page of a run
/// that does not exist is [`Error::RunNotFound`].
fn read_page(
    conn: &Connection,
    run: RunId,
    sql: &str,
    params: &[&dyn rusqlite::ToSql],
) -> Result<Vec<LoggedEvent>, Error> {
    let mut stmt = conn.prepare_cached(sql).map_err(store)?;
    let mut rows = stmt.query(params).map_err(store)?;
    let mut page = Vec::new();
    while let Some(row) = rows.next().map_err(store)? {
        let read = Reader::of(row, run);
        let event = NewEvent::new(from_millis(read.get(1, "at")?), read.get(2, "event")?);
        page.push(LoggedEvent::new(read.count(0, "seq")?, event));
    }
    if page.is_empty() {
        // No entry: say whether the run is there at all.
        select_run(conn, run)?;
    }
    Ok(page)
}
