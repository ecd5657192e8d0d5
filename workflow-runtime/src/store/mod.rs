//! Checkpoint stores: where durable runs keep their checkpoints.
//!
//! A [`Runner`](crate::Runner) saves a run's state after every step in a [`CheckpointStore`]:
//!
//! - [`MemoryStore`]: in the process's memory, for tests.
//! - [`SqliteStore`] (feature `sqlite`, on by default): an SQLite file, the embedded default.
//!   Several processes on one machine can share the file.
//! - `PostgresStore` (feature `postgres`): a PostgreSQL database, shared by many workers on
//!   many machines.
//!
//! Every store keeps two kinds of records: a [`RunInfo`] per run (its status, the number of
//! its latest checkpoint, and the lease of the worker running it) and its [`Checkpoint`]s,
//! numbered from 0. Stored records are untrusted input: a record that does not read back is
//! [`Error::CorruptCheckpoint`], never a panic.
//!
//! History grows by one checkpoint per step. [`CheckpointStore::history_page`] reads it a page
//! at a time, [`CheckpointStore::prune`] keeps only a run's last checkpoints, and
//! [`CheckpointStore::delete_runs`] deletes ended runs by age ([`Retention`]).
//!
//! A run's events (what [`EventKind`](crate::event::EventKind) tells, but the model's text) are kept
//! too, in an event log per run ([`LoggedEvent`]) that
//! [`CheckpointStore::save_logged`] writes with each checkpoint and
//! [`CheckpointStore::events`] reads a page at a time.

pub(crate) mod answer;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod batch;
mod lease;
mod listing;
mod log;
mod memory;
pub(crate) mod notices;
#[cfg(feature = "postgres")]
mod postgres;
mod queue;
mod rate;
mod record;
mod retention;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) mod time;

use crate::definition::WorkflowDefinition;
use crate::error::Error;
use crate::future::BoxFuture;
use crate::usage::SavedUsage;

pub use listing::RunList;
pub use log::{LoggedEvent, NewEvent};
pub use memory::MemoryStore;
pub use notices::WorkNotices;
#[cfg(feature = "postgres")]
pub use postgres::{PostgresOptions, PostgresStore};
pub use queue::{Cancel, WorkflowType};
pub use rate::RateSlot;
pub use record::{
    Awaits, BranchRecord, CallRecord, Checkpoint, ChildRecord, Lease, NewRun, RunFilter, RunId,
    RunInfo, RunStatus, END, FORMAT_VERSION,
};
pub use retention::Retention;
#[cfg(feature = "sqlite")]
pub use sqlite::{Durability, SqliteOptions, SqliteStore};

/// The `uuid` crate, whose [`Uuid`](uuid::Uuid) is inside [`RunId`] and [`Lease::id`].
pub use uuid;

/// The `tokio-postgres` crate, whose TLS traits [`PostgresOptions::tls`] takes.
#[cfg(feature = "postgres")]
pub use tokio_postgres;

/// Where durable runs keep their checkpoints, with one writer per run.
///
/// A store keeps, per run, a [`RunInfo`] and the run's [`Checkpoint`]s, numbered from 0. Its
/// methods are what a [`Runner`](crate::Runner) needs; they must hold under concurrent
/// callers, in one process or many:
///
/// - **One writer per run.** A worker writes a run only while it holds the run's [`Lease`]:
///   [`claim`](Self::claim) takes it when nobody holds it or it has expired;
///   [`save`](Self::save), [`renew`](Self::renew) and [`release`](Self::release) check the
///   lease id and fail with [`Error::LeaseLost`] if the run has another lease (or none), even
///   when the caller's lease has not expired yet.
/// - **Compare-and-set.** [`save`](Self::save) appends checkpoint `n` only if the run's
///   latest checkpoint ([`RunInfo::version`]) is `n - 1`, else [`Error::VersionConflict`]; the
///   check and the write are one atomic step.
/// - **Errors.** A run that does not exist is [`Error::RunNotFound`], a database failure
///   [`Error::Store`], a record that does not read back [`Error::CorruptCheckpoint`] (naming
///   the run, and the checkpoint if the problem is in one). Each cause is the same kind on
///   every path: a value that does not read back is never taken for a lease or version
///   error, nor a failed conversion for a database failure.
///
/// - **Child runs.** A checkpoint with a [`Checkpoint::child`] is saved with that child
///   run's record in the same atomic write, by every method that saves a checkpoint: the
///   child's run is created on its first record (checkpoint 0, [`RunInfo::parent`] and
///   [`RunInfo::parent_step`] set, no lease), and each later record appends the child's next
///   checkpoint and sets its status and step. A run that ends failed or cancelled
///   ([`release`](Self::release), [`cancel`](Self::cancel)) ends its children still running
///   or suspended the same way, in the same write. [`claim_next`](Self::claim_next) never
///   picks a child run; [`delete_runs`](Self::delete_runs) deletes children with their
///   parent only. A store that keeps no child runs may ignore the records.
///
/// Checking what a checkpoint holds (format, fingerprint, the state itself) is the runner's
/// job: stores keep the text they are given.
///
/// The trait is dyn-compatible (the runner holds an `Arc<dyn CheckpointStore>`), so its
/// methods return [`BoxFuture`]s.
///
/// # Example
///
/// A complete store that keeps runs in a `HashMap` (what [`MemoryStore`] does):
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::{Arc, Mutex};
/// use std::time::{Duration, SystemTime};
///
/// use workflow_runtime::store::{
///     BranchRecord, Checkpoint, CheckpointStore, Lease, NewRun, Retention, RunFilter, RunId,
///     RunInfo, RunList, RunStatus,
/// };
/// use workflow_runtime::{BoxFuture, Error};
///
/// #[derive(Default)]
/// struct MapStore(Mutex<HashMap<RunId, (RunInfo, Option<uuid::Uuid>, Vec<Checkpoint>)>>);
///
/// type Entry = (RunInfo, Option<uuid::Uuid>, Vec<Checkpoint>);
///
/// impl MapStore {
///     /// Runs `f` on run `run` under the lock; the future is ready at once.
///     fn with<T: Send + 'static>(
///         &self,
///         run: RunId,
///         f: impl FnOnce(&mut Entry, SystemTime) -> Result<T, Error>,
///     ) -> BoxFuture<'_, Result<T, Error>> {
///         let mut runs = self.0.lock().unwrap();
///         let result = match runs.get_mut(&run) {
///             Some(entry) => f(entry, SystemTime::now()),
///             None => Err(Error::RunNotFound { run }),
///         };
///         Box::pin(std::future::ready(result))
///     }
/// }
///
/// /// Checks that `lease` is the run's lease.
/// fn held((info, lease_id, _): &Entry, lease: uuid::Uuid) -> Result<(), Error> {
///     match lease_id {
///         Some(id) if *id == lease => Ok(()),
///         _ => Err(Error::LeaseLost { run: info.id }),
///     }
/// }
///
/// fn take(entry: &mut Entry, lease: Option<&Lease>, now: SystemTime) {
///     entry.1 = lease.map(|lease| lease.id);
///     entry.0.owner = lease.map(|lease| lease.owner.clone());
///     entry.0.lease_expires = lease.map(|lease| lease.expires_at(now));
/// }
///
/// impl CheckpointStore for MapStore {
///     fn create(&self, run: NewRun) -> BoxFuture<'_, Result<(), Error>> {
///         let mut entry = (RunInfo::created(&run.first, run.parent), None, vec![]);
///         take(&mut entry, run.lease.as_ref(), SystemTime::now());
///         entry.2.push(run.first);
///         self.0.lock().unwrap().insert(entry.0.id, entry);
///         Box::pin(std::future::ready(Ok(())))
///     }
///
///     fn claim<'a>(&'a self, run: RunId, lease: &'a Lease)
///         -> BoxFuture<'a, Result<(RunInfo, Checkpoint), Error>>
///     {
///         self.with(run, |entry, now| {
///             if let (Some(owner), Some(expires)) = (&entry.0.owner, entry.0.lease_expires) {
///                 if let Ok(expires_in) = expires.duration_since(now) {
///                     return Err(Error::RunOwned { run, owner: owner.clone(), expires_in });
///                 }
///             }
///             take(entry, Some(lease), now);
///             Ok((entry.0.clone(), entry.2.last().cloned().expect("checkpoint 0")))
///         })
///     }
///
///     fn renew<'a>(&'a self, run: RunId, lease: &'a Lease) -> BoxFuture<'a, Result<(), Error>> {
///         self.with(run, |entry, now| {
///             held(entry, lease.id)?;
///             entry.0.lease_expires = Some(lease.expires_at(now));
///             Ok(())
///         })
///     }
///
///     fn save<'a>(&'a self, lease: &'a Lease, checkpoint: Checkpoint)
///         -> BoxFuture<'a, Result<(), Error>>
///     {
///         self.with(checkpoint.run, |entry, now| {
///             held(entry, lease.id)?;
///             if checkpoint.seq != entry.0.version + 1 {
///                 let (expected, found) = (checkpoint.seq.wrapping_sub(1), entry.0.version);
///                 return Err(Error::VersionConflict { run: entry.0.id, expected, found });
///             }
///             let running = checkpoint.status == RunStatus::Running;
///             take(entry, running.then_some(lease), now);
///             let info = &mut entry.0;
///             (info.version, info.status, info.error) = (checkpoint.seq, checkpoint.status, None);
///             (info.step, info.updated_at) = (checkpoint.step.to_string(), now);
///             entry.2.push(checkpoint);
///             Ok(())
///         })
///     }
///
///     fn save_branch<'a>(&'a self, lease: &'a Lease, run: RunId, seq: u64, branch: BranchRecord)
///         -> BoxFuture<'a, Result<(), Error>>
///     {
///         self.with(run, |entry, now| {
///             held(entry, lease.id)?;
///             let found = entry.0.version;
///             if seq != found {
///                 return Err(Error::VersionConflict { run, expected: seq, found });
///             }
///             entry.0.lease_expires = Some(lease.expires_at(now));
///             entry.2.last_mut().expect("checkpoint 0").branches.push(branch);
///             Ok(())
///         })
///     }
///
///     fn release<'a>(&'a self, run: RunId, lease: &'a Lease, error: Option<String>)
///         -> BoxFuture<'a, Result<(), Error>>
///     {
///         self.with(run, |entry, now| {
///             held(entry, lease.id)?;
///             take(entry, None, now);
///             if let Some(error) = error {
///                 (entry.0.status, entry.0.error) = (RunStatus::Failed, Some(error));
///             }
///             Ok(())
///         })
///     }
///
///     fn run(&self, run: RunId) -> BoxFuture<'_, Result<RunInfo, Error>> {
///         self.with(run, |entry, _| Ok(entry.0.clone()))
///     }
///
///     fn list(&self, filter: RunFilter) -> BoxFuture<'_, Result<RunList, Error>> {
///         let runs = self.0.lock().unwrap();
///         let mut infos: Vec<RunInfo> =
///             runs.values().map(|entry| entry.0.clone()).filter(|info| filter.matches(info)).collect();
///         infos.sort_by_key(|info| info.id);
///         infos.truncate(filter.limit.map_or(usize::MAX, |limit| limit as usize));
///         Box::pin(std::future::ready(Ok(infos.into_iter().map(Ok).collect())))
///     }
///
///     fn history_page(&self, run: RunId, from: u64, limit: u32)
///         -> BoxFuture<'_, Result<Vec<Checkpoint>, Error>>
///     {
///         self.with(run, |entry, _| {
///             let page = entry.2.iter().filter(|c| c.seq >= from).take(limit as usize);
///             Ok(page.cloned().collect())
///         })
///     }
///
///     fn prune(&self, run: RunId, keep: u64) -> BoxFuture<'_, Result<u64, Error>> {
///         self.with(run, |entry, _| {
///             let keep = usize::try_from(keep.max(1)).unwrap_or(usize::MAX);
///             let gone = entry.2.len().saturating_sub(keep);
///             entry.2.drain(..gone);
///             Ok(gone as u64)
///         })
///     }
///
///     fn delete_runs(&self, retention: Retention) -> BoxFuture<'_, Result<u64, Error>> {
///         let mut runs = self.0.lock().unwrap();
///         let (before, now) = (runs.len(), SystemTime::now());
///         runs.retain(|_, entry| !retention.matches(&entry.0, now));
///         Box::pin(std::future::ready(Ok((before - runs.len()) as u64)))
///     }
///
///     fn checkpoint(&self, run: RunId, seq: Option<u64>)
///         -> BoxFuture<'_, Result<Checkpoint, Error>>
///     {
///         self.with(run, |entry, _| {
///             let seq = seq.unwrap_or(entry.0.version);
///             let found = entry.2.iter().find(|checkpoint| checkpoint.seq == seq);
///             found.cloned().ok_or(Error::CheckpointNotFound { run, seq })
///         })
///     }
/// }
///
/// // A durable run on it:
/// # use std::future::Future;
/// # use workflow_runtime::{Context, Runner, Workflow};
/// # struct Double;
/// # #[derive(serde::Serialize, serde::Deserialize)]
/// # enum State { Double(u32), End(u32) }
/// # impl Workflow for Double {
/// #     type Input = u32;
/// #     type Output = u32;
/// #     type State = State;
/// #     const NAME: &'static str = "Double";
/// #     const FINGERPRINT: u64 = 1;
/// #     const STEPS: &'static [&'static str] = &["double"];
/// #     fn start(input: u32) -> State { State::Double(input) }
/// #     fn finish(state: State) -> Result<u32, State> {
/// #         match state { State::End(out) => Ok(out), other => Err(other) }
/// #     }
/// #     fn step_name(state: &State) -> &'static str {
/// #         match state { State::Double(_) => "double", State::End(_) => "end" }
/// #     }
/// #     fn transition<'a>(&'a self, state: State, _: &'a mut Context)
/// #         -> impl Future<Output = Result<State, Error>> + Send + 'a {
/// #         async move { Ok(match state { State::Double(x) => State::End(x * 2), end => end }) }
/// #     }
/// # }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let runner = Runner::new(Arc::new(MapStore::default()));
/// let run = runner.start(&Double, 21).await?;
/// let id = run.id;
/// assert_eq!(run.into_output()?, 42);
/// assert_eq!(runner.history(id).await?.len(), 2);
/// # Ok::<(), Error>(()) }).unwrap();
/// ```
pub trait CheckpointStore: Send + Sync + 'static {
    /// Creates a run with `run.first` as its checkpoint 0 (its [`RunInfo`] is
    /// [`RunInfo::created`]), leased to `run.lease` if given. A run with the same id is never
    /// replaced.
    ///
    /// # Errors
    ///
    /// [`Error::RunExists`] if a run with that id exists, [`Error::Store`].
    fn create(&self, run: NewRun) -> BoxFuture<'_, Result<(), Error>>;

    /// Takes the lease of run `run` for `lease`, if nobody holds it or its lease has expired,
    /// and returns the run (with the new lease) and its latest checkpoint.
    ///
    /// # Errors
    ///
    /// [`Error::RunOwned`] if another lease holds the run and has not expired,
    /// [`Error::RunCancelled`] if the run was [cancelled](Self::cancel),
    /// [`Error::RunNotFound`], [`Error::Store`], [`Error::CorruptCheckpoint`].
    fn claim<'a>(
        &'a self,
        run: RunId,
        lease: &'a Lease,
    ) -> BoxFuture<'a, Result<(RunInfo, Checkpoint), Error>>;

    /// Extends `lease` on run `run` to [`lease.expires_at(now)`](Lease::expires_at).
    ///
    /// # Errors
    ///
    /// [`Error::LeaseLost`] if the run is not leased to `lease.id` (an expired lease that
    /// nobody took over is still held), [`Error::RunNotFound`], [`Error::Store`].
    fn renew<'a>(&'a self, run: RunId, lease: &'a Lease) -> BoxFuture<'a, Result<(), Error>>;

    /// Appends `checkpoint` to its run, as number `checkpoint.seq`, if the run is leased to
    /// `lease.id` and its latest checkpoint is `checkpoint.seq - 1`; the run's status and
    /// step become the checkpoint's, and its error is cleared. If the checkpoint's status is
    /// [`RunStatus::Running`] the lease is extended to
    /// [`lease.expires_at(now)`](Lease::expires_at), otherwise
    /// (suspended, finished) it is released. The checks and the writes are atomic.
    ///
    /// A store may leave a lease that still has two thirds of its
    /// [`duration`](Lease::duration) to run as it is, rather than write it with every
    /// checkpoint: the runner also renews it every third of that.
    ///
    /// # Errors
    ///
    /// [`Error::LeaseLost`], [`Error::VersionConflict`], [`Error::RunNotFound`],
    /// [`Error::Store`].
    fn save<'a>(
        &'a self,
        lease: &'a Lease,
        checkpoint: Checkpoint,
    ) -> BoxFuture<'a, Result<(), Error>>;

    /// Saves `branch`, a branch of the fan-out or map that checkpoint `seq` of run `run` is
    /// running, which has just finished, if the run is leased to `lease.id` and `seq` is its
    /// latest checkpoint; extends the lease to `lease.ttl` from now (or leaves it, as
    /// [`save`](Self::save) may). The checkpoint read back
    /// ([`checkpoint`](Self::checkpoint), [`claim`](Self::claim), [`history`](Self::history))
    /// then lists it in [`Checkpoint::branches`]. The checks and the write are atomic.
    ///
    /// # Errors
    ///
    /// [`Error::LeaseLost`], [`Error::VersionConflict`], [`Error::RunNotFound`],
    /// [`Error::Store`].
    fn save_branch<'a>(
        &'a self,
        lease: &'a Lease,
        run: RunId,
        seq: u64,
        branch: BranchRecord,
    ) -> BoxFuture<'a, Result<(), Error>>;

    /// Records on checkpoint `seq` of run `run` what the run has spent by now, `usage` (the
    /// whole run's, as in [`Checkpoint::usage`], which it replaces), if the run is leased to
    /// `lease.id` and `seq` is its latest checkpoint: the runner calls it when a step fails
    /// (or the run is cancelled, or goes over its budget), before it gives up the lease, so
    /// that the run resumed from `seq` counts what the failed step spent. The checks and the
    /// write are atomic.
    ///
    /// The default does nothing: a store that does not keep it loses what failed steps
    /// spent, and a resumed run counts from what its latest checkpoint saved.
    ///
    /// # Errors
    ///
    /// [`Error::LeaseLost`], [`Error::VersionConflict`], [`Error::RunNotFound`],
    /// [`Error::Store`].
    fn save_usage<'a>(
        &'a self,
        lease: &'a Lease,
        run: RunId,
        seq: u64,
        usage: SavedUsage,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let _ = (lease, run, seq, usage);
        Box::pin(std::future::ready(Ok(())))
    }

    /// Records `call`, a call made in the step that checkpoint `seq` of run `run` is running
    /// (a model turn, a tool call, a [`once`](crate::once) block), if the run is leased to
    /// `lease.id` and `seq` is its latest checkpoint, unless a call with the same key is
    /// recorded there already: the first write wins. [`calls`](Self::calls) reads them back
    /// when the step runs again, after a crash, which then does not make those calls again.
    /// They are deleted with their run ([`delete_runs`](Self::delete_runs)), and by
    /// [`prune`](Self::prune) once their step is over; a fork does not copy them.
    ///
    /// The default keeps nothing: with a store written before, a step run again makes its
    /// calls again.
    ///
    /// # Errors
    ///
    /// [`Error::LeaseLost`], [`Error::VersionConflict`], [`Error::RunCancelled`],
    /// [`Error::RunNotFound`], [`Error::Store`].
    fn save_call<'a>(
        &'a self,
        lease: &'a Lease,
        run: RunId,
        seq: u64,
        call: CallRecord,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let _ = (lease, run, seq, call);
        Box::pin(std::future::ready(Ok(())))
    }

    /// The calls [recorded](Self::save_call) at checkpoint `seq` of run `run`, in no
    /// particular order.
    ///
    /// The default has none.
    ///
    /// # Errors
    ///
    /// [`Error::Store`].
    fn calls(&self, run: RunId, seq: u64) -> BoxFuture<'_, Result<Vec<CallRecord>, Error>> {
        let _ = (run, seq);
        Box::pin(std::future::ready(Ok(Vec::new())))
    }

    /// Suspends run `run` at checkpoint `seq` without a new checkpoint, if the run is leased
    /// to `lease.id` and `seq` is its latest checkpoint: its status becomes
    /// [`RunStatus::Suspended`] and the lease is given up (a run asked to stop is recorded as
    /// cancelled instead). The runner calls it when a tool call of the step in flight waits
    /// for a human's [`Approval`](crate::Approval): the calls the step recorded at `seq`,
    /// the request among them, stay where the step finds them, and the pause is answered at
    /// `seq` ([`record_answer`](Self::record_answer) takes it, as for any pause). With
    /// `child`, the run it hangs under (`run` itself, or a child run of `run`, at any depth,
    /// whose row exists) and the chain of child runs whose first step that is, which have no
    /// row yet: their rows are created, suspended at their checkpoint 0, as
    /// [`save`](Self::save) creates a child's (a run that is cancelled instead ends them with
    /// it). The checks and the write are atomic.
    ///
    /// The default says the store does not support it: the run fails with that error.
    ///
    /// # Errors
    ///
    /// [`Error::LeaseLost`], [`Error::VersionConflict`], [`Error::RunNotFound`],
    /// [`Error::Store`].
    fn suspend_at<'a>(
        &'a self,
        lease: &'a Lease,
        run: RunId,
        seq: u64,
        child: Option<(RunId, ChildRecord)>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let _ = (lease, run, seq, child);
        Box::pin(std::future::ready(Err(unsupported("suspend_at"))))
    }

    /// Creates the rows of `child`, the chain of child runs in flight of run `run` (the first
    /// one a child of `run`, each next one a child of the one before), that have none yet,
    /// if `run` is leased to `lease.id` and `seq` is its latest checkpoint; a row that exists
    /// is left as it is. Each row created has its checkpoint, numbered and with the status
    /// its record says, as [`save`](Self::save) creates a child's. The checks and the writes
    /// are atomic. The runner calls it when it first takes up a fork made without the
    /// workflow's code (`workflow fork` copies a checkpoint), whose children in flight it
    /// then finds in the state.
    ///
    /// The default creates none: such a child then has its row from its next step.
    ///
    /// # Errors
    ///
    /// [`Error::LeaseLost`], [`Error::VersionConflict`], [`Error::RunNotFound`],
    /// [`Error::Store`].
    fn create_children<'a>(
        &'a self,
        lease: &'a Lease,
        run: RunId,
        seq: u64,
        child: ChildRecord,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let _ = (lease, run, seq, child);
        Box::pin(std::future::ready(Ok(())))
    }

    /// [`save`](Self::save)s `checkpoint` as the step in flight going on from checkpoint
    /// `checkpoint.seq - 1`: the calls [recorded](Self::save_call) there are recorded at
    /// `checkpoint.seq` too, and `call` with them, in the same atomic write. The runner calls
    /// it when a tool call's approval is given: the checkpoint holds the same state as the
    /// one before, `call` is the decision, and the step, run again from it, finds every call
    /// it made before (a duplicate answer to the pause then finds the run gone on).
    ///
    /// The default saves the checkpoint, then records the calls one by one: not atomic.
    ///
    /// # Errors
    ///
    /// As [`save`](Self::save).
    fn save_carried<'a>(
        &'a self,
        lease: &'a Lease,
        checkpoint: Checkpoint,
        call: CallRecord,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let (run, seq) = (checkpoint.run, checkpoint.seq);
            let carried = self.calls(run, seq.wrapping_sub(1)).await?;
            self.save(lease, checkpoint).await?;
            for record in carried.into_iter().chain([call]) {
                self.save_call(lease, run, seq, record).await?;
            }
            Ok(())
        })
    }

    /// [`save`](Self::save)s `checkpoint` and appends `events` to its run's log (numbered on
    /// from the log's last entry, see [`LoggedEvent::seq`]) in the same atomic write: either
    /// both are saved or neither. The runner saves the events a run emitted since its previous
    /// checkpoint with each checkpoint.
    ///
    /// The default saves the checkpoint, then [`append_events`](Self::append_events): not
    /// atomic, for stores written before the log (whose default keeps no events).
    ///
    /// # Errors
    ///
    /// As [`save`](Self::save).
    fn save_logged<'a>(
        &'a self,
        lease: &'a Lease,
        checkpoint: Checkpoint,
        events: Vec<NewEvent>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let run = checkpoint.run;
        let saved = self.save(lease, checkpoint);
        Box::pin(async move {
            saved.await?;
            self.append_events(run, events).await
        })
    }

    /// Appends `events` to the log of run `run`, numbered on from its last entry, without a
    /// checkpoint: the runner writes the events after a run's last checkpoint (its failure,
    /// cancellation) this way, after it may have given up its lease, so no lease is checked.
    ///
    /// The default keeps nothing: a store written before the log has none.
    ///
    /// # Errors
    ///
    /// [`Error::RunNotFound`], [`Error::Store`].
    fn append_events(&self, run: RunId, events: Vec<NewEvent>) -> BoxFuture<'_, Result<(), Error>> {
        let _ = (run, events);
        Box::pin(std::future::ready(Ok(())))
    }

    /// The entries of run `run`'s event log numbered `from` or more, in order, at most `limit`
    /// of them: the next page starts after the last one's [`seq`](LoggedEvent::seq). A reader
    /// that follows a live run asks again from there. A run's log is deleted with the run
    /// ([`delete_runs`](Self::delete_runs)); [`prune`](Self::prune) keeps it.
    ///
    /// The default has no entries (for a run that exists).
    ///
    /// # Errors
    ///
    /// [`Error::RunNotFound`], [`Error::Store`], [`Error::CorruptCheckpoint`] (naming the run
    /// and no checkpoint) for an entry that does not read back.
    fn events(
        &self,
        run: RunId,
        from: u64,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<LoggedEvent>, Error>> {
        let _ = (from, limit);
        let exists = self.run(run);
        Box::pin(async move { exists.await.map(|_| Vec::new()) })
    }

    /// The last `limit` entries of run `run`'s event log, in order (all of them if it holds
    /// fewer): where a reader of a long log starts, to show what happened last, before it
    /// follows the run with [`events`](Self::events) from after the last one.
    ///
    /// The default reads the whole log through [`events`](Self::events), a page at a time,
    /// keeping the last `limit` entries.
    ///
    /// # Errors
    ///
    /// As [`events`](Self::events).
    fn latest_events(
        &self,
        run: RunId,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<LoggedEvent>, Error>> {
        Box::pin(log::latest_by_pages(self, run, limit, 1_000))
    }

    /// Gives up `lease` on run `run`. With an `error`, the run's status becomes
    /// [`RunStatus::Failed`] and its error `error`.
    ///
    /// # Errors
    ///
    /// [`Error::LeaseLost`], [`Error::RunNotFound`], [`Error::Store`].
    fn release<'a>(
        &'a self,
        run: RunId,
        lease: &'a Lease,
        error: Option<String>,
    ) -> BoxFuture<'a, Result<(), Error>>;

    /// Gives up `lease` on run `run`, which sleeps until `wake_at` (its latest checkpoint is
    /// a step that sleeps first, [`Workflow::wakes_at`](crate::Workflow::wakes_at)): its
    /// status stays [`RunStatus::Running`], and [`claim_next`](Self::claim_next) does not pick
    /// it up before `wake_at`. A run asked to stop is recorded as cancelled, as
    /// [`release`](Self::release) does. Any later `release` forgets the time.
    ///
    /// The default gives the lease up with [`release`](Self::release) and keeps no time: a
    /// worker then picks the run up at once, finds it asleep, and puts it aside again, at each
    /// poll of the worker.
    ///
    /// ```
    /// # use std::time::{Duration, SystemTime};
    /// # use workflow_runtime::store::{CheckpointStore, Lease, RunId};
    /// # use workflow_runtime::MemoryStore;
    /// # async fn sleep(store: &MemoryStore, run: RunId, lease: &Lease) -> Result<(), workflow_runtime::Error> {
    /// store.release_until(run, lease, SystemTime::now() + Duration::from_secs(3600)).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::LeaseLost`], [`Error::RunNotFound`], [`Error::Store`].
    fn release_until<'a>(
        &'a self,
        run: RunId,
        lease: &'a Lease,
        wake_at: std::time::SystemTime,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let _ = wake_at;
        self.release(run, lease, None)
    }

    /// Queues message `value` (JSON) for run `run` under signal `signal`, after the messages
    /// queued before it, and returns its number: greater than that of every message sent to
    /// the run before it. A
    /// message is delivered once: [`save_received`](Self::save_received) deletes it with the
    /// checkpoint that gives it to the run. A run [waiting](Self::release_awaiting) for that
    /// signal may be picked up from now on. Messages are deleted with their run.
    ///
    /// The default says the store does not support signals.
    ///
    /// # Errors
    ///
    /// [`Error::RunNotFound`], [`Error::Store`].
    fn send_signal<'a>(
        &'a self,
        run: RunId,
        signal: &'a str,
        value: String,
    ) -> BoxFuture<'a, Result<u64, Error>> {
        let _ = (run, signal, value);
        Box::pin(std::future::ready(Err(unsupported("send_signal"))))
    }

    /// The oldest message queued for run `run` under signal `signal`: its number and its
    /// JSON, or `None`.
    ///
    /// The default has none.
    ///
    /// # Errors
    ///
    /// [`Error::Store`].
    fn next_signal<'a>(
        &'a self,
        run: RunId,
        signal: &'a str,
    ) -> BoxFuture<'a, Result<Option<(u64, String)>, Error>> {
        let _ = (run, signal);
        Box::pin(std::future::ready(Ok(None)))
    }

    /// [`save_logged`](Self::save_logged), deleting message number `message` of the run's
    /// queue in the same atomic write: the checkpoint holds the message, given to the step
    /// that receives it, and the queue no longer does. If the message is no longer queued,
    /// nothing is written and the error is [`Error::VersionConflict`] (another writer took
    /// it).
    ///
    /// The default says the store does not support signals.
    ///
    /// # Errors
    ///
    /// As [`save`](Self::save).
    fn save_received<'a>(
        &'a self,
        lease: &'a Lease,
        checkpoint: Checkpoint,
        events: Vec<NewEvent>,
        message: u64,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let _ = (lease, checkpoint, events, message);
        Box::pin(std::future::ready(Err(unsupported("save_received"))))
    }

    /// Gives up `lease` on run `run`, which waits for a message of signal `signal` (its
    /// latest checkpoint is a step that receives it, [`Workflow::receives`]): its status
    /// stays [`RunStatus::Running`], and [`claim_next`](Self::claim_next) picks it up only
    /// once such a message is queued. A run asked to stop is recorded as cancelled. Any later
    /// [`release`](Self::release) forgets the signal.
    ///
    /// The default gives the lease up with [`release`](Self::release): a worker then picks the
    /// run up at each poll, and finds it waiting again.
    ///
    /// [`Workflow::receives`]: crate::Workflow::receives
    ///
    /// # Errors
    ///
    /// [`Error::LeaseLost`], [`Error::RunNotFound`], [`Error::Store`].
    fn release_awaiting<'a>(
        &'a self,
        run: RunId,
        lease: &'a Lease,
        signal: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let _ = signal;
        self.release(run, lease, None)
    }

    /// Run `run`.
    ///
    /// # Errors
    ///
    /// [`Error::RunNotFound`], [`Error::Store`], [`Error::CorruptCheckpoint`].
    fn run(&self, run: RunId) -> BoxFuture<'_, Result<RunInfo, Error>>;

    /// The runs that pass `filter`, oldest first: those that read back, and an
    /// [`Error::CorruptCheckpoint`] for each row that does not, which counts toward the
    /// filter's limit. One corrupt row fails no other run's listing. Each run carries what it
    /// spent ([`RunInfo::spent`]), read with it, so that a page of runs and their costs is one
    /// read of the store (a store that leaves it `None` shows no cost).
    ///
    /// # Errors
    ///
    /// [`Error::Store`]: the database failed, and nothing could be listed.
    fn list(&self, filter: RunFilter) -> BoxFuture<'_, Result<RunList, Error>>;

    /// The checkpoints of run `run` numbered `from` or more, in order, at most `limit` of
    /// them: a page of its history. The next page starts after the last one's
    /// [`seq`](Checkpoint::seq). Checkpoints [pruned](Self::prune) are not there: the first
    /// page may start after `from`.
    ///
    /// # Errors
    ///
    /// [`Error::RunNotFound`], [`Error::Store`], [`Error::CorruptCheckpoint`].
    fn history_page(
        &self,
        run: RunId,
        from: u64,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<Checkpoint>, Error>>;

    /// Every checkpoint of run `run` that is kept, in order: [`history_page`] from 0, without
    /// a limit.
    ///
    /// [`history_page`]: Self::history_page
    ///
    /// # Errors
    ///
    /// As [`history_page`].
    fn history(&self, run: RunId) -> BoxFuture<'_, Result<Vec<Checkpoint>, Error>> {
        self.history_page(run, 0, u32::MAX)
    }

    /// Deletes the checkpoints of run `run` but its last `keep` (at least 1: the latest is
    /// never deleted), and the calls [recorded](Self::save_call) by its steps that are over
    /// (those of the step in flight stay), and returns how many checkpoints it deleted. The run's
    /// [`version`](RunInfo::version) does not change, and its next checkpoint is numbered
    /// after it as before; a deleted checkpoint is [`Error::CheckpointNotFound`] from then on.
    ///
    /// # Errors
    ///
    /// [`Error::RunNotFound`], [`Error::Store`], [`Error::CorruptCheckpoint`].
    fn prune(&self, run: RunId, keep: u64) -> BoxFuture<'_, Result<u64, Error>>;

    /// Deletes the runs `retention` selects (ended, last written before a time, not leased),
    /// with all their checkpoints, and returns how many runs it deleted.
    ///
    /// # Errors
    ///
    /// [`Error::Store`].
    fn delete_runs(&self, retention: Retention) -> BoxFuture<'_, Result<u64, Error>>;

    /// Checkpoint `seq` of run `run`, or its latest if `seq` is `None`.
    ///
    /// # Errors
    ///
    /// [`Error::CheckpointNotFound`], [`Error::RunNotFound`], [`Error::Store`],
    /// [`Error::CorruptCheckpoint`].
    fn checkpoint(&self, run: RunId, seq: Option<u64>) -> BoxFuture<'_, Result<Checkpoint, Error>>;

    /// Takes the lease of a run a worker may pick up, for `lease`, and returns it with its
    /// latest checkpoint, as [`claim`](Self::claim) does; `None` if there is none. The SQL
    /// stores take a suspended run with an answer [recorded](Self::record_answer) for the
    /// pause it waits at first, then a sleeping run whose time has come, then a run one of
    /// whose awaited messages is queued, then the oldest run ready to go on, each found by an
    /// index; on Postgres, a store whose claim searched for all four less than 100 ms ago
    /// first looks for the next ready run after the last it took, alone (the others, and
    /// ready runs before that one, wait for the next search, at most that long), so that a
    /// busy worker's claims cost the server less. A run may be picked up if its status is
    /// [`RunStatus::Running`] (or [`RunStatus::Suspended`] with a recorded answer), nobody
    /// holds its lease (it was created without one, given up, or has expired), it does not
    /// sleep until a time to come ([`release_until`](Self::release_until)) nor wait for a
    /// signal no message of which is queued ([`release_awaiting`](Self::release_awaiting)),
    /// it has no cancel request, and its workflow and fingerprint are one of `types`. Workers
    /// that call it at once get different runs: the search and the lease are one atomic step,
    /// and a run another caller is taking is skipped, not waited for (`SKIP LOCKED`).
    ///
    /// A type with a [`limit`](WorkflowType::limit) is taken only while fewer runs of its
    /// workflow (of any fingerprint) hold a live lease, counted in the same atomic step: on
    /// Postgres, callers take a lock of each limited workflow for the claim's transaction
    /// (`pg_advisory_xact_lock`); on SQLite the claim's write transaction holds the file.
    ///
    /// It first records as [`RunStatus::Cancelled`] the running runs with a cancel request
    /// whose lease has expired: their worker died before it saw the request (on Postgres, in
    /// the claims that search for all four).
    ///
    /// If the run is taken but does not read back, the lease is kept and the error names
    /// the run: the caller gives the lease up with the error, so that the run is recorded as
    /// failed rather than picked up again and again.
    ///
    /// The default says the store does not support workers.
    ///
    /// # Errors
    ///
    /// [`Error::Store`], [`Error::CorruptCheckpoint`].
    fn claim_next<'a>(
        &'a self,
        types: &'a [WorkflowType],
        lease: &'a Lease,
    ) -> BoxFuture<'a, Result<Option<(RunInfo, Checkpoint)>, Error>> {
        let _ = (types, lease);
        Box::pin(std::future::ready(Err(unsupported("claim_next"))))
    }

    /// As [`claim_next`](Self::claim_next), for a worker woken by the announcement of run
    /// `run` alone ([`work_notices`](Self::work_notices)): leases `run` if `claim_next` could
    /// (free, ready, of one of `types`), and `None` otherwise, typically because another
    /// worker took it first. Every idle worker is woken by the announcement and all but one
    /// find nothing, so a store should make that cheap: `PostgresStore` looks at that one run
    /// rather than search the queue (and sweep it for cancelled runs), unless one of `types`
    /// has a limit.
    ///
    /// The default is `claim_next`.
    ///
    /// # Errors
    ///
    /// As [`claim_next`](Self::claim_next).
    fn claim_announced<'a>(
        &'a self,
        run: RunId,
        types: &'a [WorkflowType],
        lease: &'a Lease,
    ) -> BoxFuture<'a, Result<Option<(RunInfo, Checkpoint)>, Error>> {
        let _ = run;
        self.claim_next(types, lease)
    }

    /// Cancels run `run`. A run that has ended is left as it is ([`Cancel::Ended`]). A run
    /// nobody holds (waiting to be picked up, at a pause, or whose lease has expired) is
    /// recorded as [`RunStatus::Cancelled`] at once ([`Cancel::Cancelled`]). A run whose
    /// lease is live gets a cancel request ([`Cancel::Requested`]): from then on
    /// [`save`](Self::save), [`save_branch`](Self::save_branch) and [`renew`](Self::renew)
    /// under its lease fail with [`Error::RunCancelled`], and [`release`](Self::release)
    /// records it as cancelled. A cancelled run cannot be [claimed](Self::claim).
    ///
    /// The default says the store does not support cancelling by id.
    ///
    /// # Errors
    ///
    /// [`Error::RunNotFound`], [`Error::Store`], [`Error::CorruptCheckpoint`].
    fn cancel(&self, run: RunId) -> BoxFuture<'_, Result<Cancel, Error>> {
        let _ = run;
        Box::pin(std::future::ready(Err(unsupported("cancel"))))
    }

    /// Records `definition`, once per name and fingerprint: a definition already recorded is
    /// left as it is. A [`Runner`](crate::Runner) records the definition of a workflow the
    /// first time it creates a run of it, a [`Worker`](crate::Worker) those it serves when it
    /// starts, so that tools without the code can show a run's graph and pauses
    /// ([`definition`](Self::definition)).
    ///
    /// The default keeps nothing.
    ///
    /// # Errors
    ///
    /// [`Error::Store`].
    fn save_definition(&self, definition: WorkflowDefinition) -> BoxFuture<'_, Result<(), Error>> {
        let _ = definition;
        Box::pin(std::future::ready(Ok(())))
    }

    /// The definition of workflow `name` with fingerprint `fingerprint`, if one was
    /// [recorded](Self::save_definition).
    ///
    /// The default has none.
    ///
    /// # Errors
    ///
    /// [`Error::Store`]; [`Error::CorruptCheckpoint`] (naming no run) if it does not read
    /// back.
    fn definition<'a>(
        &'a self,
        name: &'a str,
        fingerprint: u64,
    ) -> BoxFuture<'a, Result<Option<WorkflowDefinition>, Error>> {
        let _ = (name, fingerprint);
        Box::pin(std::future::ready(Ok(None)))
    }

    /// Records `value`, an answer as JSON, for the pause run `run` waits at in checkpoint
    /// `seq`, for a worker to give it: a tool without the workflow's code (`workflow answer`,
    /// the console) cannot give it itself. From then on [`claim_next`](Self::claim_next) picks
    /// the suspended run up (for a worker of its workflow), which reads the answer with
    /// [`recorded_answer`](Self::recorded_answer), gives it to the run (or refuses it), and
    /// [discards](Self::discard_answer) it. One answer per pause: the check and the write are
    /// atomic.
    ///
    /// The default says the store does not support it.
    ///
    /// # Errors
    ///
    /// [`Error::RunNotSuspended`] if the run does not wait at a pause;
    /// [`Error::AlreadyAnswered`] if an answer is recorded for that pause already
    /// ([`repeated`](Error::AlreadyAnswered::repeated) if it is this same value) or the run
    /// has gone on from it; [`Error::CheckpointNotFound`] if the run has no checkpoint `seq`
    /// yet; [`Error::RunNotFound`], [`Error::Store`].
    fn record_answer(
        &self,
        run: RunId,
        seq: u64,
        value: String,
    ) -> BoxFuture<'_, Result<(), Error>> {
        let _ = (run, seq, value);
        Box::pin(std::future::ready(Err(unsupported("record_answer"))))
    }

    /// The answer [recorded](Self::record_answer) for the pause of checkpoint `seq` of run
    /// `run`, if there is one (and it was not [discarded](Self::discard_answer)).
    ///
    /// The default has none.
    ///
    /// # Errors
    ///
    /// [`Error::Store`].
    fn recorded_answer(
        &self,
        run: RunId,
        seq: u64,
    ) -> BoxFuture<'_, Result<Option<String>, Error>> {
        let _ = (run, seq);
        Box::pin(std::future::ready(Ok(None)))
    }

    /// Forgets the answer recorded for the pause of checkpoint `seq` of run `run`, if any:
    /// once given to the run, or refused (another can then be recorded).
    ///
    /// The default does nothing.
    ///
    /// # Errors
    ///
    /// [`Error::Store`].
    fn discard_answer(&self, run: RunId, seq: u64) -> BoxFuture<'_, Result<(), Error>> {
        let _ = (run, seq);
        Box::pin(std::future::ready(Ok(())))
    }

    /// Announcements of new work for workers: a run submitted, an answer recorded, a message
    /// sent (in any process). A [`Worker`](crate::Worker) with nothing to claim waits for one,
    /// or for its poll interval, whichever comes first: a store that announces work wakes idle
    /// workers at once. A worker may be woken by work that brings it nothing to claim; what no
    /// notice announces (a sleeping run's time coming, a lease expiring) is found at the poll.
    ///
    /// `PostgresStore` listens on a connection of its own (`LISTEN`/`NOTIFY`), on a task it
    /// spawns at the first call (call it within a tokio runtime), while a worker waits and for
    /// a second after. The default has none: workers poll.
    fn work_notices(&self) -> Option<WorkNotices> {
        None
    }

    /// The ids of runs that ended (finished, failed, cancelled) from now on, in any process:
    /// a [`RunHandle`](crate::RunHandle) awaiting a run's result waits for its id rather than
    /// look at the store again and again. `None` in the stream means notices may have been
    /// missed (a connection was lost, or the receiver lagged): look again. A run may also be
    /// announced when it did not end (a lease given up): look before you trust it.
    ///
    /// `PostgresStore` listens on a connection of its own (`LISTEN`/`NOTIFY`), as for
    /// [`work_notices`](Self::work_notices). The default has none: handles poll.
    fn run_ends(&self) -> Option<tokio::sync::broadcast::Receiver<Option<RunId>>> {
        None
    }

    /// Asks for the end of run `run` to be announced to [`run_ends`](Self::run_ends): a
    /// [`RunHandle`](crate::RunHandle) calls it once, before its first look at the run, when
    /// it is about to wait on `run_ends`. A store may announce only the ends that were asked
    /// for this way.
    ///
    /// `PostgresStore` marks the run's row, and notifies only the ends of runs so marked:
    /// every notice wakes each connection that listens in the database, so announcing every
    /// run's end would cost the server a wake-up of each worker's listening connection per
    /// run. The default does nothing.
    ///
    /// # Errors
    ///
    /// The store's. A run that does not exist is not an error here: the handle's look finds
    /// it missing.
    fn await_end(&self, run: RunId) -> BoxFuture<'_, Result<(), Error>> {
        let _ = run;
        Box::pin(std::future::ready(Ok(())))
    }

    /// Takes a place for one call in rate limit `key`, which lets at most `calls` calls (at
    /// least 1) start in any window of `period`, for every process that shares the store:
    /// [`RateSlot::Taken`] with the start time it recorded, or [`RateSlot::Full`] with how
    /// long until a place frees up. What a [shared `RateLimit`] waits on.
    ///
    /// The stores keep a sliding log: the start times of the calls of the last period, per
    /// key. The check and the write are one atomic step (one write transaction on SQLite, one
    /// statement holding the key's row lock on Postgres), so callers in many processes never
    /// take more places than there are. Start times are by the store's clock: the system's on
    /// SQLite and in memory, the database server's on Postgres, so that the workers' clocks
    /// need not agree. Callers of one key should give it the same `calls` and `period`: each
    /// call is checked against the limit it is given.
    ///
    /// [shared `RateLimit`]: crate::provider::RateLimit::shared
    ///
    /// The default says the store does not support it, rather than keep a limit per process
    /// that the caller did not ask for.
    ///
    /// ```
    /// # use std::time::Duration;
    /// use workflow_runtime::store::{CheckpointStore, RateSlot};
    /// use workflow_runtime::MemoryStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), workflow_runtime::Error> {
    /// let store = MemoryStore::new();
    /// let minute = Duration::from_secs(60);
    /// let first = store.take_rate_slot("openai", 1, minute).await?;
    /// assert!(matches!(first, RateSlot::Taken { .. }));
    /// let second = store.take_rate_slot("openai", 1, minute).await?;
    /// assert!(matches!(second, RateSlot::Full { retry_in } if retry_in <= minute));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Store`].
    fn take_rate_slot<'a>(
        &'a self,
        key: &'a str,
        calls: u32,
        period: std::time::Duration,
    ) -> BoxFuture<'a, Result<RateSlot, Error>> {
        let _ = (key, calls, period);
        Box::pin(std::future::ready(Err(unsupported("take_rate_slot"))))
    }
}

/// The error of a store that does not implement `method`.
fn unsupported(method: &str) -> Error {
    Error::Store {
        store: "custom",
        source: format!(
            "this checkpoint store does not implement `CheckpointStore::{method}`, which workers, \
             cancelling by id and shared rate limits need; use `MemoryStore`, `SqliteStore` or \
             `PostgresStore`, or implement it"
        )
        .into(),
    }
}
