//! The workflows a worker serves, behind one type: a [`Serve`] drives a run of its workflow
//! once the worker has claimed it, whatever the workflow's types.

use std::sync::Arc;

use crate::definition::WorkflowDefinition;
use crate::durable::Runner;
use crate::future::BoxFuture;
use crate::run::Outcome;
use crate::store::{Checkpoint, Lease, RunInfo, WorkflowType};
use crate::workflow::Workflow;

/// How a run a worker drove ended, for its [`WorkerReport`](super::WorkerReport).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ended {
    Finished,
    Suspended,
    /// Asleep until a time to come: put aside for a worker to pick up then.
    Sleeping,
    /// Failed, cancelled, lost to another worker, or not readable.
    Failed,
}

/// A workflow a worker serves.
pub(super) trait Serve: Send + Sync + 'static {
    /// Its name and fingerprint, as its runs record them.
    fn kind(&self) -> WorkflowType;

    /// Its definition, as the store records it.
    fn definition(&self) -> WorkflowDefinition;

    /// Drives run `info`, just claimed for `lease`, from `latest`, its latest checkpoint.
    fn drive(
        self: Arc<Self>,
        runner: Runner,
        lease: Lease,
        info: RunInfo,
        latest: Checkpoint,
    ) -> BoxFuture<'static, Ended>;
}

/// Workflow `W`, served.
pub(super) struct Served<W>(pub(super) W);

impl<W: Workflow + 'static> Serve for Served<W> {
    fn kind(&self) -> WorkflowType {
        WorkflowType::new(W::NAME, W::FINGERPRINT)
    }

    fn definition(&self) -> WorkflowDefinition {
        WorkflowDefinition::of::<W>()
    }

    fn drive(
        self: Arc<Self>,
        runner: Runner,
        lease: Lease,
        info: RunInfo,
        latest: Checkpoint,
    ) -> BoxFuture<'static, Ended> {
        Box::pin(async move {
            let report = runner.drive_claimed(&self.0, lease, &info, &latest).await;
            match report.map(|report| report.outcome) {
                Ok(Outcome::Finished(_)) => Ended::Finished,
                Ok(Outcome::Suspended(_) | Outcome::Receiving { .. }) => Ended::Suspended,
                Ok(Outcome::Sleeping { .. }) => Ended::Sleeping,
                _ => Ended::Failed,
            }
        })
    }
}
