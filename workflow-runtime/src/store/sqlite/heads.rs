//! What the store's connection knows of the runs it saved last: the row and latest checkpoint
//! each save left, so that the save of the next checkpoint under the same lease need not read
//! them again, as long as nothing else has written the file since.
//!
//! Nothing else has written it when the file's data version is what it was after the last save
//! recorded here: SQLite's `SQLITE_FCNTL_DATA_VERSION`, which changes with every commit to the
//! file, this connection's or another's (unlike `PRAGMA data_version`, which sees only other
//! connections', and costs a statement). A save recorded here changes only its own run's rows,
//! so the other runs' entries stay true. Any other write, by this connection or another, drops
//! every entry: the next save of each run reads its row.

use std::collections::HashMap;

use rusqlite::{Connection, FileControl, MAIN_DB};
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
    /// The file's data version after the last save recorded, while the entries hold.
    seen: Option<u32>,
    /// By run: the lease it was saved under, its latest checkpoint's number, and its head.
    runs: HashMap<RunId, (Uuid, u64, Head)>,
}

/// At most this many runs are remembered: a store drives a bounded number of runs at once.
const MOST: usize = 1024;

impl Heads {
    /// In a write transaction of `conn`, which holds the file's write lock (and so has read
    /// the file's data version): forgets every run if the file was written since the last save
    /// recorded.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] if the data version cannot be read.
    pub(super) fn check(&mut self, conn: &Connection) -> Result<(), Error> {
        if self.seen != Some(data_version(conn)?) {
            self.forget();
        }
        Ok(())
    }

    /// Run `run`'s head, if its last write here was a save under `lease` of checkpoint `at`.
    pub(super) fn get(&self, run: RunId, lease: Uuid, at: u64) -> Option<Head> {
        match self.runs.get(&run) {
            Some(&(held, latest, head)) if held == lease && latest == at => Some(head),
            _ => None,
        }
    }

    /// Records the save, just committed on `conn`, of checkpoint `seq` of run `run` under
    /// `lease`, which left it `head` and changed nothing else. `None` for a save after which
    /// the run is not kept (it ended or waits).
    pub(super) fn saved(
        &mut self,
        conn: &Connection,
        (run, lease, seq): (RunId, Uuid, u64),
        head: Option<Head>,
    ) {
        // Not known, nothing is kept: the next save reads its run.
        self.seen = data_version(conn).ok();
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

/// The data version of `conn`'s file as the connection last read it: changed by every commit
/// to the file, the connection's own or another's, as of the connection's latest transaction.
fn data_version(conn: &Connection) -> Result<u32, Error> {
    let mut version = 0;
    conn.file_control(Some(MAIN_DB), FileControl::DataVersion(&mut version))
        .map_err(store)?;
    Ok(version)
}
