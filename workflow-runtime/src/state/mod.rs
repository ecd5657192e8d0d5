//! What lives in a run's checkpointable state besides the steps' inputs: the counters of
//! bounded edges ([`Loops`]), the branches of a running fan-out or map ([`Branch`]), a step
//! waiting at a pause or for a signal ([`PauseState`]), a step sleeping until a time
//! ([`SleepState`]), and a workflow running as a step of another ([`ChildState`]).
//!
//! `#[workflow]` builds its state enum from these; a workflow written by hand uses them the same
//! way, so that its states serialize like the macro's.

mod branch;
mod child;
pub(crate) mod data;
mod loops;
pub(crate) mod pause;
pub(crate) mod signal;
mod sleep;

pub use branch::{Branch, BranchError};
pub use child::{ChildState, ChildStop};
pub use data::StepData;
pub use loops::Loops;
pub use pause::{PauseState, PauseValue};
pub use sleep::SleepState;
