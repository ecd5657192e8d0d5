//! The store's reads as SQL. Every value is a bound parameter.

use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::Client;

use super::rows::{checkpoint, run_info, spent, store, Reader, RUN_COLUMNS, SPENT_COLUMNS};
use super::statements::Statements;
use crate::error::Error;
use crate::store::batch::unpack;
use crate::store::{
    BranchRecord, Checkpoint, LoggedEvent, RunFilter, RunId, RunInfo, RunList, RunStatus,
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

pub(super) async fn run(client: &Client, sql: &Statements, run: RunId) -> Result<RunInfo, Error> {
    match client
        .query_opt(&sql.run, &[run.as_uuid()])
        .await
        .map_err(store)?
    {
        Some(row) => run_info(&row),
        None => Err(Error::RunNotFound { run }),
    }
}

/// The runs that pass `filter`, each with what it spent, in one query; a row that does not
/// read back is its error in the list.
pub(super) async fn list(client: &Client, filter: &RunFilter) -> Result<RunList, Error> {
    // Fixed fragments, chosen by which filters are set: the values are all parameters.
    let mut sql = format!("SELECT {RUN_COLUMNS} FROM workflow_runs WHERE true");
    let status = filter.status.map(RunStatus::as_str);
    let after = filter.after.map(|after| *after.as_uuid());
    let limit = filter.limit.map(i64::from);
    // Typed parameters: the query goes in one round trip, with no statement to prepare.
    let mut params: Vec<(&(dyn ToSql + Sync), Type)> = Vec::new();
    let mut add = |sql: &mut String, condition: &str, value, kind| {
        params.push((value, kind));
        sql.push_str(&format!("{condition} ${}", params.len()));
    };
    if filter.workflow.is_some() {
        add(&mut sql, " AND workflow =", &filter.workflow, Type::TEXT);
    }
    if status.is_some() {
        add(&mut sql, " AND status =", &status, Type::TEXT);
    }
    if after.is_some() {
        add(&mut sql, " AND id >", &after, Type::UUID);
    }
    if filter.top_level {
        sql.push_str(" AND parent_step IS NULL");
    }
    let children_of = filter.children_of.map(|parent| *parent.as_uuid());
    if children_of.is_some() {
        sql.push_str(" AND parent_step IS NOT NULL");
        add(&mut sql, " AND parent =", &children_of, Type::UUID);
    }
    sql.push_str(" ORDER BY id");
    if limit.is_some() {
        add(&mut sql, " LIMIT", &limit, Type::INT8);
    }
    // The page first, then each of its runs' latest checkpoint by primary key.
    let sql = format!(
        "SELECT page.*, {SPENT_COLUMNS} FROM ({sql}) page LEFT JOIN workflow_checkpoints c \
         ON c.run = page.id AND c.seq = page.version ORDER BY page.id"
    );
    let rows = client.query_typed(&sql, &params).await.map_err(store)?;
    Ok(rows
        .iter()
        .map(|row| {
            run_info(row).map(|info| RunInfo {
                spent: spent(row),
                ..info
            })
        })
        .collect())
}

/// The checkpoints of run `run` numbered `from` or more, at most `limit`, in order.
pub(super) async fn history(
    client: &Client,
    sql: &Statements,
    run: RunId,
    from: u64,
    limit: u32,
) -> Result<Vec<Checkpoint>, Error> {
    // The run is read first, as the other stores do: a corrupt run row is an error here too.
    self::run(client, sql, run).await?;
    let from = seq_param(from);
    let rows = client
        .query(&sql.history, &[run.as_uuid(), &from, &i64::from(limit)])
        .await
        .map_err(store)?;
    let mut checkpoints: Vec<Checkpoint> = rows.iter().map(checkpoint).collect::<Result<_, _>>()?;
    // Only the branches of the page's checkpoints: a map saves one per element.
    let (Some(first), Some(last)) = (checkpoints.first(), checkpoints.last()) else {
        return Ok(checkpoints);
    };
    for (seq, records) in branches(client, sql, run, first.seq, last.seq).await? {
        if let Some(at) = checkpoints
            .iter_mut()
            .find(|checkpoint| checkpoint.seq == seq)
        {
            at.branches = records;
        }
    }
    Ok(checkpoints)
}

/// The branches saved at checkpoints `from` to `to` (both included) of run `run`: per
/// checkpoint, in order.
pub(super) async fn branches(
    client: &Client,
    sql: &Statements,
    run: RunId,
    from: u64,
    to: u64,
) -> Result<Vec<(u64, Vec<BranchRecord>)>, Error> {
    let (from, to) = (seq_param(from), seq_param(to));
    let rows = client
        .query(&sql.branches, &[run.as_uuid(), &from, &to])
        .await
        .map_err(store)?;
    let mut found: Vec<(u64, Vec<BranchRecord>)> = Vec::new();
    for row in rows {
        let read = (|| {
            Ok::<_, tokio_postgres::Error>((
                row.try_get::<_, i64>(0)?,
                row.try_get::<_, i32>(1)?,
                row.try_get::<_, String>(2)?,
                row.try_get::<_, Option<&str>>(3)?,
            ))
        })();
        let (at, index, value, usage) =
            read.map_err(|error| corrupt_branch(run, &error.to_string()))?;
        let Ok(at) = u64::try_from(at) else {
            return Err(corrupt_branch(run, &format!("its checkpoint is {at}")));
        };
        let record = BranchRecord::from_stored(index.into(), value, usage)
            .map_err(|why| corrupt_branch(run, &why))?;
        match found.last_mut() {
            Some((last, records)) if *last == at => records.push(record),
            _ => found.push((at, vec![record])),
        }
    }
    Ok(found)
}

fn corrupt_branch(run: RunId, reason: &str) -> Error {
    Error::CorruptCheckpoint {
        run: Some(run),
        seq: None,
        reason: format!("a saved branch does not read back: {reason}"),
        source: None,
    }
}

/// Checkpoint `seq` of run `run`, or its latest. The run is read first, as the other stores
/// do: a corrupt run row is an error here too.
pub(super) async fn get(
    client: &Client,
    sql: &Statements,
    run: RunId,
    seq: Option<u64>,
) -> Result<Checkpoint, Error> {
    let info = self::run(client, sql, run).await?;
    let wanted = seq.unwrap_or(info.version);
    let found = client
        .query_opt(&sql.checkpoint, &[run.as_uuid(), &(wanted as i64)])
        .await
        .map_err(store)?;
    let mut found = match found {
        Some(row) => checkpoint(&row)?,
        None if seq.is_none() => return Err(missing(&info)),
        None => return Err(Error::CheckpointNotFound { run, seq: wanted }),
    };
    found.branches = branches(client, sql, run, wanted, wanted)
        .await?
        .pop()
        .map(|(_, records)| records)
        .unwrap_or_default();
    Ok(found)
}

/// A checkpoint number as the tables keep it (none is past `i64::MAX`).
fn seq_param(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

/// The entries of run `run`'s log from `from`, at most `limit`.
pub(super) async fn events(
    client: &Client,
    sql: &Statements,
    run: RunId,
    from: u64,
    limit: u32,
) -> Result<Vec<LoggedEvent>, Error> {
    let start = i64::try_from(from).unwrap_or(i64::MAX);
    let params: [&(dyn ToSql + Sync); 3] = [run.as_uuid(), &start, &i64::from(limit)];
    let rows = client.query(&sql.events, &params).await.map_err(store)?;
    let mut page = read_page(client, sql, run, &rows, from).await?;
    page.truncate(limit as usize);
    Ok(page)
}

/// The last `limit` entries of run `run`'s log, in order.
pub(super) async fn latest_events(
    client: &Client,
    sql: &Statements,
    run: RunId,
    limit: u32,
) -> Result<Vec<LoggedEvent>, Error> {
    let params: [&(dyn ToSql + Sync); 2] = [run.as_uuid(), &i64::from(limit)];
    let rows = client
        .query(&sql.latest_events, &params)
        .await
        .map_err(store)?;
    let mut page = read_page(client, sql, run, &rows, 0).await?;
    page.sort_unstable_by_key(|event| event.seq);
    let extra = page.len().saturating_sub(limit as usize);
    page.drain(..extra);
    Ok(page)
}

/// The log entries numbered `from` or more in `rows` (`seq, count, at, event`) of run `run`;
/// no rows for a run that does not exist is [`Error::RunNotFound`].
async fn read_page(
    client: &Client,
    sql: &Statements,
    run: RunId,
    rows: &[tokio_postgres::Row],
    from: u64,
) -> Result<Vec<LoggedEvent>, Error> {
    if rows.is_empty() {
        // No entry: say whether the run is there at all.
        self::run(client, sql, run).await?;
    }
    let mut page = Vec::with_capacity(rows.len());
    for row in rows {
        let read = Reader::of(row, run);
        let count: i32 = read.get(1, "count")?;
        let numbers = (read.count(0, "seq")?, u64::try_from(count).unwrap_or(0));
        let (at, text) = (read.get(2, "at")?, read.get(3, "event")?);
        unpack(numbers, at, text, from, &mut page).map_err(|bad| Error::CorruptCheckpoint {
            run: Some(run),
            seq: None,
            reason: format!("its event log does not read back: {bad}"),
            source: None,
        })?;
    }
    Ok(page)
}
