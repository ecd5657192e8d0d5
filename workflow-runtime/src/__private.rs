//! Support for the code `#[workflow]` generates. Not public API: no stability guarantees.
//!
//! Everything here is either a re-export of public API or a thin helper that places compile
//! errors on the user's tokens; the generated code can be written by hand without it.

pub use crate::context::settle;
pub use crate::definition::{PauseDefinition, SchemaOf, WithSchema, WithoutSchema};
pub use crate::state::data::{deserialize_state, StateEnum, StepData};
pub use crate::state::pause::{pause_answer, pause_payload};
pub use crate::state::{Branch, BranchError, ChildState, ChildStop, PauseState, PauseValue};
pub use crate::{Answer, BoxError, Context, Error, Pause, Run, StepPolicy, Workflow};
pub use serde;
pub use serde_json;

/// Checks that a step's error type can be turned into [`Error::Step`](crate::Error::Step).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as a step's error type",
    label = "this error type does not implement `std::error::Error + Send + Sync + 'static`",
    note = "implement `std::error::Error` for `{Self}`, or return `workflow::Error`"
)]
pub trait StepError {
    /// Boxes the error.
    fn into_box(self) -> BoxError;
}

#[diagnostic::do_not_recommend]
impl<E: Into<BoxError>> StepError for E {
    fn into_box(self) -> BoxError {
        self.into()
    }
}

/// Boxes a step's error; called with the span of the step's return type.
pub fn step_error<E: StepError>(error: E) -> BoxError {
    error.into_box()
}

/// Checks that a step with `retry` can rebuild its input for each attempt.
#[diagnostic::on_unimplemented(
    message = "the input of a step with `retry` must implement `Clone`; `{Self}` does not",
    label = "each attempt gets its own copy of this input",
    note = "derive `Clone` for `{Self}`, or remove `retry` from the step's `#[step(...)]`"
)]
pub trait RetryInput: Clone {}

#[diagnostic::do_not_recommend]
impl<T: Clone> RetryInput for T {}

/// Clones a retried step's input; called with the span of the step's parameter type.
pub fn retry_input<T: RetryInput>(input: &T) -> T {
    input.clone()
}

/// Checks that the input of a fan-out can be given to each of its branches.
#[diagnostic::on_unimplemented(
    message = "the input of a fan-out goes to each of its branches, so it must implement `Clone`; `{Self}` does not",
    label = "each branch gets its own copy of this value",
    note = "derive `Clone` for `{Self}`, or pass the branches something that is `Clone` (an `Arc`, an id)"
)]
pub trait ForkInput: Clone {}

#[diagnostic::do_not_recommend]
impl<T: Clone> ForkInput for T {}

/// Clones the input of a fan-out for one branch; called with the span of the fork.
pub fn fork_input<T: ForkInput>(input: &T) -> T {
    input.clone()
}

/// Checks that the elements of a map can be given to its step while the state keeps them.
#[diagnostic::on_unimplemented(
    message = "the elements of a map must implement `Clone`; `{Self}` does not",
    label = "each element is cloned for its step, while the run's state keeps it until the map finishes",
    note = "derive `Clone` for `{Self}`, or map over something that is `Clone` (an `Arc`, an id)"
)]
pub trait MapItem: Clone {}

#[diagnostic::do_not_recommend]
impl<T: Clone> MapItem for T {}

/// Clones an element of a map for its step; called with the span of `each`.
pub fn map_item<T: MapItem>(item: &T) -> T {
    item.clone()
}

/// The state of a map over `items` before it runs: every element pending.
pub fn map_state<T, U>(items: Vec<T>) -> (Vec<T>, Vec<Branch<U>>) {
    let pending = Branch::pending(items.len());
    (items, pending)
}

/// Writes variant `variant` of a state enum holding `value` for `Debug`: its content as the
/// checkpoint holds it, in JSON (pretty with `{:#?}`); `..` if it does not serialize.
///
/// # Errors
///
/// The formatter's.
pub fn debug_variant<T: StepData>(
    f: &mut std::fmt::Formatter<'_>,
    variant: &str,
    value: &T,
) -> std::fmt::Result {
    struct Data<'a, T>(&'a T);
    impl<T: StepData> serde::Serialize for Data<'_, T> {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            self.0.serialize_value(serializer)
        }
    }
    let json = if f.alternate() {
        serde_json::to_string_pretty(&Data(value))
    } else {
        serde_json::to_string(&Data(value))
    };
    match json {
        Ok(json) => write!(f, "{variant}({json})"),
        Err(_) => write!(f, "{variant}(..)"),
    }
}

/// The fingerprint of a workflow whose steps run the workflows whose fingerprints are
/// `children`: its own, `own`, mixed with theirs (FNV-1a over their bytes), so that a change in
/// a child's definition changes its parents'.
pub const fn mix_fingerprints(own: u64, children: &[u64]) -> u64 {
    let mut hash = own;
    let mut index = 0;
    while index < children.len() {
        let bytes = children[index].to_le_bytes();
        let mut byte = 0;
        while byte < bytes.len() {
            hash ^= bytes[byte] as u64;
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
            byte += 1;
        }
        index += 1;
    }
    hash
}

/// The most steps a run of a workflow can take whose steps run other workflows: `own`, its
/// envelope with each such step counted as one, plus, for each child, the most times a run
/// enters it times the most steps the child takes. `None` if a child's is unknown or the sum
/// does not fit in a `u64`.
pub const fn nested_max_steps(own: u64, children: &[(u64, Option<u64>)]) -> Option<u64> {
    let mut total = own;
    let mut index = 0;
    while index < children.len() {
        let (visits, steps) = children[index];
        let Some(steps) = steps else { return None };
        let Some(inside) = visits.checked_mul(steps) else {
            return None;
        };
        total = match total.checked_add(inside) {
            Some(total) => total,
            None => return None,
        };
        index += 1;
    }
    Some(total)
}
