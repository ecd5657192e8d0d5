//! What workers ask of a store: which workflows a worker runs ([`WorkflowType`]), and what a
//! cancel by id did ([`Cancel`]).

use super::record::RunStatus;

/// A workflow a worker can run: its name and definition fingerprint, as
/// [`RunInfo::workflow`](super::RunInfo::workflow) and
/// [`RunInfo::fingerprint`](super::RunInfo::fingerprint) record them.
///
/// ```
/// use workflow_runtime::store::WorkflowType;
///
/// let article = WorkflowType::new("Article", 0x1234);
/// assert_eq!(article.name, "Article");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WorkflowType {
    /// The workflow's name ([`Workflow::NAME`](crate::Workflow::NAME)).
    pub name: String,
    /// Its definition fingerprint ([`Workflow::FINGERPRINT`](crate::Workflow::FINGERPRINT)).
    pub fingerprint: u64,
}

impl WorkflowType {
    /// Workflow `name` with fingerprint `fingerprint`.
    pub fn new(name: impl Into<String>, fingerprint: u64) -> Self {
        WorkflowType {
            name: name.into(),
            fingerprint,
        }
    }

    /// Whether a run of workflow `name` with fingerprint `fingerprint` is of this type.
    pub fn matches(&self, name: &str, fingerprint: u64) -> bool {
        self.name == name && self.fingerprint == fingerprint
    }
}

/// What [`CheckpointStore::cancel`](super::CheckpointStore::cancel) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cancel {
    /// No worker was running the run (it waited to be picked up, at a pause, or its worker
    /// had died): it is recorded as [`RunStatus::Cancelled`] now.
    Cancelled,
    /// A worker holds the run: it stops at its next checkpoint, or mid-step when the worker
    /// next renews its lease, and is then recorded as [`RunStatus::Cancelled`].
    Requested,
    /// The run had already ended with this status: nothing changed.
    Ended(RunStatus),
}

/// The error a run cancelled by id is recorded with ([`RunInfo::error`](super::RunInfo::error)).
pub(crate) const CANCELLED: &str = "cancelled by id";
