//! Reading SQLite rows back as runs and checkpoints: every column is checked, since rows are
//! untrusted input.

use rusqlite::types::{FromSql, ValueRef};
use rusqlite::Row;

use super::id::Id;
use crate::store::time::from_millis;
use crate::store::{Awaits, Checkpoint, RunId, RunInfo, RunStatus};
use crate::usage::{SavedUsage, UsageTotals};
use crate::Error;

/// The columns [`run_info`] reads, in order, from [`RUNS`]: the run's row `r`, then the
/// number, step and time of its latest checkpoint `c`, then what the run waits for.
pub(super) const RUN_COLUMNS: &str = "r.id, r.workflow, r.fingerprint, r.status, r.step, \
     r.version, r.owner, r.lease_expires, r.parent, r.parent_seq, r.error, r.created_at, \
     r.updated_at, c.seq, c.step, c.created_at, r.wake_at, r.awaiting, r.parent_step";

/// [`RUN_COLUMNS`], then what the run had spent ([`spent`]): the usage of its latest
/// checkpoint and, as a JSON array, that of the branches saved at it (a lookup by primary
/// key, in the same query).
pub(super) const LIST_COLUMNS: &str = "r.id, r.workflow, r.fingerprint, r.status, r.step, \
     r.version, r.owner, r.lease_expires, r.parent, r.parent_seq, r.error, r.created_at, \
     r.updated_at, c.seq, c.step, c.created_at, r.wake_at, r.awaiting, r.parent_step, c.usage, \
     (SELECT json_group_array(b.usage) FROM workflow_branches b \
     WHERE b.run = r.id AND b.seq = c.seq)";

/// The runs, each with its latest checkpoint: a checkpoint of a running run that stays
/// running does not rewrite the run's row (see `save`), so the row's `version`, `step` and
/// `updated_at` are those of its last write, and the latest checkpoint may be newer.
pub(super) const RUNS: &str = "workflow_runs r LEFT JOIN workflow_checkpoints c \
     ON c.run = r.id \
     AND c.seq = (SELECT seq FROM workflow_checkpoints WHERE run = r.id ORDER BY seq DESC LIMIT 1)";

/// The columns [`checkpoint`] reads, in order.
pub(super) const CHECKPOINT_COLUMNS: &str =
    "run, seq, workflow, fingerprint, format, step, status, state, loops, created_at, usage";

/// The error of a failed SQLite call.
pub(super) fn store(error: rusqlite::Error) -> Error {
    Error::Store {
        store: "sqlite",
        source: error.into(),
    }
}

/// Reads the columns of one row, naming the run and checkpoint in its errors: a value that
/// does not read back is [`Error::CorruptCheckpoint`], on every path.
pub(super) struct Reader<'a, 'r> {
    row: &'a Row<'r>,
    run: Option<RunId>,
    seq: Option<u64>,
}

impl<'a, 'r> Reader<'a, 'r> {
    /// A reader of `row`, a row of run `run`.
    pub(super) fn of(row: &'a Row<'r>, run: RunId) -> Self {
        Reader {
            row,
            run: Some(run),
            seq: None,
        }
    }

    /// Whether column `index` holds `id`: `false` for `NULL` or another id.
    pub(super) fn holds(&self, index: usize, column: &str, id: &Id) -> Result<bool, Error> {
        match self.row.get_ref(index) {
            Ok(ValueRef::Null) => Ok(false),
            Ok(ValueRef::Text(text)) if std::str::from_utf8(text).is_ok() => Ok(text == id.bytes()),
            // Not text: the error of reading it as text.
            _ => self.get::<String>(index, column).map(|_| false),
        }
    }

    pub(super) fn get<T: FromSql>(&self, index: usize, column: &str) -> Result<T, Error> {
        self.row
            .get(index)
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

    fn id(&self, index: usize, column: &str) -> Result<RunId, Error> {
        let text: String = self.get(index, column)?;
        text.parse()
            .map_err(|_| self.corrupt(format!("its column `{column}` is not a run id: `{text}`")))
    }

    pub(super) fn count(&self, index: usize, column: &str) -> Result<u64, Error> {
        let number: i64 = self.get(index, column)?;
        u64::try_from(number)
            .map_err(|_| self.corrupt(format!("its column `{column}` is negative: {number}")))
    }

    /// The usage in column `index`: none (`NULL`) is none.
    pub(super) fn usage(&self, index: usize) -> Result<SavedUsage, Error> {
        let text: Option<String> = self.get(index, "usage")?;
        SavedUsage::from_stored(text.as_deref()).map_err(|error| Error::CorruptCheckpoint {
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

/// A row of [`RUNS`], read with [`RUN_COLUMNS`]: the run as its row and its latest
/// checkpoint show it.
pub(super) fn run_info(row: &Row<'_>) -> Result<RunInfo, Error> {
    let mut info = run_row(row)?;
    let mut read = Reader::of(row, info.id);
    info.awaits = Awaits::from_columns(read.get(16, "wake_at")?, read.get(17, "awaiting")?);
    info.parent_step = read.get(18, "parent_step")?;
    // No checkpoint at all (a corrupt run, which reading it says), or one the row is up to
    // date with: the row says it all.
    if read
        .get::<Option<rusqlite::types::Value>>(13, "seq")?
        .is_none()
    {
        return Ok(info);
    }
    let seq = read.count(13, "seq")?;
    if seq > info.version {
        read.seq = Some(seq);
        info.version = seq;
        info.step = read.get(14, "step")?;
        info.updated_at = info
            .updated_at
            .max(from_millis(read.get(15, "created_at")?));
    }
    Ok(info)
}

/// What the run of a row read with [`LIST_COLUMNS`] had spent; `None` if a usage does not
/// read back.
pub(super) fn spent(row: &Row<'_>) -> Option<UsageTotals> {
    let latest: Option<String> = row.get(19).ok()?;
    let branches: Option<String> = row.get(20).ok()?;
    let branches: Vec<Option<String>> = match branches {
        Some(json) => serde_json::from_str(&json).ok()?,
        None => Vec::new(),
    };
    crate::store::listing::spent(latest.as_deref(), branches.iter().map(Option::as_deref))
}

/// The run's own row, the first columns of [`RUN_COLUMNS`].
fn run_row(row: &Row<'_>) -> Result<RunInfo, Error> {
    let mut read = Reader {
        row,
        run: None,
        seq: None,
    };
    let id = read.id(0, "id")?;
    read.run = Some(id);
    let parent = match read.get::<Option<rusqlite::types::Value>>(8, "parent")? {
        None => None,
        Some(_) => Some((read.id(8, "parent")?, read.count(9, "parent_seq")?)),
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
        parent_step: None,
        error: read.get(10, "error")?,
        created_at: from_millis(read.get(11, "created_at")?),
        updated_at: from_millis(read.get(12, "updated_at")?),
        awaits: None,
        spent: None,
    })
}

/// A row of `workflow_checkpoints`, read with [`CHECKPOINT_COLUMNS`].
pub(super) fn checkpoint(row: &Row<'_>) -> Result<Checkpoint, Error> {
    let mut read = Reader {
        row,
        run: None,
        seq: None,
    };
    let run = read.id(0, "run")?;
    read.run = Some(run);
    let seq = read.count(1, "seq")?;
    read.seq = Some(seq);
    let format = read.get::<i64>(4, "format")?;
    Ok(Checkpoint {
        run,
        seq,
        workflow: read.get(2, "workflow")?,
        fingerprint: read.get::<i64>(3, "fingerprint")? as u64,
        // A format out of range is no format this version reads: it says so.
        format: u32::try_from(format).unwrap_or(u32::MAX),
        step: read.get(5, "step")?,
        status: read.status(6)?,
        state: read.get(7, "state")?,
        loops: read.get(8, "loops")?,
        created_at: from_millis(read.get(9, "created_at")?),
        usage: read.usage(10)?,
        branches: Vec::new(),
        child: None,
    })
}
