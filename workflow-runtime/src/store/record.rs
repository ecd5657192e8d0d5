//! What a checkpoint store keeps: runs, their checkpoints, leases, and the filter of a listing.

use std::borrow::Cow;
use std::fmt;
use std::time::SystemTime;

pub use super::lease::Lease;
pub use crate::id::RunId;
use crate::usage::{SavedUsage, UsageTotals};

/// The format version of the checkpoints this runtime writes, and the only one it reads.
///
/// It changes when the meaning of a stored state or of the loop counters changes, so that a
/// run saved by one version of `workflow` is never misread by another.
pub const FORMAT_VERSION: u32 = 1;

/// The name [`Checkpoint::step`] and [`RunInfo::step`] give a finished run.
pub const END: &str = "end";

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RunStatus {
    /// The run has a next step to run: a worker is running it, or its worker stopped
    /// (crashed, or was cancelled) and it waits to be resumed. [`RunInfo::lease_expires`]
    /// tells which.
    Running,
    /// The run waits at a pause for a value from outside: see
    /// [`Runner::answer`](crate::Runner::answer).
    Suspended,
    /// The run reached `end`; its last checkpoint holds the output.
    Finished,
    /// A step failed (after its retries), or the run was cancelled or went over a budget:
    /// [`RunInfo::error`] says why. Resuming the run runs that step again.
    Failed,
    /// The run was cancelled by id ([`Runner::cancel`](crate::Runner::cancel)): it stopped,
    /// and does not run again.
    Cancelled,
}

impl RunStatus {
    /// The status as stored: `running`, `suspended`, `finished`, `failed` or `cancelled`.
    pub const fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Suspended => "suspended",
            RunStatus::Finished => "finished",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
        }
    }

    /// The status stored as `text`, if it is one.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "running" => RunStatus::Running,
            "suspended" => RunStatus::Suspended,
            "finished" => RunStatus::Finished,
            "failed" => RunStatus::Failed,
            "cancelled" => RunStatus::Cancelled,
            _ => return None,
        })
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored run, as [`Runner::status`](crate::Runner::status) and
/// [`Runner::list`](crate::Runner::list) show it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    /// The run's id.
    pub id: RunId,
    /// The name of the workflow that runs it.
    pub workflow: String,
    /// The definition fingerprint of the workflow when the run was created.
    pub fingerprint: u64,
    /// Where the run stands.
    pub status: RunStatus,
    /// The step the run is about to run (or waits at, if suspended), or [`END`].
    pub step: String,
    /// The number of the run's latest checkpoint (the first is 0): the version every write
    /// is checked against.
    pub version: u64,
    /// The worker holding the run's lease, if any.
    pub owner: Option<String>,
    /// When that lease expires, unless renewed.
    pub lease_expires: Option<SystemTime>,
    /// The run and checkpoint this run was forked from, if it was; for a child run
    /// ([`parent_step`](Self::parent_step)), its parent and the parent's checkpoint it
    /// started from.
    pub parent: Option<(RunId, u64)>,
    /// For a child run, a workflow that runs as a step of its durable parent: that step. A
    /// child run moves only with its parent (no worker claims it; cancel, answer, send and
    /// fork its parent instead); the parent's checkpoints hold its state, and it has a
    /// checkpoint of its own after each of its steps, for the record.
    pub parent_step: Option<String>,
    /// Why the run failed, if its status is [`RunStatus::Failed`].
    pub error: Option<String>,
    /// When the run was created.
    pub created_at: SystemTime,
    /// When it was last written.
    pub updated_at: SystemTime,
    /// What the run waits for, if it is [running](RunStatus::Running) but no worker need hold
    /// it until then: a durable timer (`sleep` in `flow!`) or a message (`receive`).
    pub awaits: Option<Awaits>,
    /// What the run's model calls had spent by its latest checkpoint, the branches saved
    /// after it included ([`Checkpoint::usage_so_far`]): read with the run, in the same
    /// query, by [`CheckpointStore::list`](super::CheckpointStore::list), so that a page of
    /// runs with their cost is one read. `None` from other reads of a run, and when the
    /// saved usage does not read back (reading the checkpoint says why).
    pub spent: Option<UsageTotals>,
}

/// What a running run that no worker holds waits for ([`RunInfo::awaits`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Awaits {
    /// It sleeps until this time; then any worker serving its workflow picks it up.
    Time(SystemTime),
    /// It waits for a message of this signal type (its name as `send` records it); a worker
    /// picks it up once one is queued.
    Signal(String),
}

impl Awaits {
    /// What a run waits for, from the `wake_at` (milliseconds since the epoch) and `awaiting`
    /// columns of the SQL stores.
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn from_columns(wake_at: Option<i64>, awaiting: Option<String>) -> Option<Self> {
        match (wake_at, awaiting) {
            (Some(wake_at), _) => Some(Awaits::Time(crate::store::time::from_millis(wake_at))),
            (None, Some(signal)) => Some(Awaits::Signal(signal)),
            (None, None) => None,
        }
    }
}

impl RunInfo {
    /// The run as it is once created with `first` as its checkpoint 0.
    pub fn created(first: &Checkpoint, parent: Option<(RunId, u64)>) -> Self {
        RunInfo {
            id: first.run,
            workflow: first.workflow.to_string(),
            fingerprint: first.fingerprint,
            status: first.status,
            step: first.step.to_string(),
            version: first.seq,
            owner: None,
            lease_expires: None,
            parent,
            parent_step: None,
            error: None,
            created_at: first.created_at,
            updated_at: first.created_at,
            awaits: None,
            spent: None,
        }
    }

    /// Whether the run has ended for good: finished, failed or cancelled. (A failed run can
    /// still be resumed by hand; no worker picks it up.)
    pub fn has_ended(&self) -> bool {
        matches!(
            self.status,
            RunStatus::Finished | RunStatus::Failed | RunStatus::Cancelled
        )
    }

    /// `Ok` if the run is not a child run; else [`Error::ChildRun`] naming its parent: what
    /// acting on a child run on its own (cancel, answer, send, fork, resume) gives.
    ///
    /// # Errors
    ///
    /// [`Error::ChildRun`] if [`parent_step`](Self::parent_step) is set.
    ///
    /// [`Error::ChildRun`]: crate::Error::ChildRun
    pub fn on_its_own(&self) -> Result<(), crate::error::Error> {
        match (&self.parent_step, self.parent) {
            (Some(step), Some((parent, _))) => Err(crate::error::Error::ChildRun {
                run: self.id,
                parent,
                step: step.clone(),
            }),
            _ => Ok(()),
        }
    }

    /// Whether a worker holds the run's lease at `now` (an expired lease can be taken over).
    pub fn is_owned(&self, now: SystemTime) -> bool {
        self.lease_expires.is_some_and(|expires| expires > now)
    }
}

/// One saved state of a run: the state between two steps (or in the middle of a fan-out),
/// with everything needed to check it is resumed by the same definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// The run.
    pub run: RunId,
    /// The checkpoint's number in the run: 0 for the first, then one more for each.
    pub seq: u64,
    /// The workflow's name ([`Workflow::NAME`](crate::Workflow::NAME)). Borrowed in a
    /// checkpoint a run writes, as are [`step`](Self::step) and empty
    /// [`loops`](Self::loops), so that a save copies no text it does not have to; owned in
    /// one read back from a store.
    pub workflow: Cow<'static, str>,
    /// The workflow's definition fingerprint
    /// ([`Workflow::FINGERPRINT`](crate::Workflow::FINGERPRINT)).
    pub fingerprint: u64,
    /// The format version the checkpoint was written in: [`FORMAT_VERSION`].
    pub format: u32,
    /// The step the state is about to run (or waits at), or [`END`].
    pub step: Cow<'static, str>,
    /// Where the run stands at this checkpoint: never [`RunStatus::Failed`].
    pub status: RunStatus,
    /// The workflow's state, as JSON.
    pub state: String,
    /// The run's loop counters ([`Loops`](crate::state::Loops)), as JSON.
    pub loops: Cow<'static, str>,
    /// What the run's model calls had spent, since the run was created (a fork starts again
    /// from zero), when the checkpoint was written, or when the step after it failed
    /// ([`CheckpointStore::save_usage`](super::CheckpointStore::save_usage)): empty if it
    /// made none. Stores keep it
    /// with [`SavedUsage::to_json`] and read it with [`SavedUsage::from_stored`], no value
    /// meaning none; a value that does not read back is [`Error::CorruptCheckpoint`].
    /// [`usage_so_far`](Self::usage_so_far) adds what the branches saved after it spent.
    ///
    /// [`Error::CorruptCheckpoint`]: crate::Error::CorruptCheckpoint
    pub usage: SavedUsage,
    /// When the checkpoint was written.
    pub created_at: SystemTime,
    /// The branches of the fan-out or map the state is running that finished after this
    /// checkpoint was written, each saved on its own
    /// ([`CheckpointStore::save_branch`](super::CheckpointStore::save_branch)); empty for
    /// other states. Reading the checkpoint back puts each value in its slot of the state.
    pub branches: Vec<BranchRecord>,
    /// The child run the state is in, if its step is a workflow that took one of its steps
    /// since the last checkpoint: its record, which a store saves with this checkpoint, in
    /// the same write. Written only: reads give `None` (read the child run by its id).
    pub child: Option<Box<ChildRecord>>,
}

/// A step of a child run, saved with its parent's checkpoint ([`Checkpoint::child`]): the
/// child's run is created on its first step (with [`RunInfo::parent`] the parent and the
/// checkpoint it started from, and [`RunInfo::parent_step`] the step), and each step appends
/// a checkpoint to it and sets its status and step.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildRecord {
    /// The step of the parent that runs the child.
    pub parent_step: String,
    /// The parent's checkpoint the child started from.
    pub started: u64,
    /// The child's checkpoint: its [`run`](Checkpoint::run) is the child's id
    /// ([`RunId::child`]), its status is the child's. Its [`seq`](Checkpoint::seq) is the
    /// number the run counts it as, which the store gives the checkpoint that creates the
    /// child's row (0 for a child's first, but a fork's copy of a child between two of its
    /// steps counts on from the run forked), and ignores for the next ones: one more each
    /// time.
    pub checkpoint: Checkpoint,
}

impl Checkpoint {
    /// What the run had spent by its last write at this checkpoint: the checkpoint's own
    /// [`usage`](Self::usage), or that of the last of its [`branches`](Self::branches) to
    /// finish. It is what a run resumed from this checkpoint starts counting from.
    pub fn usage_so_far(&self) -> SavedUsage {
        let mut usage = self.usage.clone();
        for branch in &self.branches {
            usage.keep_latest(&branch.usage);
        }
        usage
    }
}

/// A branch of a fan-out, or an element of a map, that finished while its run was at a
/// checkpoint: saved on its own, as soon as it finished, so that a resumed run does not run it
/// again, and so that a map over N elements writes O(N) bytes, not the whole state N times.
#[derive(Debug, Clone, PartialEq)]
pub struct BranchRecord {
    /// The branch's position in the fan-out, or its element's index in the map.
    pub index: u32,
    /// The value it finished with, as JSON.
    pub value: String,
    /// What the whole run (not only this branch) had spent when the branch finished, as in
    /// [`Checkpoint::usage`]: the branches of a fan-out run together, so this includes what
    /// the branches still running had spent by then.
    pub usage: SavedUsage,
}

impl BranchRecord {
    /// A branch as a store reads it back from its index, its value and its usage as stored
    /// ([`SavedUsage::to_json`]); else why it does not read back.
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn from_stored(
        index: i64,
        value: String,
        usage: Option<&str>,
    ) -> Result<Self, String> {
        let Ok(index) = u32::try_from(index) else {
            return Err(format!("its index is {index}"));
        };
        let usage =
            SavedUsage::from_stored(usage).map_err(|error| format!("its usage: {error}"))?;
        Ok(BranchRecord {
            index,
            value,
            usage,
        })
    }
}

/// A run to create: its first checkpoint, where it was forked from, and who runs it.
#[derive(Debug, Clone)]
pub struct NewRun {
    /// Checkpoint 0.
    pub first: Checkpoint,
    /// The run and checkpoint it was forked from, if any.
    pub parent: Option<(RunId, u64)>,
    /// The lease the creator takes on the run, if it runs it right away.
    pub lease: Option<Lease>,
}

/// Which runs [`CheckpointStore::list`](super::CheckpointStore::list) returns: all of them
/// by default, oldest first.
///
/// ```
/// use workflow_runtime::store::{RunFilter, RunStatus};
///
/// let waiting = RunFilter::new().workflow("Approval").status(RunStatus::Suspended).limit(50);
/// // Runs started as such, not the child runs their steps ran.
/// let started = RunFilter::new().top_level().limit(50);
/// # let _ = (waiting, started);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunFilter {
    /// Only runs of this workflow.
    pub workflow: Option<String>,
    /// Only runs with this status.
    pub status: Option<RunStatus>,
    /// Only runs created after this one (ids sort by creation): the last id of a page.
    pub after: Option<RunId>,
    /// At most this many runs.
    pub limit: Option<u32>,
    /// Only runs that are not child runs ([`RunInfo::parent_step`] is `None`).
    pub top_level: bool,
    /// Only the child runs of this run.
    pub children_of: Option<RunId>,
}

impl RunFilter {
    /// Every run.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only runs of workflow `name`.
    pub fn workflow(mut self, name: impl Into<String>) -> Self {
        self.workflow = Some(name.into());
        self
    }

    /// Only runs with status `status`.
    pub fn status(mut self, status: RunStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Only runs created after run `run`: pass the last id of one page to get the next.
    pub fn after(mut self, run: RunId) -> Self {
        self.after = Some(run);
        self
    }

    /// At most `limit` runs.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Only runs that are not child runs: the runs a workflow was started as.
    pub fn top_level(mut self) -> Self {
        self.top_level = true;
        self
    }

    /// Only the child runs of run `parent` (the workflows its steps ran, durably).
    pub fn children_of(mut self, parent: RunId) -> Self {
        self.children_of = Some(parent);
        self
    }

    /// Whether `run` passes the filter, ignoring `limit`.
    pub fn matches(&self, run: &RunInfo) -> bool {
        let child = run.parent_step.is_some();
        self.workflow
            .as_ref()
            .is_none_or(|name| *name == run.workflow)
            && self.status.is_none_or(|status| status == run.status)
            && self.after.is_none_or(|after| run.id > after)
            && !(self.top_level && child)
            && self
                .children_of
                .is_none_or(|parent| child && run.parent.is_some_and(|(id, _)| id == parent))
    }
}

/// What a call made in the step a run is running returned, kept so that the step, run again
/// after a crash or a failed attempt, does not make the call again: a model turn or a tool
/// call of an agent's tool loop, or a [`once`](crate::once) block. Saved with
/// [`CheckpointStore::save_call`](super::CheckpointStore::save_call) under the checkpoint the
/// step started from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    /// What the call is, unique in its step: where it was made (the step, the branch, the
    /// agent…) and which one it was there.
    pub key: String,
    /// What it returned, as JSON.
    pub value: String,
}
