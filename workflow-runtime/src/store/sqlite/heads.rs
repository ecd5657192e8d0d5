//! What the store's connection knows of the runs it saved last: the row and latest checkpoint
//! each save left, so that the save of the next checkpoint under the same lease need not read
//! them again, as long as nothing else has written the file since.
//!
//! Nothing else has written it when the connection's `PRAGMA data_version` is unchanged (it
//! changes when another connection commits) and so is its count of changed rows
//! (`total_changes`), apart from the saves recorded here. A save recorded here changes only
//! its own run's rows, so the other runs' entries stay true. Any other write, by this
//! connection or another, drops every entry: the next save of each run reads its row.

use std::collections::HashMap;

use rusqlite::Connection;
use uuid::Uuid;

use super::rows::store;
use crate::error::Error;
use crate::store::RunId;

/// A run's row and latest checkpoint, as a write under its lease reads them.
#[derive(Clone, Copy, Debug)]
pub(super) struct Head {
    /// Whether the run is running, with no error recorded.
    pub(super) running: bool,
    /// When its lease expires, in milliseconds.
    pub(super) expires: Option<i64>,
    /// The number the run's next event takes, if its latest checkpoint knows it.
    pub(super) log_next: Option<u64>,
}

/// The heads of the runs whose last write on this connection was a save recorded here.
#[derive(Debug, Default)]
pub(super) struct Heads {
    /// The connection's `data_version` and `total_changes` after the last save recorded, while
    /// the entries hold.
    seen: Option<(i64, u64)>,
    /// By run: the lease it was saved under, its latest checkpoint's number, and its head.
    runs: HashMap<RunId, (Uuid, u64, Head)>,
}

/// At most this many runs are remembered: a store drives a bounded number of runs at once.
const MOST: usize = 1024;

impl Heads {
    /// In a write transaction of `conn`, which holds the file's write lock: forgets every run
    /// if the file was written since the last save recorded, other than by those saves.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] if the connection's data version cannot be read.
    pub(super) fn check(&mut self, conn: &Connection) -> Result<i64, Error> {
        let version: i64 = conn
            .prepare_cached("PRAGMA data_version")
            .and_then(|mut stmt| stmt.query_row([], |row| row.get(0)))
            .map_err(store)?;
        if self.seen != Some((version, conn.total_changes())) {
            self.forget();
        }
        Ok(version)
    }

    /// Run `run`'s head, if its last write here was a save under `lease` of checkpoint `at`.
    pub(super) fn get(&self, run: RunId, lease: Uuid, at: u64) -> Option<Head> {
        match self.runs.get(&run) {
            Some(&(held, latest, head)) if held == lease && latest == at => Some(head),
            _ => None,
        }
    }

    /// Records the save, just committed on `conn`, of checkpoint `seq` of run `run` under
    /// `lease`, which left it `head` and changed nothing else; `version` is the data version
    /// [`check`](Self::check) read in its transaction. `None` for a save after which the run
    /// is not kept (it ended or waits).
    pub(super) fn saved(
        &mut self,
        conn: &Connection,
        version: i64,
        (run, lease, seq): (RunId, Uuid, u64),
        head: Option<Head>,
    ) {
        self.seen = Some((version, conn.total_changes()));
        match head {
            Some(head) => {
                if self.runs.len() >= MOST && !self.runs.contains_key(&run) {
                    self.runs.clear();
                }
                self.runs.insert(run, (lease, seq, head));
            }
            None => {
                self.runs.remove(&run);
            }
        }
    }

    /// Forgets every run: the file was written by something other than the saves recorded.
    pub(super) fn forget(&mut self) {
        self.seen = None;
        self.runs.clear();
    }
}
