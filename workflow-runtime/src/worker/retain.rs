//! The worker's retention job: deleting old ended runs on an interval, with
//! [`CheckpointStore::delete_runs`].

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

use crate::store::{CheckpointStore, Retention};

/// Which runs the job deletes, and how often.
#[derive(Debug, Clone, Copy)]
pub(super) struct Job {
    /// Runs last written more than this long before each pass.
    pub(super) age: Duration,
    /// Failed runs too.
    pub(super) failed: bool,
    pub(super) every: Duration,
}

impl Job {
    /// The job that deletes what `retention` selects, as old as it was when the job was set,
    /// every `every`.
    pub(super) fn new(retention: Retention, every: Duration) -> Self {
        let age = SystemTime::now()
            .duration_since(retention.before)
            .unwrap_or_default();
        Job {
            age,
            failed: retention.failed,
            every: every.max(Duration::from_millis(1)),
        }
    }

    /// What a pass at this moment deletes.
    fn retention(&self) -> Retention {
        let retention = Retention::older_than(self.age);
        match self.failed {
            true => retention.and_failed(),
            false => retention,
        }
    }
}

/// Runs `job` on `store` at once, then every `job.every`, until `stop`; returns how many runs
/// it deleted. A pass that fails is logged (`tracing`, at `warn`) and tried again at the
/// next.
pub(super) async fn run(store: Arc<dyn CheckpointStore>, job: Job, stop: CancellationToken) -> u64 {
    let mut ticks = tokio::time::interval(job.every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut deleted = 0;
    loop {
        tokio::select! {
            biased;
            () = stop.cancelled() => return deleted,
            _ = ticks.tick() => {}
        }
        match store.delete_runs(job.retention()).await {
            Ok(gone) => {
                deleted += gone;
                if gone > 0 {
                    tracing::debug!(runs = gone, "workflow worker: deleted old runs");
                }
            }
            Err(error) => {
                tracing::warn!(error = %error, "workflow worker: deleting old runs failed");
            }
        }
    }
}
