//! Where a store's queries run: on the store's own thread, so that a query waiting for the
//! disk or for another connection's lock never blocks the async runtime; and, in
//! [`Durability::Normal`](super::Durability::Normal), a write that finds the connection free
//! runs at once on the caller's thread, since it then waits for neither.

use std::future::ready;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::Duration;

use rusqlite::Connection;

use super::busy;
use super::wal::Wal;
use crate::error::Error;
use crate::future::BoxFuture;

/// The store's connection, its thread, and how its queries wait.
#[derive(Debug)]
pub(super) struct Worker {
    db: Arc<Mutex<Db>>,
    jobs: mpsc::Sender<Job>,
    /// How long a query is run again while another connection holds the file's lock.
    lock_timeout: Duration,
    /// SQLite's busy timeout, set back after a write on the caller's thread, which runs
    /// without one.
    busy_timeout: Duration,
    /// Whether writes may run on the caller's thread: a commit does not sync the disk.
    inline: bool,
    /// Whether the thread is to checkpoint the WAL: writes wait for it there meanwhile, so
    /// that the WAL does not grow while the thread waits for the connection.
    checkpointing: Arc<AtomicBool>,
}

/// The connection, and the WAL it keeps small.
#[derive(Debug)]
struct Db {
    conn: Connection,
    wal: Wal,
}

/// Work for the store's thread; what it returns answers the caller, once the connection is
/// free again for the caller's next write.
type Job = Box<dyn FnOnce(&mut Db) -> Answer + Send>;

type Answer = Box<dyn FnOnce() + Send>;

/// How long a write on the caller's thread waits for another connection's lock: not at all;
/// it goes to the store's thread, which waits.
const NO_WAIT: Duration = Duration::ZERO;

impl Worker {
    /// Starts the thread of `conn`, whose WAL is `wal`. Writes run on the caller's thread
    /// when `inline`.
    pub(super) fn start(
        conn: Connection,
        wal: Wal,
        (busy_timeout, lock_timeout): (Duration, Duration),
        inline: bool,
    ) -> Result<Self, Error> {
        let db = Arc::new(Mutex::new(Db { conn, wal }));
        let (jobs, queue) = mpsc::channel::<Job>();
        let shared = Arc::clone(&db);
        std::thread::Builder::new()
            .name("workflow-sqlite".into())
            .spawn(move || serve(&shared, &queue))
            .map_err(|error| Error::Store {
                store: "sqlite",
                source: error.into(),
            })?;
        Ok(Worker {
            db,
            jobs,
            lock_timeout,
            busy_timeout,
            inline,
            checkpointing: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Runs `query` on the store's thread, again while the file is locked by another
    /// connection, up to the lock timeout.
    pub(super) fn call<T: Send + 'static>(
        &self,
        mut query: impl FnMut(&mut Connection) -> Result<T, Error> + Send + 'static,
    ) -> BoxFuture<'static, Result<T, Error>> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let patience = self.lock_timeout;
        let sent = self.jobs.send(Box::new(move |db: &mut Db| -> Answer {
            let result = busy::retry(&mut db.conn, patience, &mut query);
            Box::new(move || {
                let _ = reply.send(result);
            })
        }));
        Box::pin(async move {
            sent.map_err(|_| closed())?;
            answer.await.unwrap_or_else(|_| Err(closed()))
        })
    }

    /// Runs `query`, a write, on the caller's thread if writes may run there and nothing
    /// else holds the connection or the file's lock; otherwise as [`call`](Self::call). A
    /// query is a whole transaction, rolled back when it fails, so one that found the file
    /// locked here runs again on the thread.
    pub(super) fn write<T: Send + 'static>(
        &self,
        mut query: impl FnMut(&mut Connection) -> Result<T, Error> + Send + 'static,
    ) -> BoxFuture<'static, Result<T, Error>> {
        let inline = self.inline && !self.checkpointing.load(Ordering::Acquire);
        if let Some(mut db) = inline.then(|| self.try_lock()).flatten() {
            let _ = db.conn.busy_timeout(NO_WAIT);
            let result = query(&mut db.conn);
            let _ = db.conn.busy_timeout(self.busy_timeout);
            if !matches!(&result, Err(error) if busy::is_busy(error)) {
                // A look at the WAL's size every few writes; checkpointing it waits for
                // readers, so the thread does that.
                let due = db.wal.count() && db.wal.too_big();
                drop(db);
                if due {
                    self.checkpointing.store(true, Ordering::Release);
                    let checkpointing = Arc::clone(&self.checkpointing);
                    let _ = self.jobs.send(Box::new(move |db: &mut Db| -> Answer {
                        db.wal.keep(&db.conn);
                        checkpointing.store(false, Ordering::Release);
                        Box::new(|| {})
                    }));
                }
                return Box::pin(ready(result));
            }
        }
        self.call(query)
    }

    /// The connection, unless the thread or another caller is using it.
    fn try_lock(&self) -> Option<MutexGuard<'_, Db>> {
        match self.db.try_lock() {
            Ok(db) => Some(db),
            Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }
}

/// Runs the jobs sent to the store until the store is dropped, keeping the WAL small. A job's
/// caller is answered once the connection is unlocked: its next write can then run on its own
/// thread.
fn serve(db: &Mutex<Db>, queue: &mpsc::Receiver<Job>) {
    let lock = || db.lock().unwrap_or_else(PoisonError::into_inner);
    while let Ok(job) = queue.recv() {
        let (answer, due) = {
            let mut db = lock();
            let answer = job(&mut db);
            (answer, db.wal.count())
        };
        answer();
        if due {
            let Db { conn, wal } = &mut *lock();
            wal.keep(conn);
        }
    }
}

fn closed() -> Error {
    Error::Store {
        store: "sqlite",
        source: "the store's thread has stopped".into(),
    }
}
