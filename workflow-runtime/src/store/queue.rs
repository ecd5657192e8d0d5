//! What workers ask of a store: which workflows a worker runs ([`WorkflowType`]), with how
//! many runs of each at most across all workers, and what a cancel by id did ([`Cancel`]).

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
/// assert_eq!(article.limit, None);
///
/// // At most 5 runs of `Article` at once, across every worker that says so.
/// let limited = article.with_limit(5);
/// assert_eq!(limited.limit, Some(5));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WorkflowType {
    /// The workflow's name ([`Workflow::NAME`](crate::Workflow::NAME)).
    pub name: String,
    /// Its definition fingerprint ([`Workflow::FINGERPRINT`](crate::Workflow::FINGERPRINT)).
    pub fingerprint: u64,
    /// How many runs of workflow [`name`](Self::name) (of any fingerprint) may hold a live
    /// lease at once, across every worker and process sharing the store; `None` for no limit.
    /// [`claim_next`](super::CheckpointStore::claim_next) takes a run of this type only while
    /// fewer hold one. Workers that do not pass the limit do not obey it, so give every
    /// worker serving the workflow the same one.
    pub limit: Option<u32>,
}

impl WorkflowType {
    /// Workflow `name` with fingerprint `fingerprint`.
    pub fn new(name: impl Into<String>, fingerprint: u64) -> Self {
        WorkflowType {
            name: name.into(),
            fingerprint,
            limit: None,
        }
    }

    /// The same type, with at most `runs` runs of it holding a live lease at once across
    /// all workers (at least 1): see [`limit`](Self::limit).
    pub fn with_limit(mut self, runs: u32) -> Self {
        self.limit = Some(runs.max(1));
        self
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

/// The names of the workflows of `types` that have a limit, sorted and once each: the order
/// in which a store that locks per workflow takes its locks, so that two workers never wait
/// for each other.
pub(crate) fn limited(types: &[WorkflowType]) -> Vec<&str> {
    let mut names: Vec<&str> = types
        .iter()
        .filter(|kind| kind.limit.is_some())
        .map(|kind| kind.name.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// The types of `types` that may take one more run, given `held`: how many runs of each
/// limited workflow (by name) hold a live lease now. A workflow missing from `held` holds
/// none.
pub(crate) fn with_room(types: &[WorkflowType], held: &[(String, u64)]) -> Vec<WorkflowType> {
    let holding = |name: &str| {
        held.iter()
            .find(|(held, _)| held == name)
            .map_or(0, |(_, runs)| *runs)
    };
    types
        .iter()
        .filter(|kind| {
            kind.limit
                .is_none_or(|limit| holding(&kind.name) < u64::from(limit))
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_workflow_at_its_limit_takes_no_more_runs() {
        let types = [
            WorkflowType::new("Report", 1).with_limit(2),
            WorkflowType::new("Report", 2).with_limit(2),
            WorkflowType::new("Mail", 1).with_limit(1),
            WorkflowType::new("Free", 1),
        ];
        assert_eq!(limited(&types), ["Mail", "Report"]);
        let names = |types: Vec<WorkflowType>| -> Vec<(String, u64)> {
            types.into_iter().map(|t| (t.name, t.fingerprint)).collect()
        };
        let all = names(with_room(&types, &[]));
        assert_eq!(all.len(), 4);
        let held = [("Report".to_owned(), 2), ("Mail".to_owned(), 0)];
        let open = names(with_room(&types, &held));
        assert_eq!(open, [("Mail".to_owned(), 1), ("Free".to_owned(), 1)]);
        assert_eq!(WorkflowType::new("Zero", 1).with_limit(0).limit, Some(1));
    }
}
