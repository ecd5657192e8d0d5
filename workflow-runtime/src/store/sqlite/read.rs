//! The store's reads as SQL on one connection. Every value is a bound parameter.

use rusqlite::{params, Connection};

use super::id::Id;
use super::rows::{
    checkpoint, run_info, spent, store, CHECKPOINT_COLUMNS, LIST_COLUMNS, RUNS, RUN_COLUMNS,
};
use crate::error::Error;
use crate::store::{
    BranchRecord, CallRecord, Checkpoint, RunFilter, RunId, RunInfo, RunList, RunStatus,
};

/// The error of a run whose latest checkpoint is missing.
pub(super) fn missing(info: &RunInfo) -> Error {
    Error::CorruptCheckpoint {
        run: Some(info.id),
        seq: Some(info.version),
        reason: "the run's latest checkpoint is missing".into(),
        source: None,
    }
}

pub(super) fn select_run(conn: &Connection, run: RunId) -> Result<RunInfo, Error> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM {RUNS} WHERE r.id = ?1");
    let mut stmt = conn.prepare_cached(&sql).map_err(store)?;
    let mut rows = stmt.query(params![Id::run(run)]).map_err(store)?;
    match rows.next().map_err(store)? {
        Some(row) => run_info(row),
        None => Err(Error::RunNotFound { run }),
    }
}

pub(super) fn select_checkpoint(
    conn: &Connection,
    run: RunId,
    seq: u64,
) -> Result<Option<Checkpoint>, Error> {
    let sql = format!(
        "SELECT {CHECKPOINT_COLUMNS} FROM workflow_checkpoints WHERE run = ?1 AND seq = ?2"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(store)?;
    let mut rows = stmt
        .query(params![Id::run(run), seq as i64])
        .map_err(store)?;
    let Some(mut found) = rows.next().map_err(store)?.map(checkpoint).transpose()? else {
        return Ok(None);
    };
    let mut branches = branches(conn, run, seq, seq)?;
    found.branches = branches
        .pop()
        .map(|(_, records)| records)
        .unwrap_or_default();
    Ok(Some(found))
}

/// The branches saved at checkpoints `from` to `to` (both included) of run `run`: per
/// checkpoint, in order, each checkpoint's in the order they were saved.
fn branches(
    conn: &Connection,
    run: RunId,
    from: u64,
    to: u64,
) -> Result<Vec<(u64, Vec<BranchRecord>)>, Error> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT seq, idx, value, usage FROM workflow_branches \
             WHERE run = ?1 AND seq BETWEEN ?2 AND ?3 ORDER BY seq, idx",
        )
        .map_err(store)?;
    let (from, to) = (seq_param(from), seq_param(to));
    let mut rows = stmt.query(params![Id::run(run), from, to]).map_err(store)?;
    let mut found: Vec<(u64, Vec<BranchRecord>)> = Vec::new();
    while let Some(row) = rows.next().map_err(store)? {
        let (at, index, value, usage): (i64, i64, String, Option<String>) =
            (|| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))()
                .map_err(|error: rusqlite::Error| corrupt_branch(run, &error.to_string()))?;
        let Ok(at) = u64::try_from(at) else {
            return Err(corrupt_branch(run, &format!("its checkpoint is {at}")));
        };
        let record = BranchRecord::from_stored(index, value, usage.as_deref())
            .map_err(|why| corrupt_branch(run, &why))?;
        match found.last_mut() {
            Some((last, records)) if *last == at => records.push(record),
            _ => found.push((at, vec![record])),
        }
    }
    Ok(found)
}

/// A checkpoint number as SQLite stores it (none is past `i64::MAX`).
fn seq_param(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

fn corrupt_branch(run: RunId, reason: &str) -> Error {
    Error::CorruptCheckpoint {
        run: Some(run),
        seq: None,
        reason: format!("a saved branch does not read back: {reason}"),
        source: None,
    }
}

pub(super) fn run(conn: &mut Connection, run: RunId) -> Result<RunInfo, Error> {
    select_run(conn, run)
}

/// The runs that pass `filter`, each with what it spent, in one query; a row that does not
/// read back is its error in the list.
pub(super) fn list(conn: &mut Connection, filter: &RunFilter) -> Result<RunList, Error> {
    // Fixed fragments, chosen by which filters are set: the values are all parameters.
    let mut sql = format!("SELECT {LIST_COLUMNS} FROM {RUNS} WHERE 1");
    if filter.workflow.is_some() {
        sql.push_str(" AND r.workflow = ?1");
    }
    if filter.status.is_some() {
        sql.push_str(" AND r.status = ?2");
    }
    if filter.after.is_some() {
        sql.push_str(" AND r.id > ?3");
    }
    if filter.top_level {
        sql.push_str(" AND r.parent_step IS NULL");
    }
    // `?5` is always named, so that the statement takes the five values.
    sql.push_str(match filter.children_of {
        Some(_) => " AND r.parent = ?5 AND r.parent_step IS NOT NULL",
        None => " AND ?5 IS NULL",
    });
    sql.push_str(" ORDER BY r.id LIMIT ?4");
    let mut stmt = conn.prepare_cached(&sql).map_err(store)?;
    let limit = filter.limit.map_or(-1, i64::from);
    let mut rows = stmt
        .query(params![
            filter.workflow,
            filter.status.map(RunStatus::as_str),
            filter.after.map(Id::run),
            limit,
            filter.children_of.map(Id::run),
        ])
        .map_err(store)?;
    let mut runs = RunList::new();
    while let Some(row) = rows.next().map_err(store)? {
        runs.push(run_info(row).map(|info| RunInfo {
            spent: spent(row),
            ..info
        }));
    }
    Ok(runs)
}

/// The checkpoints of run `run` numbered `from` or more, at most `limit`, in order.
pub(super) fn history(
    conn: &mut Connection,
    run: RunId,
    from: u64,
    limit: u32,
) -> Result<Vec<Checkpoint>, Error> {
    let tx = conn.transaction().map_err(store)?;
    select_run(&tx, run)?;
    let sql = format!(
        "SELECT {CHECKPOINT_COLUMNS} FROM workflow_checkpoints WHERE run = ?1 AND seq >= ?2 \
         ORDER BY seq LIMIT ?3"
    );
    let mut stmt = tx.prepare_cached(&sql).map_err(store)?;
    let mut rows = stmt
        .query(params![Id::run(run), seq_param(from), i64::from(limit)])
        .map_err(store)?;
    let mut checkpoints = Vec::new();
    while let Some(row) = rows.next().map_err(store)? {
        checkpoints.push(checkpoint(row)?);
    }
    drop(rows);
    drop(stmt);
    // Only the branches of the page's checkpoints: a map saves one per element.
    let (Some(first), Some(last)) = (checkpoints.first(), checkpoints.last()) else {
        return Ok(checkpoints);
    };
    for (seq, records) in branches(&tx, run, first.seq, last.seq)? {
        if let Some(at) = checkpoints
            .iter_mut()
            .find(|checkpoint| checkpoint.seq == seq)
        {
            at.branches = records;
        }
    }
    Ok(checkpoints)
}

pub(super) fn get(
    conn: &mut Connection,
    run: RunId,
    seq: Option<u64>,
) -> Result<Checkpoint, Error> {
    let tx = conn.transaction().map_err(store)?;
    let info = select_run(&tx, run)?;
    let wanted = seq.unwrap_or(info.version);
    match select_checkpoint(&tx, run, wanted)? {
        Some(checkpoint) => Ok(checkpoint),
        None if seq.is_none() => Err(missing(&info)),
        None => Err(Error::CheckpointNotFound { run, seq: wanted }),
    }
}

/// The calls recorded at checkpoint `seq` of run `run`.
pub(super) fn calls(conn: &Connection, run: RunId, seq: u64) -> Result<Vec<CallRecord>, Error> {
    let mut stmt = conn
        .prepare_cached("SELECT key, value FROM workflow_calls WHERE run = ?1 AND seq = ?2")
        .map_err(store)?;
    let rows = stmt
        .query_map(params![Id::run(run), seq_param(seq)], |row| {
            Ok(CallRecord {
                key: row.get(0)?,
                value: row.get(1)?,
            })
        })
        .map_err(store)?;
    rows.collect::<Result<_, _>>().map_err(store)
}
