//! Keeping the write-ahead log small. SQLite's own checkpoints (after each commit once the WAL
//! has 1000 pages) do not bound it: while other connections keep reading it, it cannot start
//! over, and under contention the checkpoint lock is always taken. The store's connections
//! leave those off, and past a size the store checkpoints all of the WAL and restarts it: the
//! next commit writes it again from its start, and SQLite cuts the file back to the limit
//! (`journal_size_limit`). The file is not truncated to nothing: a commit that overwrites
//! the file rather than extends it does not change its size, which an fsync (in
//! `Durability::Full`) would also have to write, and took about twice as long here.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::Connection;

/// How many queries run between two looks at the WAL's size (one `stat` of the file): a
/// write on the caller's thread takes a few microseconds, so the WAL can grow fast.
const EVERY: u32 = 8;

/// How many times a truncation is tried while another connection's checkpoint holds the
/// checkpoint lock, which SQLite does not wait for.
const TRIES: u32 = 20;

/// How long a truncation waits for the write lock and for readers: it holds the write lock
/// while it waits for readers, so writers wait as long.
const WAIT: Duration = Duration::from_millis(50);

/// How many truncations in a row may fail before the next ones pause: one that fails because
/// another store's writes kept it from finishing in [`WAIT`] (a busy machine) is tried again
/// at the next look, while the WAL is still small; only a reader that does not let go makes
/// them fail again and again.
const FAILURES_BEFORE_PAUSE: u32 = 3;

/// How long after truncations that could not finish (a reader that does not let go) the next
/// is tried, at first; doubled after each one that cannot finish, up to [`LONGEST_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(100);

/// The longest pause between two truncations that cannot finish.
const LONGEST_PAUSE: Duration = Duration::from_secs(2);

/// The WAL of one connection's database, and the size it is kept under.
#[derive(Debug)]
pub(super) struct Wal {
    /// The WAL file, `{database}-wal`; `None` for a database without a file.
    path: Option<PathBuf>,
    limit: u64,
    /// The connection's busy timeout, set again after a truncation.
    busy_timeout: Duration,
    /// Queries since the last look.
    queries: u32,
    /// Truncations in a row that could not finish.
    failures: u32,
    /// No truncation is tried before this: the last ones could not finish.
    paused_until: Option<Instant>,
    /// How long the next pause lasts.
    pause: Duration,
}

impl Wal {
    /// The WAL of `conn`'s database, kept under `limit` bytes; `busy_timeout` is the
    /// connection's.
    pub(super) fn new(conn: &Connection, limit: u64, busy_timeout: Duration) -> Self {
        let path = conn
            .path()
            .filter(|path| !path.is_empty())
            .map(|path| PathBuf::from(format!("{path}-wal")));
        Wal {
            path,
            limit,
            busy_timeout,
            queries: 0,
            failures: 0,
            paused_until: None,
            pause: FIRST_PAUSE,
        }
    }

    /// Counts a query; says whether it is time to look at the WAL's size, every few queries.
    pub(super) fn count(&mut self) -> bool {
        self.queries += 1;
        if self.queries < EVERY {
            return false;
        }
        self.queries = 0;
        true
    }

    /// Whether the WAL has grown past its limit, and is not paused after a truncation that
    /// could not finish: one file size, no query.
    pub(super) fn too_big(&self) -> bool {
        let Some(path) = &self.path else {
            return false;
        };
        let paused = self
            .paused_until
            .is_some_and(|until| Instant::now() < until);
        !paused && std::fs::metadata(path).is_ok_and(|meta| meta.len() > self.limit)
    }

    /// If the WAL has grown past its limit, checkpoints all of it into the database and
    /// truncates it. One that cannot finish is tried again at the next look; after a few in a
    /// row (a reader keeps an old snapshot), after a pause, longer each time, so that a reader
    /// that never lets go does not keep writers waiting: the WAL is then only bigger for a
    /// while.
    pub(super) fn keep(&mut self, conn: &Connection) {
        if !self.too_big() {
            return;
        }
        let Some(path) = &self.path else {
            return;
        };
        // Waits briefly: it holds the write lock while it waits for readers.
        let _ = conn.busy_timeout(WAIT);
        let truncated = truncate(conn, path, self.limit);
        let _ = conn.busy_timeout(self.busy_timeout);
        if truncated {
            (self.failures, self.paused_until, self.pause) = (0, None, FIRST_PAUSE);
        } else {
            self.failures += 1;
            if self.failures >= FAILURES_BEFORE_PAUSE {
                self.paused_until = Some(Instant::now() + self.pause);
                self.pause = (self.pause * 2).min(LONGEST_PAUSE);
            }
        }
    }
}

/// While the WAL at `path` is larger than `limit` bytes, checkpoints all of it into the
/// database and restarts it (`PRAGMA wal_checkpoint(RESTART)`; the next commit cuts the file
/// to the limit). Tries a few times while
/// another connection's checkpoint holds the checkpoint lock, and stops once the WAL is small
/// again, whoever truncated it. Returns whether it is. Best effort: the writes it follows are
/// committed whatever it does.
fn truncate(conn: &Connection, path: &Path, limit: u64) -> bool {
    for _ in 0..TRIES {
        let size = std::fs::metadata(path).map_or(0, |meta| meta.len());
        if size <= limit {
            return true;
        }
        // (busy, pages in the WAL, pages checkpointed)
        let done = conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?))
        });
        match done {
            Ok((0, _)) => return true,
            // The checkpoint lock or the write lock was taken (no pages read): try again in
            // a moment.
            Ok((_, -1)) => std::thread::sleep(Duration::from_millis(1)),
            // Readers kept their snapshots past the wait, or the database failed.
            Ok(_) | Err(_) => return false,
        }
    }
    false
}
