//! [`Held`]: a lease this worker holds on a run, through which it writes the run's
//! checkpoints; [`Checkpoints`], which saves the state after each step (with the events the
//! run emitted since the last one), and what saves each finished branch of a fan-out or a map.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::codec::Definition;
use super::memo::Memo;
use crate::context::{ChildStep, WaitingChild};
use crate::error::Error;
use crate::event::Journal;
use crate::future::BoxFuture;
use crate::run::Saver;
use crate::scope::Recorder;
use crate::state::Loops;
use crate::store::{
    BranchRecord, CallRecord, Checkpoint, CheckpointStore, ChildRecord, Lease, NewEvent, RunId,
    RunStatus, END, FORMAT_VERSION,
};
use crate::usage::{SavedUsage, UsageReport};

/// A lease on a run, held by this worker: the run's writer.
pub(crate) struct Held {
    pub(super) store: Arc<dyn CheckpointStore>,
    run: RunId,
    pub(super) lease: Lease,
    /// The number of the run's latest checkpoint. The driver saves one checkpoint at a time,
    /// after each step, and the branches of a step's fan-out or map finish before the step
    /// does, so a plain number is enough: the store's compare-and-set on it, not a lock here,
    /// is what keeps two writers from forking the run.
    version: AtomicU64,
    /// Whether the lease was given up, by saving a suspended or finished checkpoint.
    released: AtomicBool,
    /// The length of the last state saved: the capacity the next one is written into, so
    /// that a large state is not copied again each time its buffer grows.
    size: AtomicUsize,
    /// What the run had spent when this worker took it up: where its ledger starts.
    spent: SavedUsage,
    /// The calls the step in flight recorded.
    pub(super) memo: Mutex<Memo>,
}

impl Held {
    pub(crate) fn new(
        store: Arc<dyn CheckpointStore>,
        run: RunId,
        lease: Lease,
        version: u64,
        spent: SavedUsage,
    ) -> Arc<Self> {
        Arc::new(Held {
            store,
            run,
            lease,
            version: AtomicU64::new(version),
            released: AtomicBool::new(false),
            size: AtomicUsize::new(0),
            spent,
            memo: Mutex::new(Memo::new(version)),
        })
    }

    pub(crate) fn run(&self) -> RunId {
        self.run
    }

    /// Tells the lease that this worker created its run: no step of it has recorded
    /// anything yet.
    pub(crate) fn created(self: Arc<Self>) -> Arc<Self> {
        *self.memo.lock().unwrap_or_else(PoisonError::into_inner) = Memo::created();
        self
    }

    /// The number of the run's latest checkpoint, as this lease has read or written it.
    pub(crate) fn version(&self) -> u64 {
        self.version.load(Ordering::Relaxed)
    }

    /// What the run had spent when this worker took it up: nothing for a run it created,
    /// what the checkpoint it resumed from says otherwise.
    pub(crate) fn spent(&self) -> &SavedUsage {
        &self.spent
    }

    /// Saves `checkpoint` before the run goes on, as the run's next one: its `seq` is set here,
    /// and its usage is what the run had spent when this worker took it up (no step has run
    /// since).
    ///
    /// # Errors
    ///
    /// What the store returns: [`Error::LeaseLost`] and [`Error::VersionConflict`] if
    /// another worker has taken the run over.
    pub(crate) async fn save(&self, mut checkpoint: Checkpoint) -> Result<(), Error> {
        checkpoint.usage = self.spent.clone();
        self.write(checkpoint, Vec::new(), None).await
    }

    /// The store's future that saves `checkpoint` as the run's next checkpoint, with `events`
    /// appended to the run's log in the same write, without a future of its own around it
    /// for a checkpoint of a running run.
    ///
    /// The version is counted before the write ends: a write that fails stops the run (the
    /// driver returns its error, and nothing but [`release`](Self::release) follows), so the
    /// count is never read after a failed write. A checkpoint that ends the run (suspended,
    /// finished) gives up the lease only once the store says it is saved.
    /// With `received`, the write also takes that message off the run's queue.
    fn write(
        &self,
        mut checkpoint: Checkpoint,
        events: Vec<NewEvent>,
        received: Option<u64>,
    ) -> BoxFuture<'_, Result<(), Error>> {
        checkpoint.seq = self.version.fetch_add(1, Ordering::Relaxed) + 1;
        let running = checkpoint.status == RunStatus::Running;
        let saved = match (received, events.is_empty()) {
            (Some(message), _) => {
                self.store
                    .save_received(&self.lease, checkpoint, events, message)
            }
            (None, true) => self.store.save(&self.lease, checkpoint),
            (None, false) => self.store.save_logged(&self.lease, checkpoint, events),
        };
        if running {
            return saved;
        }
        Box::pin(async move {
            saved.await?;
            self.released.store(true, Ordering::Relaxed);
            Ok(())
        })
    }

    /// Suspends the run at its latest checkpoint, where a tool call of the step in flight
    /// waits for a human's approval, and gives up the lease; with the row of `child`, the
    /// child run in the state whose first step that is, if there is one (under the child
    /// runs with rows it runs under).
    ///
    /// # Errors
    ///
    /// The store's: [`Error::LeaseLost`] if the run is no longer this worker's.
    pub(crate) async fn suspend(&self, child: Option<WaitingChild>) -> Result<(), Error> {
        let (run, version) = (self.run, self.version());
        let child = child.map(|waiting| {
            let parent = waiting.under.iter().fold(run, |parent, &(step, started)| {
                RunId::child(parent, step, started)
            });
            (parent, child_record(parent, waiting.child))
        });
        self.store
            .suspend_at(&self.lease, run, version, child)
            .await?;
        self.released.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Creates the rows of `child`'s chain, the child runs in flight at the run's latest
    /// checkpoint, that have none
    /// ([`CheckpointStore::create_children`](crate::store::CheckpointStore::create_children)).
    ///
    /// # Errors
    ///
    /// The store's: [`Error::LeaseLost`] if the run is no longer this worker's.
    pub(crate) async fn create_children(&self, child: ChildStep) -> Result<(), Error> {
        let record = child_record(self.run, child);
        let version = self.version();
        self.store
            .create_children(&self.lease, self.run, version, record)
            .await
    }

    /// Saves `checkpoint` (the state the run waits in, running again) as the run's next
    /// checkpoint, with the calls its step recorded so far and `call`, the decision on one of
    /// them: the step, run again, finds them all.
    ///
    /// # Errors
    ///
    /// As [`save`](Self::save).
    pub(crate) async fn save_carried(
        &self,
        mut checkpoint: Checkpoint,
        call: CallRecord,
    ) -> Result<(), Error> {
        checkpoint.usage = self.spent.clone();
        checkpoint.seq = self.version.fetch_add(1, Ordering::Relaxed) + 1;
        self.store
            .save_carried(&self.lease, checkpoint, call)
            .await?;
        // The records were written by the store, not by this lease: read them from there.
        *self.memo.lock().unwrap_or_else(PoisonError::into_inner) = Memo::new(self.version());
        Ok(())
    }

    /// Saves a branch of the fan-out or map the latest checkpoint is running, which has just
    /// finished.
    ///
    /// # Errors
    ///
    /// As [`save`](Self::save).
    fn save_branch(&self, branch: BranchRecord) -> BoxFuture<'_, Result<(), Error>> {
        let version = self.version.load(Ordering::Relaxed);
        self.store
            .save_branch(&self.lease, self.run, version, branch)
    }

    /// Records what the run spent by now, `usage` (its report), on its latest checkpoint,
    /// when it stops with an error: a run resumed from that checkpoint then counts what the
    /// failed step spent. Best effort, like [`release`](Self::release): if the store cannot
    /// be reached, the run counts from what its latest checkpoint saved.
    pub(crate) async fn save_usage(&self, usage: Option<&UsageReport>) {
        let Some(usage) = usage
            .map(SavedUsage::from)
            .filter(|usage| !usage.is_empty())
        else {
            return;
        };
        let (run, version) = (self.run, self.version());
        let _ = self
            .store
            .save_usage(&self.lease, run, version, usage)
            .await;
    }

    /// Appends `events`, emitted after the run's last checkpoint, to its event log. Best
    /// effort, like [`release`](Self::release): if the store cannot be reached, they are lost,
    /// as they would be had the process crashed.
    pub(crate) async fn log(&self, events: Vec<NewEvent>) {
        if !events.is_empty() {
            let _ = self.store.append_events(self.run, events).await;
        }
    }

    /// Extends the lease. A failure to reach the store is ignored: the lease still runs for
    /// a while, and the next renewal or write tries again.
    ///
    /// # Errors
    ///
    /// [`Error::LeaseLost`] or [`Error::RunNotFound`]: the run is no longer this worker's;
    /// [`Error::RunCancelled`]: it was cancelled by id, and must stop.
    pub(crate) async fn renew(&self) -> Result<(), Error> {
        match self.store.renew(self.run, &self.lease).await {
            Err(
                error @ (Error::LeaseLost { .. }
                | Error::RunNotFound { .. }
                | Error::RunCancelled { .. }),
            ) => Err(error),
            _ => Ok(()),
        }
    }

    /// Renews the lease every `every` until it is lost or the run is cancelled; returns the
    /// error that says so.
    pub(crate) async fn keep(self: Arc<Self>, every: Duration) -> Error {
        loop {
            tokio::time::sleep(every).await;
            if let Err(error) = self.renew().await {
                return error;
            }
        }
    }

    /// Lets go of a lease that is no longer this worker's, without writing anything.
    pub(crate) fn abandon(&self) {
        self.released.store(true, Ordering::Relaxed);
    }

    /// Gives up the lease of a run that sleeps until `until`
    /// ([`CheckpointStore::release_until`](crate::store::CheckpointStore::release_until)), for
    /// a worker to pick it up then. Best effort: if the store cannot be reached, the lease
    /// expires, and the worker that takes the run finds it asleep and puts it aside again.
    pub(crate) async fn sleep(&self, until: SystemTime) {
        if !self.released.swap(true, Ordering::Relaxed) {
            let _ = self.store.release_until(self.run, &self.lease, until).await;
        }
    }

    /// Gives up the lease of a run that waits for a message of signal `signal`
    /// ([`CheckpointStore::release_awaiting`](crate::store::CheckpointStore::release_awaiting)),
    /// for a worker to pick it up once one is sent. Best effort, as [`sleep`](Self::sleep).
    pub(crate) async fn await_signal(&self, signal: &str) {
        if !self.released.swap(true, Ordering::Relaxed) {
            let _ = self
                .store
                .release_awaiting(self.run, &self.lease, signal)
                .await;
        }
    }

    /// The oldest message queued for the run under signal `signal`.
    ///
    /// # Errors
    ///
    /// The store's; [`Error::CorruptCheckpoint`] for a message that is not JSON.
    pub(crate) async fn next_signal(
        &self,
        signal: &str,
    ) -> Result<Option<(u64, serde_json::Value)>, Error> {
        let Some((message, text)) = self.store.next_signal(self.run, signal).await? else {
            return Ok(None);
        };
        let value = serde_json::from_str(&text).map_err(|error| Error::CorruptCheckpoint {
            run: Some(self.run),
            seq: None,
            reason: format!("message {message} of signal `{signal}` is not JSON"),
            source: Some(Box::new(error)),
        })?;
        Ok(Some((message, value)))
    }

    /// Gives up the lease, unless a checkpoint already did, recording `error` as why the run
    /// stopped if there is one. Best effort: if the store cannot be reached, the lease
    /// expires on its own.
    pub(crate) async fn release(&self, error: Option<String>) {
        if !self.released.swap(true, Ordering::Relaxed) {
            let _ = self.store.release(self.run, &self.lease, error).await;
        }
    }
}

/// A lease dropped without being given up (the run's future was dropped: a timeout, a
/// `select!`, a task aborted) is given up in a task of its own, so that the run can be resumed
/// at once rather than when the lease expires. Best effort: outside a Tokio runtime, or if the
/// store cannot be reached, the lease expires on its own.
impl Drop for Held {
    fn drop(&mut self) {
        if *self.released.get_mut() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (store, run, lease) = (Arc::clone(&self.store), self.run, self.lease.clone());
        runtime.spawn(async move {
            let _ = store.release(run, &lease, None).await;
        });
    }
}

/// Saves a run's state after each step, and each branch of a fan-out or a map as soon as it
/// finishes, through the lease `held`.
pub(crate) struct Checkpoints<S> {
    pub(crate) held: Arc<Held>,
    pub(crate) definition: Definition<S>,
    /// The events the run emitted since its last checkpoint, saved with the next one (none
    /// if its runner logs no events).
    pub(crate) journal: Option<Arc<Journal>>,
    /// The checkpoint that ends the run (finished, or suspended at a pause), kept back until
    /// the run has emitted its last events, so that one write saves both
    /// ([`ending`](Self::ending)).
    pub(crate) ending: Mutex<Option<Checkpoint>>,
}

impl<S> Saver<S> for Checkpoints<S>
where
    S: Serialize + DeserializeOwned + Send + 'static,
{
    fn save<'a>(
        &'a self,
        state: &'a S,
        loops: &'a Loops,
        usage: SavedUsage,
        child: Option<ChildStep>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        self.write(state, loops, usage, None, child)
    }

    fn version(&self) -> u64 {
        self.held.version()
    }

    fn save_ending(&self) -> BoxFuture<'_, Result<(), Error>> {
        let ending = self
            .ending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match ending {
            Some(checkpoint) => {
                let events = self.journal.as_ref().map(|journal| journal.take());
                self.held
                    .write(checkpoint, events.unwrap_or_default(), None)
            }
            None => Box::pin(std::future::ready(Ok(()))),
        }
    }

    fn receive(
        &self,
        signal: &'static str,
    ) -> BoxFuture<'_, Result<Option<(u64, serde_json::Value)>, Error>> {
        Box::pin(self.held.next_signal(signal))
    }

    fn save_received<'a>(
        &'a self,
        state: &'a S,
        loops: &'a Loops,
        usage: SavedUsage,
        message: u64,
    ) -> BoxFuture<'a, Result<(), Error>> {
        self.write(state, loops, usage, Some(message), None)
    }
}

impl<S: Serialize + DeserializeOwned + Send + 'static> Checkpoints<S> {
    /// Saves `state` as the run's next checkpoint, taking message `received` off its queue if
    /// given, with the step `child` took.
    fn write<'a>(
        &'a self,
        state: &'a S,
        loops: &'a Loops,
        usage: SavedUsage,
        received: Option<u64>,
        child: Option<ChildStep>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        // Encoded here, so that the future does not hold the state.
        let held = &self.held;
        let size = held.size.load(Ordering::Relaxed);
        match self
            .definition
            .encode_sized(held.run(), 0, state, loops, size)
        {
            Ok(mut checkpoint) => {
                held.size.store(checkpoint.state.len(), Ordering::Relaxed);
                checkpoint.usage = usage;
                checkpoint.child = child.map(|child| Box::new(child_record(held.run(), child)));
                if checkpoint.status != RunStatus::Running && received.is_none() {
                    // No step runs after it: the run only ends, and its events come next.
                    *self.ending.lock().unwrap_or_else(PoisonError::into_inner) = Some(checkpoint);
                    return Box::pin(std::future::ready(Ok(())));
                }
                let events = self.journal.as_ref().map(|journal| journal.take());
                held.write(checkpoint, events.unwrap_or_default(), received)
            }
            Err(error) => Box::pin(std::future::ready(Err(error))),
        }
    }
}

/// What the checkpoint of run `parent` saves of the step `child` took: the child run's
/// record, under the id [`RunId::child`] gives it, with its own child run's, at any depth.
pub(super) fn child_record(parent: RunId, child: ChildStep) -> ChildRecord {
    let run = RunId::child(parent, child.parent_step, child.started);
    let finished = child.step == END;
    let status = match (finished, child.paused) {
        (true, _) => RunStatus::Finished,
        (false, true) => RunStatus::Suspended,
        (false, false) => RunStatus::Running,
    };
    ChildRecord {
        parent_step: child.parent_step.to_owned(),
        started: child.started,
        checkpoint: Checkpoint {
            run,
            seq: child.seq,
            workflow: child.workflow.into(),
            fingerprint: child.fingerprint,
            format: FORMAT_VERSION,
            step: child.step.into(),
            status,
            state: child.state,
            loops: child.loops,
            created_at: SystemTime::now(),
            usage: SavedUsage::default(),
            branches: Vec::new(),
            child: child
                .child
                .map(|grandchild| Box::new(child_record(run, *grandchild))),
        },
    }
}

impl Recorder for Held {
    fn record(
        &self,
        index: usize,
        value: serde_json::Value,
        usage: SavedUsage,
    ) -> BoxFuture<'_, Result<(), Error>> {
        let branch = BranchRecord {
            index: u32::try_from(index).unwrap_or(u32::MAX),
            value: value.to_string(),
            usage,
        };
        self.save_branch(branch)
    }

    fn recall<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<String>, Error>> {
        self.recall_call(key)
    }

    fn remember(&self, key: String, value: String) -> BoxFuture<'_, Result<(), Error>> {
        self.remember_call(key, value)
    }

    fn occurrence(&self, key: &str) -> u32 {
        self.count_call(key)
    }

    fn restart(&self, prefix: &str) {
        self.restart_calls(prefix);
    }
}
