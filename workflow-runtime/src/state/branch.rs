//! The branches of a fan-out or a map, as a run's state holds them: [`Branch`], and
//! [`BranchError`] for `[collect]` joins.

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// One branch of a fan-out or one element of a map, as held in a run's state.
///
/// Serialized as `"pending"` or `{"done": value}`, so a finished branch whose value is
/// `null` is still told from one that has not finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Branch<T> {
    /// Not finished: it runs when the fan-out runs, again after a resume.
    Pending,
    /// Finished with this value.
    Done(T),
}

impl<T> Branch<T> {
    /// Whether the branch has not finished yet.
    pub fn is_pending(&self) -> bool {
        matches!(self, Branch::Pending)
    }

    /// `n` pending branches: the state of a map over `n` elements before it runs.
    pub fn pending(n: usize) -> Vec<Branch<T>> {
        std::iter::repeat_with(|| Branch::Pending).take(n).collect()
    }
}

/// How a branch of a `[collect]` fan-out or map failed, as its join receives it: the step and
/// the error's message (with its sources), serializable so that it can live in the state.
///
/// Errors that stop the whole run (cancellation, a budget, the step limit, a failed
/// checkpoint) are not collected: they stop the run as they would anywhere else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("step `{step}` failed: {message}")]
#[non_exhaustive]
pub struct BranchError {
    /// The step that failed.
    pub step: String,
    /// The error, then each of its sources, separated by `: `.
    pub message: String,
    /// Whether the error was transient ([`Error::is_transient`]): retrying the run may help.
    pub transient: bool,
}

impl BranchError {
    /// The branch error for `error`, returned by step `step`.
    pub fn new(step: &str, error: &Error) -> Self {
        BranchError {
            step: step.to_owned(),
            message: crate::error::describe(error),
            transient: error.is_transient(),
        }
    }
}
