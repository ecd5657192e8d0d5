//! Reading PostgreSQL rows back as runs and checkpoints: every column is checked, since rows
//! are untrusted input.

use tokio_postgres::types::FromSql;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::store::time::from_millis;
use crate::store::{Awaits, BranchRecord, Checkpoint, RunId, RunInfo, RunStatus};
use crate::usage::{SavedUsage, UsageTotals};
use crate::Error;

/// The columns [`run_info`] reads, in order.
pub(super) const RUN_COLUMNS: &str = "id, workflow, fingerprint, status, step, version, owner, \
     lease_expires, parent, parent_seq, error, created_at, updated_at, wake_at, awaiting, \
     parent_step";

/// What a listing reads after [`RUN_COLUMNS`] of a page of runs `page` (a subquery), for
/// [`spent`]: the usage of each run's latest checkpoint and those of the branches saved at
/// it, by primary key.
pub(super) const SPENT_COLUMNS: &str = "c.usage, (SELECT array_agg(b.usage) \
     FROM workflow_branches b WHERE b.run = page.id AND b.seq = page.version)";

/// The columns [`checkpoint`] reads, in order.
pub(super) const CHECKPOINT_COLUMNS: &str =
    "run, seq, workflow, fingerprint, format, step, status, state, loops, created_at, usage";

/// The error of a failed PostgreSQL call.
pub(super) fn store(error: tokio_postgres::Error) -> Error {
    Error::Store {
        store: "postgres",
        source: error.into(),
    }
}

/// Reads the columns of one row, naming the run and checkpoint in its errors: a value that
/// does not read back is [`Error::CorruptCheckpoint`], on every path.
pub(super) struct Reader<'a> {
    row: &'a Row,
    run: Option<RunId>,
    seq: Option<u64>,
    /// Where the columns read start in the row: column `index` is `offset + index`.
    offset: usize,
}

impl<'a> Reader<'a> {
    /// A reader of `row`, a row of run `run`.
    pub(super) fn of(row: &'a Row, run: RunId) -> Self {
        Reader {
            row,
            run: Some(run),
            seq: None,
            offset: 0,
        }
    }

    pub(super) fn get<T: FromSql<'a>>(&self, index: usize, column: &str) -> Result<T, Error> {
        self.row
            .try_get(self.offset + index)
            .map_err(|error| Error::CorruptCheckpoint {
                run: self.run,
                seq: self.seq,
                reason: format!("its column `{column}` does not read back"),
                source: Some(error.into()),
            })
    }

    fn corrupt(&self, reason: String) -> Error {
        Error::CorruptCheckpoint {
            run: self.run,
            seq: self.seq,
            reason,
            source: None,
        }
    }

    pub(super) fn count(&self, index: usize, column: &str) -> Result<u64, Error> {
        let number: i64 = self.get(index, column)?;
        u64::try_from(number)
            .map_err(|_| self.corrupt(format!("its column `{column}` is negative: {number}")))
    }

    /// The usage in column `index`: none (`NULL`) is none.
    fn usage(&self, index: usize) -> Result<SavedUsage, Error> {
        let text: Option<&str> = self.get(index, "usage")?;
        SavedUsage::from_stored(text).map_err(|error| Error::CorruptCheckpoint {
            run: self.run,
            seq: self.seq,
            reason: "its usage is not the usage of a run".into(),
            source: Some(error.into()),
        })
    }

    pub(super) fn status(&self, index: usize) -> Result<RunStatus, Error> {
        let text: String = self.get(index, "status")?;
        RunStatus::parse(&text)
            .ok_or_else(|| self.corrupt(format!("its status `{text}` is not a status")))
    }
}

/// A row of `workflow_runs`, read with [`RUN_COLUMNS`].
pub(super) fn run_info(row: &Row) -> Result<RunInfo, Error> {
    let mut read = Reader {
        row,
        run: None,
        seq: None,
        offset: 0,
    };
    let id = RunId::from_uuid(read.get::<Uuid>(0, "id")?);
    read.run = Some(id);
    let parent = match read.get::<Option<Uuid>>(8, "parent")? {
        Some(parent) => Some((RunId::from_uuid(parent), read.count(9, "parent_seq")?)),
        None => None,
    };
    Ok(RunInfo {
        id,
        workflow: read.get(1, "workflow")?,
        fingerprint: read.get::<i64>(2, "fingerprint")? as u64,
        status: read.status(3)?,
        step: read.get(4, "step")?,
        version: read.count(5, "version")?,
        owner: read.get(6, "owner")?,
        lease_expires: read
            .get::<Option<i64>>(7, "lease_expires")?
            .map(from_millis),
        parent,
        parent_step: read.get(15, "parent_step")?,
        error: read.get(10, "error")?,
        created_at: from_millis(read.get(11, "created_at")?),
        updated_at: from_millis(read.get(12, "updated_at")?),
        awaits: Awaits::from_columns(read.get(13, "wake_at")?, read.get(14, "awaiting")?),
        spent: None,
    })
}

/// What the run of a row read with [`RUN_COLUMNS`] then [`SPENT_COLUMNS`] had spent; `None`
/// if a usage does not read back.
pub(super) fn spent(row: &Row) -> Option<UsageTotals> {
    let latest: Option<String> = row.try_get(16).ok()?;
    let branches: Option<Vec<Option<String>>> = row.try_get(17).ok()?;
    let branches = branches.unwrap_or_default();
    crate::store::listing::spent(latest.as_deref(), branches.iter().map(Option::as_deref))
}

/// A row of `workflow_checkpoints`, read with [`CHECKPOINT_COLUMNS`].
pub(super) fn checkpoint(row: &Row) -> Result<Checkpoint, Error> {
    checkpoint_at(row, 0)
}

/// The checkpoint in a row read with [`CHECKPOINT_COLUMNS`] from column `offset` on.
fn checkpoint_at(row: &Row, offset: usize) -> Result<Checkpoint, Error> {
    let mut read = Reader {
        row,
        run: None,
        seq: None,
        offset,
    };
    let run = RunId::from_uuid(read.get::<Uuid>(0, "run")?);
    read.run = Some(run);
    let seq = read.count(1, "seq")?;
    read.seq = Some(seq);
    let format = read.get::<i32>(4, "format")?;
    Ok(Checkpoint {
        run,
        seq,
        workflow: read.get::<String>(2, "workflow")?.into(),
        fingerprint: read.get::<i64>(3, "fingerprint")? as u64,
        // A negative format is no format this version reads: it says so.
        format: u32::try_from(format).unwrap_or(u32::MAX),
        step: read.get::<String>(5, "step")?.into(),
        status: read.status(6)?,
        state: read.get(7, "state")?,
        loops: read.get::<String>(8, "loops")?.into(),
        created_at: from_millis(read.get(9, "created_at")?),
        usage: read.usage(10)?,
        branches: Vec::new(),
        child: None,
    })
}

/// What a claim returns after [`RUN_COLUMNS`] of the run it leased (`claimed`, a common table
/// expression): its latest checkpoint's [`CHECKPOINT_COLUMNS`] and the branches saved at it
/// (their indexes, values and usages, as arrays in index order), each by primary key, so
/// that a claim is one round trip. `NULL`s if the statement's snapshot does not hold the
/// checkpoint ([`claimed_checkpoint`]).
pub(super) const CLAIMED_COLUMNS: &str = "c.run, c.seq, c.workflow, c.fingerprint, c.format, \
     c.step, c.status, c.state, c.loops, c.created_at, c.usage, b.idx, b.value, b.usage \
     FROM claimed LEFT JOIN workflow_checkpoints c \
     ON c.run = claimed.id AND c.seq = claimed.version \
     LEFT JOIN LATERAL (SELECT array_agg(idx ORDER BY idx) AS idx, \
     array_agg(value ORDER BY idx) AS value, array_agg(usage ORDER BY idx) AS usage \
     FROM workflow_branches WHERE run = claimed.id AND seq = claimed.version) b ON true";

/// The latest checkpoint of the run `info` claimed by a statement ending in
/// [`CLAIMED_COLUMNS`], with its branches; `None` if the row does not hold it (a write
/// committed after the statement started, which the caller reads again).
pub(super) fn claimed_checkpoint(row: &Row, info: &RunInfo) -> Result<Option<Checkpoint>, Error> {
    let base = RUN_COLUMNS.split(',').count();
    let found: Option<Uuid> = Reader::of(row, info.id).get(base, "run")?;
    if found.is_none() {
        return Ok(None);
    }
    let mut latest = checkpoint_at(row, base)?;
    if latest.seq != info.version {
        return Ok(None);
    }
    let after = base + CHECKPOINT_COLUMNS.split(',').count();
    let read = Reader {
        row,
        run: Some(info.id),
        seq: Some(latest.seq),
        offset: after,
    };
    let indexes: Option<Vec<i32>> = read.get(0, "idx")?;
    let values: Option<Vec<String>> = read.get(1, "value")?;
    let usages: Option<Vec<Option<String>>> = read.get(2, "usage")?;
    let (indexes, values, usages) = (
        indexes.unwrap_or_default(),
        values.unwrap_or_default(),
        usages.unwrap_or_default(),
    );
    if values.len() != indexes.len() || usages.len() != indexes.len() {
        return Err(read.corrupt("its branches do not read back".into()));
    }
    for ((index, value), usage) in indexes.into_iter().zip(values).zip(usages) {
        let record = BranchRecord::from_stored(index.into(), value, usage.as_deref());
        let record = record
            .map_err(|why| read.corrupt(format!("a saved branch does not read back: {why}")))?;
        latest.branches.push(record);
    }
    Ok(Some(latest))
}
