//! [`Retention`]: which ended runs a store deletes.

use std::time::{Duration, SystemTime};

use super::{RunInfo, RunStatus};

/// Which ended runs [`CheckpointStore::delete_runs`](super::CheckpointStore::delete_runs)
/// deletes, with all their checkpoints: [finished](RunStatus::Finished) runs last written
/// before a time, and [failed](RunStatus::Failed) ones too if asked. Runs that are running or
/// suspended are never deleted, nor a run whose lease is held (a failed run being resumed).
///
/// ```
/// use std::time::Duration;
/// use workflow_runtime::store::Retention;
///
/// // Finished and failed runs untouched for 30 days.
/// let month = Retention::older_than(Duration::from_secs(30 * 24 * 3600)).and_failed();
/// # let _ = month;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Retention {
    /// Runs last written ([`RunInfo::updated_at`]) before this are deleted.
    pub before: SystemTime,
    /// Whether failed runs are deleted too, not only finished ones.
    pub failed: bool,
}

impl Retention {
    /// Finished runs last written before `time`.
    pub fn before(time: SystemTime) -> Self {
        Retention {
            before: time,
            failed: false,
        }
    }

    /// Finished runs last written more than `age` ago (by this machine's clock).
    pub fn older_than(age: Duration) -> Self {
        let now = SystemTime::now();
        Self::before(now.checked_sub(age).unwrap_or(SystemTime::UNIX_EPOCH))
    }

    /// Failed runs too.
    pub fn and_failed(mut self) -> Self {
        self.failed = true;
        self
    }

    /// The statuses of the runs it deletes.
    pub fn statuses(&self) -> &'static [RunStatus] {
        match self.failed {
            true => &[RunStatus::Finished, RunStatus::Failed],
            false => &[RunStatus::Finished],
        }
    }

    /// Whether it deletes `run` at `now`: ended, last written before [`before`](Self::before),
    /// and not leased.
    pub fn matches(&self, run: &RunInfo, now: SystemTime) -> bool {
        self.statuses().contains(&run.status) && run.updated_at < self.before && !run.is_owned(now)
    }
}
