//! [`SqliteOptions`] and [`Durability`]: how an [`SqliteStore`](super::SqliteStore) opens its
//! file.

use std::time::Duration;

#[cfg(doc)]
use crate::Error;

/// How an [`SqliteStore`](super::SqliteStore) opens its file.
///
/// # Contention
///
/// Writers of one file take turns: a query that finds the file locked by another connection
/// (another store, another process) waits for it in SQLite for up to the
/// [busy timeout](Self::busy_timeout), and is then run again with backoff until the
/// [lock timeout](Self::lock_timeout), so that contention fails no write that can wait. The
/// WAL file is kept under a [size](Self::wal_limit), even while other connections keep
/// reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqliteOptions {
    pub(super) durability: Durability,
    pub(super) busy_timeout: Duration,
    pub(super) lock_timeout: Duration,
    pub(super) wal_limit: u64,
}

/// What a saved checkpoint survives: SQLite's `synchronous` mode in WAL mode. See
/// [`SqliteStore`](super::SqliteStore).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Durability {
    /// `synchronous = FULL`: each checkpoint is synced to disk before the run goes on;
    /// survives process crashes, OS crashes and power cuts.
    #[default]
    Full,
    /// `synchronous = NORMAL`: each checkpoint survives a process crash; the last few may be
    /// lost on an OS crash or power cut (never corrupting the file).
    Normal,
}

impl Durability {
    pub(super) fn pragma(self) -> &'static str {
        match self {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        }
    }
}

impl SqliteOptions {
    /// The default busy timeout: 5 s.
    pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

    /// The default lock timeout: 60 s.
    pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(60);

    /// The default WAL limit: 16 MiB.
    pub const DEFAULT_WAL_LIMIT: u64 = 16 << 20;

    /// [`Durability::Full`], a 5 s busy timeout, a 60 s lock timeout, and a WAL kept under
    /// 16 MiB.
    pub fn new() -> Self {
        SqliteOptions {
            durability: Durability::Full,
            busy_timeout: Self::DEFAULT_BUSY_TIMEOUT,
            lock_timeout: Self::DEFAULT_LOCK_TIMEOUT,
            wal_limit: Self::DEFAULT_WAL_LIMIT,
        }
    }

    /// Sets what a saved checkpoint survives.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Sets how long one run of a query waits in SQLite for another connection's lock on the
    /// file (SQLite's busy timeout) before the store rolls it back and runs it again; 5 s by
    /// default.
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Sets how long a query is run again while other connections hold the file's locks
    /// before it fails with [`Error::Store`] ("database is locked"); 60 s by default.
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// Sets the size in bytes past which the WAL file is checkpointed into the database and
    /// started over, and which it is cut back to (SQLite's `journal_size_limit`); 16 MiB by
    /// default.
    pub fn wal_limit(mut self, bytes: u64) -> Self {
        self.wal_limit = bytes;
        self
    }
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self::new()
    }
}
