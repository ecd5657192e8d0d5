//! [`SqliteStore`]: runs in an SQLite file.

mod answer;
mod busy;
mod children;
mod heads;
mod id;
mod log;
mod options;
mod queue;
mod rate;
mod read;
mod retention;
mod rows;
mod save;
mod schema;
mod signals;
mod sql;
mod tx;
mod wal;
mod worker;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use rusqlite::Connection;

use super::{
    BranchRecord, CallRecord, Cancel, Checkpoint, CheckpointStore, ChildRecord, Lease, LoggedEvent,
    NewEvent, NewRun, RateSlot, Retention, RunFilter, RunId, RunInfo, RunList, WorkflowType,
};
use crate::definition::WorkflowDefinition;
use crate::error::{BoxError, Error};
use crate::future::BoxFuture;
use crate::store::time::{lease_millis, to_millis};
use crate::usage::SavedUsage;
use heads::Heads;
use rows::store;
use sql::Waiting;
use wal::Wal;
use worker::Worker;

pub use options::{Durability, SqliteOptions};

/// A [`CheckpointStore`] in an SQLite file: the embedded default. No server, and SQLite is
/// compiled in (no system library needed).
///
/// The file is opened in WAL mode, so readers do not block the writer. Several processes on
/// the same machine can share it (each opens its own `SqliteStore`): leases and
/// compare-and-set writes keep one writer per run across them. Writers take turns, and a
/// write that finds the file locked waits and is tried again rather than fail, up to the
/// [lock timeout](SqliteOptions::lock_timeout); the WAL file is kept under a
/// [size](SqliteOptions::wal_limit). The file must be on a local disk; SQLite's locks do not
/// work over network file systems.
///
/// Each store runs its queries on a thread of its own, so that a query waiting for the disk
/// or for another connection's lock never blocks the async runtime. Clones of an
/// `Arc<SqliteStore>` share that thread. In [`Durability::Normal`], where a commit waits for
/// neither, a write that finds the store's connection free runs on the caller's thread
/// instead, which saves two thread wake-ups per checkpoint; if the file is locked, it goes to
/// the store's thread to wait.
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
///   Checkpoints cost microseconds.
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
    worker: Worker,
    /// What the connection knows of the runs it saved last; used only by jobs that hold the
    /// connection.
    heads: Arc<Mutex<Heads>>,
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
        let wal = Wal::new(&conn, options.wal_limit, options.busy_timeout);
        let timeouts = (options.busy_timeout, options.lock_timeout);
        // A commit that does not sync the disk takes microseconds: the caller may run it.
        let inline = options.durability == Durability::Normal;
        let worker = Worker::start(conn, wal, timeouts, inline)?;
        Ok(SqliteStore {
            worker,
            heads: Arc::default(),
        })
    }

    fn call<T: Send + 'static>(
        &self,
        query: impl FnMut(&mut Connection) -> Result<T, Error> + Send + 'static,
    ) -> BoxFuture<'static, Result<T, Error>> {
        self.worker.call(query)
    }

    fn write<T: Send + 'static>(
        &self,
        query: impl FnMut(&mut Connection) -> Result<T, Error> + Send + 'static,
    ) -> BoxFuture<'static, Result<T, Error>> {
        self.worker.write(query)
    }
}

/// Opens the file, sets it up, and creates or checks the schema.
fn connect(path: &Path, options: SqliteOptions) -> Result<Connection, Error> {
    let mut conn = Connection::open(path).map_err(store)?;
    // Every statement is cached (a checkpoint parses no SQL): room for all of them, more than
    // rusqlite's default of 16, which a durable run with its event log goes over.
    conn.set_prepared_statement_cache_capacity(64);
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
    let limit = i64::try_from(options.wal_limit).unwrap_or(i64::MAX);
    conn.pragma_update(None, "journal_size_limit", limit)
        .map_err(store)?;
    // The store checkpoints the WAL itself (see `wal`): SQLite's checkpoints after every
    // commit would keep the checkpoint lock taken under contention, and the WAL growing.
    conn.pragma_update(None, "wal_autocheckpoint", 0)
        .map_err(store)?;
    busy::retry(&mut conn, options.lock_timeout, schema::set_up)?;
    Ok(conn)
}

/// The heads, taken by a job that holds the connection: never contended.
fn lock(heads: &Mutex<Heads>) -> MutexGuard<'_, Heads> {
    heads.lock().unwrap_or_else(PoisonError::into_inner)
}

fn failed(source: BoxError) -> Error {
    Error::Store {
        store: "sqlite",
        source,
    }
}

impl CheckpointStore for SqliteStore {
    fn create(&self, run: NewRun) -> BoxFuture<'_, Result<(), Error>> {
        self.write(move |conn| sql::create(conn, &run))
    }

    fn claim<'a>(
        &'a self,
        run: RunId,
        lease: &'a Lease,
    ) -> BoxFuture<'a, Result<(RunInfo, Checkpoint), Error>> {
        let lease = lease.clone();
        self.write(move |conn| sql::claim(conn, run, &lease))
    }

    fn renew<'a>(&'a self, run: RunId, lease: &'a Lease) -> BoxFuture<'a, Result<(), Error>> {
        let (id, ttl) = (lease.id, lease_millis(lease));
        self.write(move |conn| sql::renew(conn, run, id, ttl))
    }

    fn save<'a>(
        &'a self,
        lease: &'a Lease,
        checkpoint: Checkpoint,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let (id, ttl) = (lease.id, lease_millis(lease));
        let heads = Arc::clone(&self.heads);
        self.write(move |conn| save::save(conn, &mut lock(&heads), id, ttl, &checkpoint))
    }

    fn save_logged<'a>(
        &'a self,
        lease: &'a Lease,
        checkpoint: Checkpoint,
        events: Vec<NewEvent>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let (id, ttl) = (lease.id, lease_millis(lease));
        let heads = Arc::clone(&self.heads);
        self.write(move |conn| {
            let heads = &mut lock(&heads);
            save::save_logged(conn, heads, id, ttl, &checkpoint, &events)
        })
    }

    fn append_events(&self, run: RunId, events: Vec<NewEvent>) -> BoxFuture<'_, Result<(), Error>> {
        self.write(move |conn| log::append_alone(conn, run, &events))
    }

    fn events(
        &self,
        run: RunId,
        from: u64,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<LoggedEvent>, Error>> {
        self.call(move |conn| log::events(conn, run, from, limit))
    }

    fn latest_events(
        &self,
        run: RunId,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<LoggedEvent>, Error>> {
        self.call(move |conn| log::latest_events(conn, run, limit))
    }

    fn save_branch<'a>(
        &'a self,
        lease: &'a Lease,
        run: RunId,
        seq: u64,
        branch: BranchRecord,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let (id, ttl) = (lease.id, lease_millis(lease));
        self.write(move |conn| save::save_branch(conn, id, ttl, (run, seq), &branch))
    }

    fn save_call<'a>(
        &'a self,
        lease: &'a Lease,
        run: RunId,
        seq: u64,
        call: CallRecord,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let id = lease.id;
        self.write(move |conn| save::save_call(conn, id, (run, seq), &call))
    }

    fn suspend_at<'a>(
        &'a self,
        lease: &'a Lease,
        run: RunId,
        seq: u64,
        child: Option<(RunId, ChildRecord)>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let id = lease.id;
        self.write(move |conn| save::suspend_at(conn, id, (run, seq), child.as_ref()))
    }

    fn create_children<'a>(
        &'a self,
        lease: &'a Lease,
        run: RunId,
        seq: u64,
        child: ChildRecord,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let id = lease.id;
        self.write(move |conn| save::create_children(conn, id, (run, seq), &child))
    }

    fn save_carried<'a>(
        &'a self,
        lease: &'a Lease,
        checkpoint: Checkpoint,
        call: CallRecord,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let (id, ttl) = (lease.id, lease_millis(lease));
        self.write(move |conn| save::save_carried(conn, id, ttl, &checkpoint, &call))
    }

    fn calls(&self, run: RunId, seq: u64) -> BoxFuture<'_, Result<Vec<CallRecord>, Error>> {
        self.call(move |conn| read::calls(conn, run, seq))
    }

    fn save_usage<'a>(
        &'a self,
        lease: &'a Lease,
        run: RunId,
        seq: u64,
        usage: SavedUsage,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let (id, usage) = (lease.id, usage.to_json());
        self.write(move |conn| save::save_usage(conn, id, (run, seq), usage.as_deref()))
    }

    fn release<'a>(
        &'a self,
        run: RunId,
        lease: &'a Lease,
        error: Option<String>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let id = lease.id;
        self.write(move |conn| sql::release(conn, run, id, error.as_deref(), Waiting::Nothing))
    }

    fn release_until<'a>(
        &'a self,
        run: RunId,
        lease: &'a Lease,
        wake_at: SystemTime,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let (id, wake_at) = (lease.id, to_millis(wake_at));
        self.write(move |conn| sql::release(conn, run, id, None, Waiting::Until(wake_at)))
    }

    fn release_awaiting<'a>(
        &'a self,
        run: RunId,
        lease: &'a Lease,
        signal: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let (id, signal) = (lease.id, signal.to_owned());
        self.write(move |conn| sql::release(conn, run, id, None, Waiting::Signal(&signal)))
    }

    fn send_signal<'a>(
        &'a self,
        run: RunId,
        signal: &'a str,
        value: String,
    ) -> BoxFuture<'a, Result<u64, Error>> {
        let signal = signal.to_owned();
        self.write(move |conn| signals::send(conn, run, &signal, &value))
    }

    fn next_signal<'a>(
        &'a self,
        run: RunId,
        signal: &'a str,
    ) -> BoxFuture<'a, Result<Option<(u64, String)>, Error>> {
        let signal = signal.to_owned();
        self.call(move |conn| signals::next(conn, run, &signal))
    }

    fn save_received<'a>(
        &'a self,
        lease: &'a Lease,
        checkpoint: Checkpoint,
        events: Vec<NewEvent>,
        message: u64,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let (id, ttl) = (lease.id, lease_millis(lease));
        let heads = Arc::clone(&self.heads);
        self.write(move |conn| {
            let heads = &mut lock(&heads);
            save::save_received(conn, heads, id, ttl, &checkpoint, &events, Some(message))
        })
    }

    fn run(&self, run: RunId) -> BoxFuture<'_, Result<RunInfo, Error>> {
        self.call(move |conn| read::run(conn, run))
    }

    fn list(&self, filter: RunFilter) -> BoxFuture<'_, Result<RunList, Error>> {
        self.call(move |conn| read::list(conn, &filter))
    }

    fn history_page(
        &self,
        run: RunId,
        from: u64,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<Checkpoint>, Error>> {
        self.call(move |conn| read::history(conn, run, from, limit))
    }

    fn prune(&self, run: RunId, keep: u64) -> BoxFuture<'_, Result<u64, Error>> {
        self.call(move |conn| retention::prune(conn, run, keep))
    }

    fn delete_runs(&self, retention: Retention) -> BoxFuture<'_, Result<u64, Error>> {
        self.call(move |conn| retention::delete_runs(conn, &retention))
    }

    fn checkpoint(&self, run: RunId, seq: Option<u64>) -> BoxFuture<'_, Result<Checkpoint, Error>> {
        self.call(move |conn| read::get(conn, run, seq))
    }

    fn claim_next<'a>(
        &'a self,
        types: &'a [WorkflowType],
        lease: &'a Lease,
    ) -> BoxFuture<'a, Result<Option<(RunInfo, Checkpoint)>, Error>> {
        let (types, lease) = (types.to_vec(), lease.clone());
        self.write(move |conn| queue::claim_next(conn, &types, &lease))
    }

    fn cancel(&self, run: RunId) -> BoxFuture<'_, Result<Cancel, Error>> {
        self.write(move |conn| queue::cancel(conn, run))
    }

    fn save_definition(&self, definition: WorkflowDefinition) -> BoxFuture<'_, Result<(), Error>> {
        self.write(move |conn| answer::save_definition(conn, &definition))
    }

    fn definition<'a>(
        &'a self,
        name: &'a str,
        fingerprint: u64,
    ) -> BoxFuture<'a, Result<Option<WorkflowDefinition>, Error>> {
        let name = name.to_owned();
        self.call(move |conn| answer::definition(conn, &name, fingerprint))
    }

    fn record_answer(
        &self,
        run: RunId,
        seq: u64,
        value: String,
    ) -> BoxFuture<'_, Result<(), Error>> {
        self.write(move |conn| answer::record(conn, run, seq, &value))
    }

    fn recorded_answer(
        &self,
        run: RunId,
        seq: u64,
    ) -> BoxFuture<'_, Result<Option<String>, Error>> {
        self.call(move |conn| answer::select(conn, run, seq))
    }

    fn discard_answer(&self, run: RunId, seq: u64) -> BoxFuture<'_, Result<(), Error>> {
        self.write(move |conn| answer::discard(conn, run, seq))
    }

    fn take_rate_slot<'a>(
        &'a self,
        key: &'a str,
        calls: u32,
        period: Duration,
    ) -> BoxFuture<'a, Result<RateSlot, Error>> {
        let key = key.to_owned();
        self.write(move |conn| rate::take(conn, &key, calls, period))
    }
}
