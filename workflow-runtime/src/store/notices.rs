//! Announcements of new work, for workers with nothing to claim: [`WorkNotices`]; and who
//! waits for them, for a store that listens only while someone does ([`Waiters`]).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::{watch, Notify};

use super::RunId;

/// Announcements of new work from a store
/// ([`CheckpointStore::work_notices`](super::CheckpointStore::work_notices)): a count that goes
/// up when a run is submitted, an answer recorded or a message sent, in any process. A
/// [`Worker`](crate::Worker) marks what it has seen before each claim, and when the claim
/// finds nothing, waits for the count to change (or for its poll interval).
///
/// ```
/// use tokio::sync::watch;
/// use workflow_runtime::store::WorkNotices;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let (announce, heard) = watch::channel(0_u64);
/// let mut notices = WorkNotices::new(heard);
/// notices.mark_seen();
/// announce.send_modify(|count| *count += 1);
/// assert!(notices.changed().await, "what was announced after the mark ends the wait");
/// # });
/// ```
#[derive(Debug)]
pub struct WorkNotices {
    heard: Heard,
    waiters: Option<Arc<Waiters>>,
}

/// What the store's listener tells.
#[derive(Debug)]
enum Heard {
    /// A count of notices.
    Count(watch::Receiver<u64>),
    /// A count of notices, and the run the last one announced (if it named one); `seen` is
    /// the count when the worker last marked it.
    Runs {
        heard: watch::Receiver<(u64, Option<RunId>)>,
        seen: u64,
    },
}

impl WorkNotices {
    /// Notices counted by `heard`, the receiving end of a channel the store's listener sends
    /// to: any change means there may be work.
    pub fn new(heard: watch::Receiver<u64>) -> Self {
        WorkNotices {
            heard: Heard::Count(heard),
            waiters: None,
        }
    }

    /// Notices counted by `heard` with the run each announced, if it named one
    /// ([`announced`](Self::announced)); each wait counted in `waiters`: the store listens
    /// only while someone waits.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn counted(
        heard: watch::Receiver<(u64, Option<RunId>)>,
        waiters: Arc<Waiters>,
    ) -> Self {
        let seen = heard.borrow().0;
        WorkNotices {
            heard: Heard::Runs { heard, seen },
            waiters: Some(waiters),
        }
    }

    /// Takes what was announced so far as seen: only what is announced from now on ends the
    /// next [`changed`](Self::changed). A worker calls it before each claim, so that work
    /// announced while it claims wakes it.
    pub fn mark_seen(&mut self) {
        match &mut self.heard {
            Heard::Count(heard) => {
                heard.borrow_and_update();
            }
            Heard::Runs { heard, seen } => *seen = heard.borrow_and_update().0,
        }
    }

    /// Waits until work is announced after the last [`mark_seen`](Self::mark_seen): `true`
    /// then, `false` if the store stopped announcing (its listener is gone), when only polling
    /// is left.
    pub async fn changed(&mut self) -> bool {
        let _waiting = self.waiters.as_ref().map(|waiters| waiters.enter());
        match &mut self.heard {
            Heard::Count(heard) => heard.changed().await.is_ok(),
            Heard::Runs { heard, .. } => heard.changed().await.is_ok(),
        }
    }

    /// The run announced, if exactly one notice came since the last
    /// [`mark_seen`](Self::mark_seen) and it named a run: a worker woken by it may claim that
    /// run alone ([`CheckpointStore::claim_announced`](super::CheckpointStore::claim_announced)).
    pub(crate) fn announced(&self) -> Option<RunId> {
        match &self.heard {
            Heard::Count(_) => None,
            Heard::Runs { heard, seen } => {
                let (count, run) = *heard.borrow();
                run.filter(|_| count == seen.wrapping_add(1))
            }
        }
    }
}

/// Who waits for a store's announcements: a store whose listening costs the database
/// something while it listens (on PostgreSQL, every notice in the database wakes each
/// listening connection) listens only while someone waits, and for a while after.
#[derive(Debug, Default)]
pub(crate) struct Waiters {
    /// How many wait now.
    waiting: AtomicUsize,
    /// How many waits have begun, ever.
    begun: AtomicU64,
    /// Told when a wait begins.
    wake: Notify,
}

#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
impl Waiters {
    /// A wait that lasts until the returned guard is dropped.
    pub(crate) fn enter(self: &Arc<Self>) -> Waiting {
        self.waiting.fetch_add(1, Ordering::AcqRel);
        self.begin();
        Waiting(Arc::clone(self))
    }

    /// Counts a wait that begins, which the listener must serve (a wait the caller tracks
    /// itself, as a run handle does with its receiver).
    pub(crate) fn begin(&self) {
        self.begun.fetch_add(1, Ordering::AcqRel);
        self.wake.notify_one();
    }

    /// Whether anyone waits now, through [`enter`](Self::enter).
    pub(crate) fn waiting(&self) -> bool {
        self.waiting.load(Ordering::Acquire) > 0
    }

    /// How many waits have begun so far: unchanged over a time, nobody began to wait in it.
    pub(crate) fn begun(&self) -> u64 {
        self.begun.load(Ordering::Acquire)
    }

    /// Returns once a wait has begun since the last time it returned (at once if one began
    /// while nobody was here to see it).
    pub(crate) async fn began(&self) {
        self.wake.notified().await;
    }
}

/// One wait, counted in [`Waiters`] until dropped.
pub(crate) struct Waiting(Arc<Waiters>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::AcqRel);
    }
}
