//! A run's event log: the batch each save logs in its checkpoint's row, and the rows of
//! `workflow_events`, which hold the events logged without a checkpoint (after a failed step,
//! at a sleep), the batches of pruned checkpoints, and the log as versions before 12 wrote it.
//! Each batch is one entry of the log (`store::batch`), keyed by its first event's number;
//! reads take both kinds in that order.
//!
//! A save's batch goes in its checkpoint's row so that the save's commit writes one page of
//! the file (the checkpoint's) rather than two (the checkpoint's and the log's): about a fifth
//! of a logged step's time in `Durability::Normal`. Pruning a run's checkpoints moves their
//! batches to `workflow_events` first, so that a run's log is never pruned; a read finds the
//! first checkpoint it needs by a binary search on their `log_next` ([`first_holding`]).
//!
//! A save learns the number its first event takes from the `log_next` of the checkpoint it
//! builds on, which its guard reads anyway, and records the new end on its own checkpoint: no
//! lookup of the log's last row (a descending search that cost a few microseconds a save).
//! An append outside a save records the end on the run's latest checkpoint. Where `log_next`
//! is `NULL` (rows written before version 11, the first checkpoint of a child run), the end is
//! looked up once, and that save's events go to `workflow_events`.
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

/// The events one save logs, as its checkpoint's row keeps them: the first's number, its time
/// in milliseconds, the batch's text, and how many it holds.
pub(super) struct Batch {
    pub(super) seq: u64,
    pub(super) at: i64,
    pub(super) text: String,
    pub(super) count: u64,
}

/// Logs `events`, those of a save of run `run` in `tx`, whose first takes number `next` if
/// known (the `log_next` of the checkpoint the save builds on). Returns where the log then
/// ends, if known, and the batch for the save's checkpoint row: `Some` when `next` is known;
/// otherwise the events are appended to `workflow_events`, after the end is looked up.
pub(super) fn for_save(
    tx: &Connection,
    run: RunId,
    next: Option<u64>,
    events: &[NewEvent],
) -> Result<(Option<u64>, Option<Batch>), Error> {
    let Some(first) = next else {
        return Ok((append(tx, run, None, events)?, None));
    };
    let Some((at, text)) = pack(events) else {
        return Ok((next, None));
    };
    let count = events.len() as u64;
    let batch = Batch {
        seq: first,
        at,
        text,
        count,
    };
    Ok((Some(first + count), Some(batch)))
}

/// Moves the batches of run `run`'s checkpoints numbered `last` or less to `workflow_events`,
/// in `tx`: before a prune deletes those checkpoints, which must not take the log with them.
pub(super) fn keep(tx: &Connection, run: RunId, last: i64) -> Result<(), Error> {
    tx.prepare_cached(
        "INSERT INTO workflow_events (run, seq, at, event, count) \
         SELECT run, events_seq, events_at, events, events_count \
         FROM workflow_checkpoints WHERE run = (SELECT ?1) AND seq <= ?2 AND events IS NOT NULL",
    )
    .and_then(|mut stmt| stmt.execute(params![Id::run(run), last]))
    .map(drop)
    .map_err(store)
}

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

/// The number the next event of the run with id `id` takes: one past its log's last. The
/// latest checkpoint knows it, unless it was written before version 11 (or is a child run's,
/// whose events are its parent's): then the last row of `workflow_events` or the last batch
/// a checkpoint holds, looked up.
fn end(conn: &Connection, id: &Id) -> Result<u64, Error> {
    let last: Option<i64> = conn
        .prepare_cached(
            "SELECT max(coalesce((SELECT log_next FROM workflow_checkpoints \
             WHERE run = (SELECT ?1) ORDER BY seq DESC LIMIT 1), \
             (SELECT events_seq + events_count FROM workflow_checkpoints \
             WHERE run = (SELECT ?1) AND events IS NOT NULL ORDER BY seq DESC LIMIT 1), 0), \
             coalesce((SELECT seq + count FROM workflow_events WHERE run = (SELECT ?1) \
             ORDER BY seq DESC LIMIT 1), 0))",
        )
        .and_then(|mut stmt| stmt.query_row(params![id], |row| row.get(0)))
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

/// A row of the log as read: its first entry's number, how many it holds, the first's time
/// (milliseconds) and its text (`store::batch`).
struct Row {
    seq: u64,
    count: u64,
    at: i64,
    text: String,
}

/// The entries of run `run`'s log from `from`, at most `limit`.
pub(super) fn events(
    conn: &Connection,
    run: RunId,
    from: u64,
    limit: u32,
) -> Result<Vec<LoggedEvent>, Error> {
    // One snapshot: a prune that moves batches from one table to the other commits before
    // it or after it.
    let tx = super::tx::read(conn)?;
    let page = page(&tx, run, from, limit)?;
    tx.commit()?;
    Ok(page)
}

/// The last `limit` entries of run `run`'s log, in order: the page from the log's end less
/// `limit`.
pub(super) fn latest_events(
    conn: &Connection,
    run: RunId,
    limit: u32,
) -> Result<Vec<LoggedEvent>, Error> {
    let tx = super::tx::read(conn)?;
    let end = end(&tx, &Id::run(run))?;
    let page = page(&tx, run, end.saturating_sub(u64::from(limit)), limit)?;
    tx.commit()?;
    Ok(page)
}

/// The entries of run `run`'s log from `from`, at most `limit`, in `conn`'s transaction: from
/// the rows of `workflow_events` and the checkpoints' batches that hold one, merged in order.
/// Each row holds at least one entry, so `limit` rows of each hold the page.
fn page(conn: &Connection, run: RunId, from: u64, limit: u32) -> Result<Vec<LoggedEvent>, Error> {
    let id = Id::run(run);
    let start = i64::try_from(from).unwrap_or(i64::MAX);
    let limit_rows = i64::from(limit);
    let mut rows = Vec::new();
    // From the row that holds entry `from` (the last that starts at or before it).
    read_rows(
        conn,
        run,
        "SELECT seq, count, at, event FROM workflow_events WHERE run = (SELECT ?1) \
         AND seq >= coalesce((SELECT seq FROM workflow_events WHERE run = (SELECT ?1) \
         AND seq <= ?2 ORDER BY seq DESC LIMIT 1), 0) AND seq + count > ?2 \
         ORDER BY seq LIMIT ?3",
        params![id, start, limit_rows],
        &mut rows,
    )?;
    if let Some(first) = first_holding(conn, &id, start)? {
        read_rows(
            conn,
            run,
            "SELECT events_seq, events_count, events_at, events FROM workflow_checkpoints \
             WHERE run = (SELECT ?1) AND seq >= ?2 AND events IS NOT NULL \
             AND events_seq + events_count > ?3 ORDER BY seq LIMIT ?4",
            params![id, first, start, limit_rows],
            &mut rows,
        )?;
    }
    rows.sort_unstable_by_key(|row| row.seq);
    rows.truncate(limit as usize);
    let mut page = unpack_rows(run, rows, from)?;
    page.truncate(limit as usize);
    if page.is_empty() {
        // No entry: say whether the run is there at all.
        select_run(conn, run)?;
    }
    Ok(page)
}

/// The number of the first checkpoint of the run with id `id` whose batch may hold an entry
/// numbered `from` or more, `None` if it has no checkpoint: a binary search on the
/// checkpoints' `log_next` (where the log ended when each was saved, which only grows from
/// one to the next), a few lookups by key however long the run, rather than a scan of its
/// checkpoints. A checkpoint that does not know the log's end (`NULL`) holds no batch; the
/// search then goes on before it, which may start the scan earlier but never too late.
fn first_holding(conn: &Connection, id: &Id, from: i64) -> Result<Option<i64>, Error> {
    let bounds: (Option<i64>, Option<i64>) = conn
        .prepare_cached(
            // Two searches of the key: `min` and `max` together read every row of the run.
            "SELECT (SELECT seq FROM workflow_checkpoints WHERE run = (SELECT ?1) \
             ORDER BY seq LIMIT 1), (SELECT seq FROM workflow_checkpoints \
             WHERE run = (SELECT ?1) ORDER BY seq DESC LIMIT 1)",
        )
        .and_then(|mut stmt| stmt.query_row(params![id], |row| Ok((row.get(0)?, row.get(1)?))))
        .map_err(store)?;
    let (Some(mut low), Some(mut high)) = bounds else {
        return Ok(None);
    };
    let mut probe = conn
        .prepare_cached(
            "SELECT seq, log_next FROM workflow_checkpoints WHERE run = (SELECT ?1) \
             AND seq >= ?2 ORDER BY seq LIMIT 1",
        )
        .map_err(store)?;
    // Every batch that holds an entry from `from` on is at `low` or after.
    while low < high {
        let middle = low + (high - low) / 2;
        let found: Option<(i64, Option<i64>)> = probe
            .query_row(params![id, middle], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()
            .map_err(store)?;
        match found {
            // When checkpoint `seq` was saved the log ended before `from`: neither it nor
            // any checkpoint before it holds an entry from `from` on.
            Some((seq, Some(next))) if next <= from => low = seq + 1,
            _ => high = middle,
        }
    }
    Ok(Some(low))
}

/// Reads the rows `sql` selects (`seq, count, at, event`) from run `run`'s log into `rows`.
fn read_rows(
    conn: &Connection,
    run: RunId,
    sql: &str,
    params: &[&dyn rusqlite::ToSql],
    rows: &mut Vec<Row>,
) -> Result<(), Error> {
    let mut stmt = conn.prepare_cached(sql).map_err(store)?;
    let mut selected = stmt.query(params).map_err(store)?;
    while let Some(row) = selected.next().map_err(store)? {
        let read = Reader::of(row, run);
        rows.push(Row {
            seq: read.count(0, "seq")?,
            count: read.count(1, "count")?,
            at: read.get(2, "at")?,
            text: read.get(3, "event")?,
        });
    }
    Ok(())
}

/// The entries numbered `from` or more that `rows`, of run `run`'s log, hold, in order.
fn unpack_rows(run: RunId, rows: Vec<Row>, from: u64) -> Result<Vec<LoggedEvent>, Error> {
    let mut page = Vec::new();
    for row in rows {
        let numbers = (row.seq, row.count);
        unpack(numbers, row.at, row.text, from, &mut page).map_err(|bad| {
            Error::CorruptCheckpoint {
                run: Some(run),
                seq: None,
                reason: format!("its event log does not read back: {bad}"),
                source: None,
            }
        })?;
    }
    Ok(page)
}
