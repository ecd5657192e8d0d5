//! A workflow that runs as one step of another: its state inside the parent's.

use serde::{Deserialize, Serialize};

use super::Loops;

/// The state of a child run inside its parent's state: the child workflow's state, and the
/// counters of its bounded edges.
///
/// The state variant of a step that is a workflow holds one: it starts at the child's first
/// state ([`ChildState::new`] with [`Workflow::start`](crate::Workflow::start)), and holds the
/// state the child waits in when it stops at a pause, so that the parent's pause is the
/// child's and a value given to the parent goes on in the child.
///
/// Serialized as `{"state": state, "loops": [..]}`, with `"started": seq` once a durable
/// run took the child's first step, and `"seq": seq` once the child run has a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildState<S> {
    /// The child workflow's state.
    pub state: S,
    /// The counters of the child's bounded edges.
    #[serde(default)]
    pub loops: Loops,
    /// In a durable run, the number of the parent's checkpoint the child started from (the
    /// one before its first step): with the parent's run id and the step, what the child
    /// run's own id is derived from, so that each entry of the step is a run of its own.
    /// `None` before the first step, and in a run that is not durable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<u64>,
    /// In a durable run, the number of the child run's latest checkpoint (its first is 0):
    /// where a child run of its own step starts from. `None` before its first checkpoint,
    /// and in a run that is not durable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
}

impl<S> ChildState<S> {
    /// A child run about to start from `state`, with no bounded edge taken.
    pub fn new(state: S) -> Self {
        ChildState {
            state,
            loops: Loops::new(),
            started: None,
            seq: None,
        }
    }
}

/// How a child run that [`Context::child`](crate::Context::child) ran stopped: at its end,
/// with its output, or at a pause, waiting in the state it holds.
#[derive(Debug)]
pub enum ChildStop<S, O> {
    /// The child reached its end: its output is the step's.
    Finished(O),
    /// The child waits at a pause: the parent's state holds this until the value is given.
    Waiting(ChildState<S>),
}
