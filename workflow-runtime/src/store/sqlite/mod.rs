//! [`SqliteStore`]: runs in an SQLite file.

mod read;
mod rows;
mod sql;
mod tx;

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::Connection;

use super::{Checkpoint, CheckpointStore, Lease, NewRun, RunFilter, RunId, RunInfo, RunList};
use crate::store::time::lease_millis;
use crate::{BoxError, BoxFuture, Error};
use rows::store;

/// A [`CheckpointStore`] in an SQLite file: the embedded default. No server, and SQLite is
/// compiled in (no system library needed).
///
/// The file is opened in WAL mode, so readers do not block the writer. Several processes on
/// the same machine can share it (each opens its own `SqliteStore`): leases and
/// compare-and-set writes keep one writer per run across them. The file must be on a local
/// disk; SQLite's locks do not work over network file systems.
///
/// Each store runs its queries on a thread of its own, so that a write waiting for the disk
/// never blocks the async runtime. Clones of an `Arc<SqliteStore>` share that thread.
///
/// # Durability
///
/// [`Durability`] sets SQLite's `synchronous` mode, which decides what survives what:
///
/// - [`Durability::Full`] (the default): every checkpoint is on disk (fsync) before the next
///   step starts. A crash of the process, of the OS, or a power cut loses nothing that was
///   saved. Each checkpoint costs one fsync, which is often a millisecond or more.
/// - [`Durability::Normal`]: every checkpoint survives a crash of the process (`kill -9`,
///   a panic, an OOM kill), but the last ones before an OS crash or a power cut may be lost,
///   and the steps after them then run again on resume. The file is never corrupted.
///   Checkpoints cost tens of microseconds.
///
/// ```
/// use std::sync::Arc;
/// use workflow_runtime::store::{Durability, SqliteOptions, SqliteStore};
/// use workflow_runtime::Runner;
///
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("runs.db");
/// let store = SqliteStore::open_with(&path, SqliteOptions::new().durability(Durability::Normal))?;
/// let runner = Runner::new(Arc::new(store));
/// # let _ = runner;
/// # Ok::<(), workflow_runtime::Error>(())
/// ```
#[derive(Debug)]
pub struct SqliteStore {
    jobs: mpsc::Sender<Job>,
}

/// A query to run on the store's thread.
type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// How an [`SqliteStore`] opens its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqliteOptions {
    durability: Durability,
    busy_timeout: Duration,
}

/// What a saved checkpoint survives: SQLite's `synchronous` mode in WAL mode. See
/// [`SqliteStore`].
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
    fn pragma(self) -> &'static str {
        match self {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        }
    }
}

impl SqliteOptions {
    /// [`Durability::Full`], and a 5 s wait for other processes' locks.
    pub fn new() -> Self {
        SqliteOptions {
            durability: Durability::Full,
            busy_timeout: Duration::from_secs(5),
        }
    }

    /// Sets what a saved checkpoint survives.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Sets how long a query waits for another process's lock on the file before it fails
    /// with [`Error::Store`].
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl SqliteStore {
    /// Opens (or creates) the SQLite file at `path`, with [`SqliteOptions::new`].
    ///
    /// # Errors
    ///
    /// [`Error::Store`] if the file cannot be opened, is not an SQLite database, or was
    /// written by a newer version of this crate.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        Self::open_with(path, SqliteOptions::new())
    }

    /// Opens (or creates) the SQLite file at `path`, with `options`.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open).
    pub fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self, Error> {
        let conn = connect(path.as_ref(), options)?;
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("workflow-sqlite".into())
            .spawn(move || serve(conn, &queue))
            .map_err(|error| Error::Store {
                store: "sqlite",
                source: error.into(),
            })?;
        Ok(SqliteStore { jobs })
    }

    /// Runs `query` on the store's thread.
    fn call<T: Send + 'static>(
        &self,
        query: impl FnOnce(&mut Connection) -> Result<T, Error> + Send + 'static,
    ) -> BoxFuture<'static, Result<T, Error>> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let sent = self.jobs.send(Box::new(move |conn: &mut Connection| {
            let _ = reply.send(query(conn));
        }));
        Box::pin(async move {
            sent.map_err(|_| closed())?;
            answer.await.unwrap_or_else(|_| Err(closed()))
        })
    }
}

/// Runs the queries sent to the store until the store is dropped.
fn serve(mut conn: Connection, queue: &mpsc::Receiver<Job>) {
    while let Ok(job) = queue.recv() {
        job(&mut conn);
    }
}

fn closed() -> Error {
    Error::Store {
        store: "sqlite",
        source: "the store's thread has stopped".into(),
    }
}

/// Opens the file, sets it up, and creates or checks the schema.
fn connect(path: &Path, options: SqliteOptions) -> Result<Connection, Error> {
    let conn = Connection::open(path).map_err(store)?;
    conn.busy_timeout(options.busy_timeout).map_err(store)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(store)?;
    if !mode.eq_ignore_ascii_case("wal") {
        let reason = format!("the file cannot be put in WAL mode (it is in `{mode}` mode)");
        return Err(failed(reason.into()));
    }
    conn.pragma_update(None, "synchronous", options.durability.pragma())
        .map_err(store)?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(store)?;
    if version > sql::SCHEMA_VERSION {
        let reason = format!(
            "the file was written with schema version {version}, newer than this version of \
             `workflow` reads ({}); upgrade `workflow`",
            sql::SCHEMA_VERSION
        );
        return Err(failed(reason.into()));
    }
    let schema = format!(
        "BEGIN IMMEDIATE; {} PRAGMA user_version = {}; COMMIT;",
        sql::SCHEMA,
        sql::SCHEMA_VERSION
    );
    conn.execute_batch(&schema).map_err(store)?;
    Ok(conn)
}

fn failed(source: BoxError) -> Error {
    Error::Store {
        store: "sqlite",
        source,
    }
}

impl CheckpointStore for SqliteStore {
    fn create(&self, run: NewRun) -> BoxFuture<'_, Result<(), Error>> {
        self.call(move |conn| sql::create(conn, &run))
    }

    fn claim<'a>(
        &'a self,
        run: RunId,
        lease: &'a Lease,
    ) -> BoxFuture<'a, Result<(RunInfo, Checkpoint), Error>> {
        let lease = lease.clone();
        self.call(move |conn| sql::claim(conn, run, &lease))
    }

    fn renew<'a>(&'a self, run: RunId, lease: &'a Lease) -> BoxFuture<'a, Result<(), Error>> {
        let (id, ttl) = (lease.id, lease_millis(lease));
        self.call(move |conn| sql::renew(conn, run, id, ttl))
    }

    fn save<'a>(
        &'a self,
        lease: &'a Lease,
        checkpoint: Checkpoint,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let (id, ttl) = (lease.id, lease_millis(lease));
        self.call(move |conn| sql::save(conn, id, ttl, &checkpoint))
    }

    fn release<'a>(
        &'a self,
        run: RunId,
        lease: &'a Lease,
        error: Option<String>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let id = lease.id;
        self.call(move |conn| sql::release(conn, run, id, error.as_deref()))
    }

    fn run(&self, run: RunId) -> BoxFuture<'_, Result<RunInfo, Error>> {
        self.call(move |conn| read::run(conn, run))
    }

    fn list(&self, filter: RunFilter) -> BoxFuture<'_, Result<RunList, Error>> {
        self.call(move |conn| read::list(conn, &filter))
    }

    fn history(&self, run: RunId) -> BoxFuture<'_, Result<Vec<Checkpoint>, Error>> {
        self.call(move |conn| read::history(conn, run))
    }

    fn checkpoint(&self, run: RunId, seq: Option<u64>) -> BoxFuture<'_, Result<Checkpoint, Error>> {
        self.call(move |conn| read::get(conn, run, seq))
    }
}
