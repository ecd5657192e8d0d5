//! [`MemoryStore`]: runs kept in the process's memory.

mod children;
mod rate;
mod runs;
mod signals;

use std::collections::BTreeMap;
use std::future::ready;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use super::queue::{limited, with_room, CANCELLED};
use super::{
    answer, BranchRecord, CallRecord, Cancel, Checkpoint, CheckpointStore, ChildRecord, Lease,
    LoggedEvent, NewEvent, NewRun, RateSlot, Retention, RunFilter, RunId, RunInfo, RunList,
    RunStatus, WorkflowType,
};
use crate::definition::WorkflowDefinition;
use crate::error::Error;
use crate::future::BoxFuture;
use crate::usage::SavedUsage;
use rate::Rates;
use runs::{Entry, Runs, Written};

/// A [`CheckpointStore`] in the process's memory: for tests, and for runs that need pauses
/// and history but not to survive the process.
///
/// It follows the same rules as the database stores (leases, compare-and-set), so a test on
/// it shows how a run behaves on them. Clones of an `Arc<MemoryStore>` share the runs.
///
/// ```
/// use std::sync::Arc;
/// use workflow_runtime::{MemoryStore, Runner};
///
/// let runner = Runner::new(Arc::new(MemoryStore::new()));
/// # let _ = runner;
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    runs: Mutex<Runs>,
    /// The workflow definitions recorded, by name and fingerprint.
    definitions: Mutex<BTreeMap<(String, u64), WorkflowDefinition>>,
    /// The rate limits taken places in, by key: in this process only.
    rates: Mutex<Rates>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Runs> {
        self.runs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on run `run` under the lock; the returned future is ready at once.
    fn with<T: Send + 'static>(
        &self,
        run: RunId,
        f: impl FnOnce(&mut Entry, SystemTime) -> Result<T, Error>,
    ) -> BoxFuture<'_, Result<T, Error>> {
        Box::pin(ready(self.apply(run, f)))
    }

    /// [`with`](Self::with) for a write, whose future is zero-sized when it succeeds: a
    /// checkpoint allocates nothing here but what the store keeps.
    fn write(
        &self,
        run: RunId,
        f: impl FnOnce(&mut Entry, SystemTime) -> Result<(), Error>,
    ) -> BoxFuture<'_, Result<(), Error>> {
        match self.apply(run, f) {
            Ok(()) => Box::pin(Written),
            Err(error) => Box::pin(ready(Err(error))),
        }
    }

    /// [`write`](Self::write) of `checkpoint`, through `f`, saving the child run it carries
    /// once `f` succeeded, under the same lock.
    fn write_checkpoint(
        &self,
        mut checkpoint: Checkpoint,
        f: impl FnOnce(&mut Entry, Checkpoint, SystemTime) -> Result<(), Error>,
    ) -> BoxFuture<'_, Result<(), Error>> {
        let (run, child) = (checkpoint.run, checkpoint.child.take());
        let now = SystemTime::now();
        let mut runs = self.lock();
        let written = match runs.get_mut(run) {
            Some(entry) => {
                let was = entry.info.status;
                f(entry, checkpoint, now).map(|()| (was, entry.info.status))
            }
            None => Err(Error::RunNotFound { run }),
        };
        match (written, child) {
            // A parent that goes on from a pause (it was answered) takes its waiting child
            // with it.
            (Ok((RunStatus::Suspended, RunStatus::Running)), None) => {
                let resumed = (RunStatus::Suspended, RunStatus::Running);
                children::follow(&mut runs, run, resumed, now);
                Box::pin(Written)
            }
            (Ok(_), None) => Box::pin(Written),
            (Ok(_), Some(child)) => {
                children::save(&mut runs, run, *child, now);
                Box::pin(Written)
            }
            (Err(error), _) => Box::pin(ready(Err(error))),
        }
    }

    /// Ends the child runs of run `run` still in flight, if it ended as failed or cancelled.
    fn end_children(&self, run: RunId) {
        let mut runs = self.lock();
        let Some(entry) = runs.get_mut(run) else {
            return;
        };
        let (status, error) = (entry.info.status, entry.info.error.clone());
        if matches!(status, RunStatus::Failed | RunStatus::Cancelled) {
            let error = error.unwrap_or_default();
            children::end(&mut runs, run, status, &error, SystemTime::now());
        }
    }

    fn apply<T>(
        &self,
        run: RunId,
        f: impl FnOnce(&mut Entry, SystemTime) -> Result<T, Error>,
    ) -> Result<T, Error> {
        match self.lock().get_mut(run) {
            Some(entry) => f(entry, SystemTime::now()),
            None => Err(Error::RunNotFound { run }),
        }
    }
}

impl CheckpointStore for MemoryStore {
    fn create(&self, run: NewRun) -> BoxFuture<'_, Result<(), Error>> {
        let now = SystemTime::now();
        let mut first = run.first;
        let child = first.child.take();
        let mut entry = Entry::new(RunInfo::created(&first, run.parent));
        entry.take(run.lease.as_ref(), now);
        entry.checkpoints.push_back(first);
        let mut runs = self.lock();
        let id = entry.info.id;
        if runs.contains(id) {
            return Box::pin(ready(Err(Error::RunExists { run: id })));
        }
        runs.insert(entry);
        // A child its first state waits in, before any step of it: its row comes with the run.
        if let Some(child) = child {
            children::save(&mut runs, id, *child, now);
        }
        Box::pin(ready(Ok(())))
    }

    fn claim<'a>(
        &'a self,
        run: RunId,
        lease: &'a Lease,
    ) -> BoxFuture<'a, Result<(RunInfo, Checkpoint), Error>> {
        self.with(run, |entry, now| {
            if entry.info.status == RunStatus::Cancelled {
                return Err(Error::RunCancelled { run });
            }
            if let (Some(owner), Some(expires)) = (&entry.info.owner, entry.info.lease_expires) {
                if let Ok(expires_in) = expires.duration_since(now) {
                    if !expires_in.is_zero() {
                        let owner = owner.clone();
                        return Err(Error::RunOwned {
                            run,
                            owner,
                            expires_in,
                        });
                    }
                }
            }
            entry.take(Some(lease), now);
            Ok((entry.info(), entry.latest()?))
        })
    }

    fn renew<'a>(&'a self, run: RunId, lease: &'a Lease) -> BoxFuture<'a, Result<(), Error>> {
        self.write(run, |entry, now| {
            entry.check_live(lease)?;
            entry.info.lease_expires = Some(lease.expires_at(now));
            Ok(())
        })
    }

    fn save<'a>(
        &'a self,
        lease: &'a Lease,
        checkpoint: Checkpoint,
    ) -> BoxFuture<'a, Result<(), Error>> {
        self.write_checkpoint(checkpoint, |entry, checkpoint, now| {
            save(entry, lease, checkpoint, now)
        })
    }

    fn save_logged<'a>(
        &'a self,
        lease: &'a Lease,
        checkpoint: Checkpoint,
        events: Vec<NewEvent>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        self.write_checkpoint(checkpoint, |entry, checkpoint, now| {
            save(entry, lease, checkpoint, now)?;
            entry.log(events);
            Ok(())
        })
    }

    fn append_events(&self, run: RunId, events: Vec<NewEvent>) -> BoxFuture<'_, Result<(), Error>> {
        self.write(run, |entry, _| {
            entry.log(events);
            Ok(())
        })
    }

    fn events(
        &self,
        run: RunId,
        from: u64,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<LoggedEvent>, Error>> {
        self.with(run, |entry, _| {
            let from = usize::try_from(from).unwrap_or(usize::MAX);
            let page = entry.events.iter().skip(from).take(limit as usize);
            Ok(page.cloned().collect())
        })
    }

    fn latest_events(
        &self,
        run: RunId,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<LoggedEvent>, Error>> {
        self.with(run, |entry, _| {
            let skip = entry.events.len().saturating_sub(limit as usize);
            Ok(entry.events[skip..].to_vec())
        })
    }

    fn save_branch<'a>(
        &'a self,
        lease: &'a Lease,
        run: RunId,
        seq: u64,
        branch: BranchRecord,
    ) -> BoxFuture<'a, Result<(), Error>> {
        self.write(run, |entry, now| {
            entry.check_live(lease)?;
            entry.latest_mut(seq)?.branches.push(branch);
            entry.info.lease_expires = Some(lease.expires_at(now));
            entry.info.updated_at = now;
            Ok(())
        })
    }

    fn save_call<'a>(
        &'a self,
        lease: &'a Lease,
        run: RunId,
        seq: u64,
        call: CallRecord,
    ) -> BoxFuture<'a, Result<(), Error>> {
        self.write(run, |entry, _| {
            entry.check_live(lease)?;
            entry.latest_mut(seq)?;
            entry.calls.entry((seq, call.key)).or_insert(call.value);
            Ok(())
        })
    }

    fn suspend_at<'a>(
        &'a self,
        lease: &'a Lease,
        run: RunId,
        seq: u64,
        child: Option<(RunId, ChildRecord)>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let mut runs = self.lock();
        let suspended = match runs.get_mut(run) {
            Some(entry) => entry.check(lease).and_then(|()| {
                let now = SystemTime::now();
                entry.latest_mut(seq)?;
                entry.take(None, now);
                (entry.wake_at, entry.signals.awaiting) = (None, None);
                match entry.cancel_requested {
                    true => entry.cancelled(now),
                    false => {
                        entry.info.status = RunStatus::Suspended;
                        entry.info.updated_at = now;
                    }
                }
                Ok((entry.info.status, entry.info.error.clone(), now))
            }),
            None => Err(Error::RunNotFound { run }),
        };
        // Its child in flight, whose tool call waits for the approval, waits with it (or
        // ends with it, cancelled): with its row, if that is its first step.
        if let (Ok((_, _, now)), Some((parent, child))) = (&suspended, child) {
            children::save(&mut runs, parent, child, *now);
        }
        match suspended {
            Ok((RunStatus::Suspended, _, now)) => {
                let waiting = (RunStatus::Running, RunStatus::Suspended);
                children::follow(&mut runs, run, waiting, now);
                Box::pin(Written)
            }
            Ok((status, error, now)) => {
                let error = error.unwrap_or_default();
                children::end(&mut runs, run, status, &error, now);
                Box::pin(Written)
            }
            Err(error) => Box::pin(ready(Err(error))),
        }
    }

    fn create_children<'a>(
        &'a self,
        lease: &'a Lease,
        run: RunId,
        seq: u64,
        child: ChildRecord,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let mut runs = self.lock();
        let checked = match runs.get_mut(run) {
            Some(entry) => entry
                .check(lease)
                .and_then(|()| entry.latest_mut(seq).map(|_| ())),
            None => Err(Error::RunNotFound { run }),
        };
        if checked.is_ok() {
            children::create(&mut runs, run, child);
        }
        Box::pin(ready(checked))
    }

    fn save_carried<'a>(
        &'a self,
        lease: &'a Lease,
        checkpoint: Checkpoint,
        call: CallRecord,
    ) -> BoxFuture<'a, Result<(), Error>> {
        self.write_checkpoint(checkpoint, |entry, checkpoint, now| {
            let seq = checkpoint.seq;
            save(entry, lease, checkpoint, now)?;
            let from = (seq.wrapping_sub(1), String::new());
            let carried: Vec<(String, String)> = entry
                .calls
                .range(from..)
                .take_while(|((at, _), _)| *at == seq.wrapping_sub(1))
                .map(|((_, key), value)| (key.clone(), value.clone()))
                .collect();
            for (key, value) in carried.into_iter().chain([(call.key, call.value)]) {
                entry.calls.entry((seq, key)).or_insert(value);
            }
            Ok(())
        })
    }

    fn calls(&self, run: RunId, seq: u64) -> BoxFuture<'_, Result<Vec<CallRecord>, Error>> {
        self.with(run, |entry, _| {
            let from = (seq, String::new());
            let calls = entry
                .calls
                .range(from..)
                .take_while(|((at, _), _)| *at == seq);
            let calls = calls.map(|((_, key), value)| CallRecord {
                key: key.clone(),
                value: value.clone(),
            });
            Ok(calls.collect())
        })
    }

    fn save_usage<'a>(
        &'a self,
        lease: &'a Lease,
        run: RunId,
        seq: u64,
        usage: SavedUsage,
    ) -> BoxFuture<'a, Result<(), Error>> {
        self.write(run, |entry, _| {
            entry.check(lease)?;
            entry.latest_mut(seq)?.usage = usage;
            Ok(())
        })
    }

    fn release<'a>(
        &'a self,
        run: RunId,
        lease: &'a Lease,
        error: Option<String>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let released = self.apply(run, |entry, now| {
            entry.check(lease)?;
            entry.take(None, now);
            (entry.wake_at, entry.signals.awaiting) = (None, None);
            if entry.cancel_requested {
                entry.cancelled(now);
            } else if let Some(error) = error {
                entry.info.status = RunStatus::Failed;
                entry.info.error = Some(error);
                entry.info.updated_at = now;
            }
            Ok(())
        });
        if released.is_ok() {
            self.end_children(run);
        }
        Box::pin(ready(released))
    }

    fn release_until<'a>(
        &'a self,
        run: RunId,
        lease: &'a Lease,
        wake_at: SystemTime,
    ) -> BoxFuture<'a, Result<(), Error>> {
        self.write(run, move |entry, now| {
            entry.check(lease)?;
            entry.take(None, now);
            (entry.wake_at, entry.signals.awaiting) = (Some(wake_at), None);
            if entry.cancel_requested {
                entry.cancelled(now);
            }
            Ok(())
        })
    }

    fn release_awaiting<'a>(
        &'a self,
        run: RunId,
        lease: &'a Lease,
        signal: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>> {
        self.write(run, move |entry, now| {
            entry.check(lease)?;
            entry.take(None, now);
            (entry.wake_at, entry.signals.awaiting) = (None, Some(signal.to_owned()));
            if entry.cancel_requested {
                entry.cancelled(now);
            }
            Ok(())
        })
    }

    fn send_signal<'a>(
        &'a self,
        run: RunId,
        signal: &'a str,
        value: String,
    ) -> BoxFuture<'a, Result<u64, Error>> {
        self.with(run, move |entry, _| Ok(entry.signals.push(signal, value)))
    }

    fn next_signal<'a>(
        &'a self,
        run: RunId,
        signal: &'a str,
    ) -> BoxFuture<'a, Result<Option<(u64, String)>, Error>> {
        self.with(run, move |entry, _| Ok(entry.signals.first(signal)))
    }

    fn save_received<'a>(
        &'a self,
        lease: &'a Lease,
        checkpoint: Checkpoint,
        events: Vec<NewEvent>,
        message: u64,
    ) -> BoxFuture<'a, Result<(), Error>> {
        self.write_checkpoint(checkpoint, move |entry, checkpoint, now| {
            let (run, version) = (entry.info.id, entry.info.version);
            if !entry.signals.holds(message) {
                return Err(Error::VersionConflict {
                    run,
                    expected: version,
                    found: version,
                });
            }
            save(entry, lease, checkpoint, now)?;
            entry.signals.take(message, run, version)?;
            // It has its message: it waits for nothing now, even if its worker dies.
            entry.signals.awaiting = None;
            entry.log(events);
            Ok(())
        })
    }

    fn run(&self, run: RunId) -> BoxFuture<'_, Result<RunInfo, Error>> {
        self.with(run, |entry, _| Ok(entry.info()))
    }

    fn list(&self, filter: RunFilter) -> BoxFuture<'_, Result<RunList, Error>> {
        let limit = filter.limit.map_or(usize::MAX, |limit| limit as usize);
        let runs = self.lock();
        let infos = runs
            .after(filter.after)
            .filter(|entry| filter.matches(&entry.info))
            .take(limit)
            .map(|entry| {
                let spent = entry
                    .checkpoints
                    .back()
                    .map(|latest| latest.usage_so_far().total);
                Ok(RunInfo {
                    spent,
                    ..entry.info()
                })
            })
            .collect();
        Box::pin(ready(Ok(infos)))
    }

    fn history_page(
        &self,
        run: RunId,
        from: u64,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<Checkpoint>, Error>> {
        self.with(run, |entry, _| {
            let skip = entry.index(from).unwrap_or(0);
            let page = entry.checkpoints.iter().skip(skip).take(limit as usize);
            Ok(page.cloned().collect())
        })
    }

    fn prune(&self, run: RunId, keep: u64) -> BoxFuture<'_, Result<u64, Error>> {
        self.with(run, |entry, _| {
            let keep = usize::try_from(keep.max(1)).unwrap_or(usize::MAX);
            let gone = entry.checkpoints.len().saturating_sub(keep);
            entry.checkpoints.drain(..gone);
            // The calls of the steps that are over are never read again.
            let version = entry.info.version;
            entry.calls.retain(|(seq, _), _| *seq >= version);
            Ok(gone as u64)
        })
    }

    fn delete_runs(&self, retention: Retention) -> BoxFuture<'_, Result<u64, Error>> {
        let now = SystemTime::now();
        let gone = children::delete(&mut self.lock(), |entry| {
            retention.matches(&entry.info, now)
        });
        Box::pin(ready(Ok(gone as u64)))
    }

    fn checkpoint(&self, run: RunId, seq: Option<u64>) -> BoxFuture<'_, Result<Checkpoint, Error>> {
        self.with(run, |entry, _| match seq {
            Some(seq) => entry.get(seq),
            None => entry.latest(),
        })
    }

    fn claim_next<'a>(
        &'a self,
        types: &'a [WorkflowType],
        lease: &'a Lease,
    ) -> BoxFuture<'a, Result<Option<(RunInfo, Checkpoint)>, Error>> {
        let now = SystemTime::now();
        let mut runs = self.lock();
        // The runs asked to stop whose worker died, with their children in flight.
        let mut swept = Vec::new();
        runs.each_mut(|entry| {
            if entry.sweep(now) {
                swept.push(entry.info.id);
            }
        });
        for run in swept {
            children::end(&mut runs, run, RunStatus::Cancelled, CANCELLED, now);
        }
        let mut held: Vec<(String, u64)> = limited(types)
            .into_iter()
            .map(|name| (name.to_owned(), 0))
            .collect();
        runs.each_mut(|entry| {
            let count = held
                .iter_mut()
                .find(|(name, _)| *name == entry.info.workflow);
            if let Some((_, runs)) = count.filter(|_| entry.holds_lease(now)) {
                *runs += 1;
            }
        });
        let types = &with_room(types, &held);
        let served = |entry: &Entry| {
            let info = &entry.info;
            entry.runnable(now)
                && types
                    .iter()
                    .any(|t| t.matches(&info.workflow, info.fingerprint))
        };
        // Answered runs first, as the database stores take them.
        let answered = runs
            .find_mut(|entry| entry.answered() && served(entry))
            .map(|entry| entry.info.id);
        let next = match answered {
            Some(run) => runs.get_mut(run),
            None => runs.find_mut(served),
        };
        let claimed = next.map(|entry| {
            entry.take(Some(lease), now);
            Ok((entry.info(), entry.latest()?))
        });
        Box::pin(ready(claimed.transpose()))
    }

    fn save_definition(&self, definition: WorkflowDefinition) -> BoxFuture<'_, Result<(), Error>> {
        let mut definitions = self
            .definitions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let key = (definition.name.clone(), definition.fingerprint);
        definitions.entry(key).or_insert(definition);
        Box::pin(ready(Ok(())))
    }

    fn definition<'a>(
        &'a self,
        name: &'a str,
        fingerprint: u64,
    ) -> BoxFuture<'a, Result<Option<WorkflowDefinition>, Error>> {
        let definitions = self
            .definitions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let found = definitions.get(&(name.to_owned(), fingerprint)).cloned();
        Box::pin(ready(Ok(found)))
    }

    fn record_answer(
        &self,
        run: RunId,
        seq: u64,
        value: String,
    ) -> BoxFuture<'_, Result<(), Error>> {
        self.with(run, |entry, _| {
            let at = (entry.info.status, entry.info.version);
            let recorded = entry.answer.as_ref().filter(|(at, _)| *at == seq);
            let recorded = recorded.map(|(_, value)| value.as_str());
            match answer::refusal(run, at, seq, recorded, &value) {
                Some(error) => Err(error),
                None => {
                    entry.answer = Some((seq, value));
                    Ok(())
                }
            }
        })
    }

    fn recorded_answer(
        &self,
        run: RunId,
        seq: u64,
    ) -> BoxFuture<'_, Result<Option<String>, Error>> {
        let recorded = self.apply(run, |entry, _| {
            let answer = entry.answer.as_ref().filter(|(at, _)| *at == seq);
            Ok(answer.map(|(_, value)| value.clone()))
        });
        Box::pin(ready(recorded.or(Ok(None))))
    }

    fn discard_answer(&self, run: RunId, seq: u64) -> BoxFuture<'_, Result<(), Error>> {
        let _ = self.apply(run, |entry, _| {
            if entry.answer.as_ref().is_some_and(|(at, _)| *at == seq) {
                entry.answer = None;
            }
            Ok(())
        });
        Box::pin(ready(Ok(())))
    }

    fn take_rate_slot<'a>(
        &'a self,
        key: &'a str,
        calls: u32,
        period: Duration,
    ) -> BoxFuture<'a, Result<RateSlot, Error>> {
        let mut rates = self.rates.lock().unwrap_or_else(PoisonError::into_inner);
        Box::pin(ready(Ok(rates.take(key, calls, period))))
    }

    fn cancel(&self, run: RunId) -> BoxFuture<'_, Result<Cancel, Error>> {
        let cancelled = self.apply(run, |entry, now| {
            if entry.info.has_ended() {
                return Ok(Cancel::Ended(entry.info.status));
            }
            entry.cancel_requested = true;
            if entry.lease.is_some() && entry.info.is_owned(now) {
                return Ok(Cancel::Requested);
            }
            entry.take(None, now);
            entry.cancelled(now);
            Ok(Cancel::Cancelled)
        });
        if matches!(cancelled, Ok(Cancel::Cancelled)) {
            self.end_children(run);
        }
        Box::pin(ready(cancelled))
    }
}

/// Appends `checkpoint` to `entry` under `lease`, at `now`: see [`CheckpointStore::save`].
#[inline]
fn save(
    entry: &mut Entry,
    lease: &Lease,
    checkpoint: Checkpoint,
    now: SystemTime,
) -> Result<(), Error> {
    entry.check_live(lease)?;
    if checkpoint.seq != entry.info.version.wrapping_add(1) {
        return Err(Error::VersionConflict {
            run: entry.info.id,
            expected: checkpoint.seq.wrapping_sub(1),
            found: entry.info.version,
        });
    }
    let running = checkpoint.status == RunStatus::Running;
    entry.take(running.then_some(lease), now);
    entry.push(checkpoint, now);
    Ok(())
}
