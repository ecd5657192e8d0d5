//! Support for the code `#[workflow]` generates. Not public API: no stability guarantees.
//!
//! Everything here is either a re-export of public API or a thin helper that places compile
//! errors on the user's tokens; the generated code can be written by hand without it.

pub use crate::checks::{
    ErrorOf, ForkInput, MapItem, QuestionInto, QuestionOperand, RetryInput, StepError, WorkflowSync,
};
pub use crate::context::{settle, Succeeds, WaitingAt, WaitingChild};
pub use crate::coverage::{Edge, Graph};
pub use crate::definition::{
    PauseDefinition, SchemaOf, SignalDefinition, WithSchema, WithoutSchema,
};
pub use crate::run::waiting_child;
pub use crate::state::data::{deserialize_state, StateEnum, StepData};
pub use crate::state::pause::{pause_answer, pause_payload};
pub use crate::state::signal::{check_signal_value, signal_value, unknown_signal};
pub use crate::state::{
    Branch, BranchError, ChildState, ChildStop, PauseState, PauseValue, SleepState,
};
pub use crate::{Answer, BoxError, Context, Error, Pause, Run, Signal, StepPolicy, Workflow};
pub use serde;
pub use serde_json;
pub use std::time::SystemTime;

/// Checks that the error of a step with an error route (`step? -> handler`) can be taken back
/// out of the step's failure as itself, for its handler: [`Context::route_error`], called
/// through this trait so that an error type that cannot is reported at the step's signature
/// with this message.
#[diagnostic::on_unimplemented(
    message = "the error of a step with an error route must implement `std::error::Error + Send + Sync + 'static`; `{Self}` does not",
    label = "the handler gets this error as its input",
    note = "return an error type that implements `std::error::Error`"
)]
pub trait RouteError: Sized {
    /// [`Context::route_error`].
    ///
    /// # Errors
    ///
    /// As [`Context::route_error`].
    fn route_error(
        cx: &mut Context,
        step: &'static str,
        handler: &'static str,
        error: Error,
    ) -> Result<Self, Error>;
}

#[diagnostic::do_not_recommend]
impl<E: std::error::Error + Send + Sync + 'static> RouteError for E {
    fn route_error(
        cx: &mut Context,
        step: &'static str,
        handler: &'static str,
        error: Error,
    ) -> Result<Self, Error> {
        cx.route_error(step, handler, error)
    }
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
