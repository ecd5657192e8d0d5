//! The runs a [`MemoryStore`](super::MemoryStore) keeps: each found by its id with one hash
//! lookup (a write looks its run up every time), and listed in the order of their ids.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::future::Future;
use std::ops::Bound;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::SystemTime;

use uuid::Uuid;

use super::signals::Queue;
use crate::error::Error;
use crate::store::queue::CANCELLED;
use crate::store::{Awaits, Checkpoint, Lease, LoggedEvent, NewEvent, RunId, RunInfo, RunStatus};

/// Room for this many checkpoints is made when a run is created: a short run never moves them.
const CHECKPOINTS: usize = 16;

/// Every run, by id.
#[derive(Debug, Default)]
pub(super) struct Runs {
    /// Boxed, so that growing the table moves pointers, not runs. Hashed with foldhash, keyed
    /// per store: SipHash, the default, took 160 instructions per lookup, and every write
    /// looks its run up.
    by_id: HashMap<u128, Box<Entry>, foldhash::fast::RandomState>,
    /// The ids of `by_id`, in order, for listings.
    order: BTreeSet<u128>,
}

/// One run: what [`RunInfo`] shows, its lease, its checkpoints.
#[derive(Debug)]
pub(super) struct Entry {
    pub(super) info: RunInfo,
    pub(super) lease: Option<Uuid>,
    /// Whether the run was asked to stop while a worker held it.
    pub(super) cancel_requested: bool,
    /// When the run, asleep, may be picked up (`CheckpointStore::release_until`).
    pub(super) wake_at: Option<SystemTime>,
    /// Its messages, and the signal it waits for.
    pub(super) signals: Queue,
    /// The checkpoints kept, in order: numbered one after the other, from the first kept.
    pub(super) checkpoints: VecDeque<Checkpoint>,
    /// Its event log: entry `n` is at index `n`.
    pub(super) events: Vec<LoggedEvent>,
    /// The answer recorded for a pause, and the checkpoint that waits there.
    pub(super) answer: Option<(u64, String)>,
    /// The calls recorded by the steps in flight, by checkpoint and key.
    pub(super) calls: BTreeMap<(u64, String), String>,
}

/// Where run `run` is kept: its UUID as one number, read big-endian, so that the numbers sort
/// as the ids do.
fn key(run: RunId) -> u128 {
    run.as_uuid().as_u128()
}

impl Runs {
    pub(super) fn contains(&self, run: RunId) -> bool {
        self.by_id.contains_key(&key(run))
    }

    /// The first run, in the order of their ids, for which `pick` holds.
    pub(super) fn find_mut(&mut self, mut pick: impl FnMut(&Entry) -> bool) -> Option<&mut Entry> {
        let id = self
            .order
            .iter()
            .find(|id| self.by_id.get(id).is_some_and(|entry| pick(entry)))?;
        self.by_id.get_mut(&{ *id }).map(|entry| &mut **entry)
    }

    /// Runs `f` on every run.
    pub(super) fn each_mut(&mut self, mut f: impl FnMut(&mut Entry)) {
        self.by_id.values_mut().for_each(|entry| f(entry));
    }

    pub(super) fn get_mut(&mut self, run: RunId) -> Option<&mut Entry> {
        self.by_id.get_mut(&key(run)).map(|entry| &mut **entry)
    }

    /// Adds `entry`, in place of a run with the same id if there is one.
    pub(super) fn insert(&mut self, entry: Entry) {
        let id = key(entry.info.id);
        self.by_id.insert(id, Box::new(entry));
        self.order.insert(id);
    }

    /// The runs created after run `after` (every run if `None`), in order.
    pub(super) fn after(&self, after: Option<RunId>) -> impl Iterator<Item = &Entry> {
        let from = after.map_or(Bound::Unbounded, |after| Bound::Excluded(key(after)));
        self.order
            .range((from, Bound::Unbounded))
            .filter_map(|id| self.by_id.get(id).map(|entry| &**entry))
    }

    /// Deletes the runs `delete` says to; returns how many.
    pub(super) fn delete(&mut self, mut delete: impl FnMut(&Entry) -> bool) -> usize {
        let before = self.by_id.len();
        let order = &mut self.order;
        self.by_id.retain(|id, entry| {
            let gone = delete(entry);
            if gone {
                order.remove(id);
            }
            !gone
        });
        before - self.by_id.len()
    }
}

impl Entry {
    /// Run `info`, not leased yet, with no checkpoint.
    pub(super) fn new(info: RunInfo) -> Self {
        Entry {
            info,
            lease: None,
            cancel_requested: false,
            wake_at: None,
            signals: Queue::default(),
            checkpoints: VecDeque::with_capacity(CHECKPOINTS),
            events: Vec::new(),
            answer: None,
            calls: BTreeMap::new(),
        }
    }

    /// The run as [`CheckpointStore::run`](crate::store::CheckpointStore::run) shows it,
    /// with what it waits for.
    pub(super) fn info(&self) -> RunInfo {
        let awaits = match (self.wake_at, &self.signals.awaiting) {
            (Some(wake_at), _) => Some(Awaits::Time(wake_at)),
            (None, Some(signal)) => Some(Awaits::Signal(signal.clone())),
            (None, None) => None,
        };
        RunInfo {
            awaits,
            ..self.info.clone()
        }
    }

    /// Appends `checkpoint`, the run's next, at `now`: the run's row takes its number,
    /// status and step.
    #[inline]
    pub(super) fn push(&mut self, checkpoint: Checkpoint, now: SystemTime) {
        let info = &mut self.info;
        info.version = checkpoint.seq;
        info.status = checkpoint.status;
        // In place: the row's text is reused, as `clone_from` would.
        info.step.clear();
        info.step.push_str(&checkpoint.step);
        info.error = None;
        info.updated_at = now;
        self.checkpoints.push_back(checkpoint);
    }

    /// Appends `events` to the run's log.
    pub(super) fn log(&mut self, events: Vec<NewEvent>) {
        let next = self.events.len() as u64;
        let logged = (next..)
            .zip(events)
            .map(|(seq, event)| LoggedEvent::new(seq, event));
        self.events.extend(logged);
    }

    pub(super) fn check(&self, lease: &Lease) -> Result<(), Error> {
        match self.lease {
            Some(id) if id == lease.id => Ok(()),
            _ => Err(Error::LeaseLost { run: self.info.id }),
        }
    }

    /// [`check`](Self::check), for a write that goes on with the run: refused once it was
    /// asked to stop.
    pub(super) fn check_live(&self, lease: &Lease) -> Result<(), Error> {
        self.check(lease)?;
        match self.cancel_requested {
            true => Err(Error::RunCancelled { run: self.info.id }),
            false => Ok(()),
        }
    }

    /// Records the run as cancelled at `now`.
    pub(super) fn cancelled(&mut self, now: SystemTime) {
        self.info.status = RunStatus::Cancelled;
        self.info.error = Some(CANCELLED.into());
        self.info.updated_at = now;
    }

    /// Records the run as cancelled if it was asked to stop and its lease has expired at
    /// `now`: its worker died before it saw the request. Whether it did.
    pub(super) fn sweep(&mut self, now: SystemTime) -> bool {
        let running = self.info.status == RunStatus::Running;
        let swept = running && self.cancel_requested && !self.info.is_owned(now);
        if swept {
            self.take(None, now);
            self.cancelled(now);
        }
        swept
    }

    /// Whether the run is running under a lease that is live at `now`: it counts towards its
    /// workflow's limit.
    pub(super) fn holds_lease(&self, now: SystemTime) -> bool {
        self.info.status == RunStatus::Running && self.lease.is_some() && self.info.is_owned(now)
    }

    /// Whether a worker may pick the run up at `now` (see `CheckpointStore::claim_next`): a
    /// child run moves only with its parent.
    pub(super) fn runnable(&self, now: SystemTime) -> bool {
        (self.info.status == RunStatus::Running || self.answered())
            && self.info.parent_step.is_none()
            && !self.cancel_requested
            && !(self.lease.is_some() && self.info.is_owned(now))
            && self.wake_at.is_none_or(|wake_at| wake_at <= now)
            && self.signals.ready()
    }

    /// Whether the run waits at a pause with an answer recorded for it.
    pub(super) fn answered(&self) -> bool {
        let version = self.info.version;
        self.info.status == RunStatus::Suspended
            && self.answer.as_ref().is_some_and(|(seq, _)| *seq == version)
    }

    /// Leases the run to `lease` until [`Lease::expires_at`] `now`, or to nobody.
    pub(super) fn take(&mut self, lease: Option<&Lease>, now: SystemTime) {
        match lease {
            // A checkpoint of a running run renews the lease it is saved under.
            Some(lease) if self.lease == Some(lease.id) => {}
            _ => {
                self.lease = lease.map(|lease| lease.id);
                self.info.owner = lease.map(|lease| lease.owner.clone());
            }
        }
        self.info.lease_expires = lease.map(|lease| lease.expires_at(now));
    }

    pub(super) fn latest(&self) -> Result<Checkpoint, Error> {
        self.get(self.info.version)
    }

    pub(super) fn get(&self, seq: u64) -> Result<Checkpoint, Error> {
        let index = self.index(seq).unwrap_or(usize::MAX);
        self.checkpoints
            .get(index)
            .cloned()
            .ok_or(Error::CheckpointNotFound {
                run: self.info.id,
                seq,
            })
    }

    /// Checkpoint `seq`, for a write that expects it to be the run's latest.
    ///
    /// # Errors
    ///
    /// [`Error::VersionConflict`] if it is not.
    pub(super) fn latest_mut(&mut self, seq: u64) -> Result<&mut Checkpoint, Error> {
        let latest = self.info.version;
        let checkpoint = match self.index(latest) {
            Some(index) if latest == seq => self.checkpoints.get_mut(index),
            _ => None,
        };
        checkpoint.ok_or(Error::VersionConflict {
            run: self.info.id,
            expected: seq,
            found: latest,
        })
    }

    /// Where checkpoint `seq` is, or would be, in `checkpoints`: `None` if it was pruned.
    pub(super) fn index(&self, seq: u64) -> Option<usize> {
        let first = self.checkpoints.front().map_or(0, |first| first.seq);
        usize::try_from(seq.checked_sub(first)?).ok()
    }
}

/// A write that succeeded: a future with nothing in it, which `Box` does not allocate for.
pub(super) struct Written;

impl Future for Written {
    type Output = Result<(), Error>;

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
        Poll::Ready(Ok(()))
    }
}
