//! The traits `#[workflow]` checks your types with: each holds for every type that can play
//! its part (`StepError` for every error a step may return, `RetryInput` for every `Clone`
//! input…), and carries the message the compiler reports, at your tokens, for one that
//! cannot. You never implement or call them; they appear, by name, in those messages.
//!
//! ```compile_fail
//! use workflow_runtime::checks::RetryInput;
//!
//! struct Request(String); // not `Clone`
//! let copy = RetryInput::retry_clone(&Request("a".into()));
//! ```

use crate::error::BoxError;

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

/// The error type of a step's `Result`, however the step names it (`Result<T, E>`, or an
/// alias such as `workflow::Result<T>`): what its error route hands the handler.
pub trait ErrorOf {
    /// The error type.
    type Error;
}

impl<T, E> ErrorOf for Result<T, E> {
    type Error = E;
}

/// What the impls `#[workflow]` generates assume of the workflow's type
/// (`for<'_> Self: WorkflowSync`, which rustc does not check where it is written): that it is
/// `Send + Sync`. A workflow that is not is reported once, by a check of its own.
pub trait WorkflowSync: Send + Sync {}

#[diagnostic::do_not_recommend]
impl<T: Send + Sync + ?Sized> WorkflowSync for T {}

/// Checks that a step with `retry` can rebuild its input for each attempt.
#[diagnostic::on_unimplemented(
    message = "the input of a step with `retry` must implement `Clone`; `{Self}` does not",
    label = "each attempt gets its own copy of this input",
    note = "derive `Clone` for `{Self}`, or remove `retry` from the step's `#[step(...)]`"
)]
pub trait RetryInput: Sized {
    /// Clones a retried step's input; called with the span of the step's parameter type.
    fn retry_clone(&self) -> Self;
}

#[diagnostic::do_not_recommend]
impl<T: Clone> RetryInput for T {
    fn retry_clone(&self) -> Self {
        self.clone()
    }
}

/// Checks that the input of a fan-out can be given to each of its branches.
#[diagnostic::on_unimplemented(
    message = "the input of a fan-out goes to each of its branches, so it must implement `Clone`; `{Self}` does not",
    label = "each branch gets its own copy of this value",
    note = "derive `Clone` for `{Self}`, or pass the branches something that is `Clone` (an `Arc`, an id)"
)]
pub trait ForkInput: Sized {
    /// Clones the input of a fan-out for one branch; called with the span of the fork.
    fn fork_clone(&self) -> Self;
}

#[diagnostic::do_not_recommend]
impl<T: Clone> ForkInput for T {
    fn fork_clone(&self) -> Self {
        self.clone()
    }
}

/// Checks that the elements of a map can be given to its step while the state keeps them.
#[diagnostic::on_unimplemented(
    message = "the elements of a map must implement `Clone`; `{Self}` does not",
    label = "each element is cloned for its step, while the run's state keeps it until the map finishes",
    note = "derive `Clone` for `{Self}`, or map over something that is `Clone` (an `Arc`, an id)"
)]
pub trait MapItem: Sized {
    /// Clones an element of a map for its step; called with the span of `each`.
    fn map_clone(&self) -> Self;
}

#[diagnostic::do_not_recommend]
impl<T: Clone> MapItem for T {
    fn map_clone(&self) -> Self {
        self.clone()
    }
}

/// What `?` applies to in a step that returns a `Result`: a `Result`, or a `Poll` of one, as
/// for `?` itself. `#[workflow]` writes each `expr?` of such a step's body as
/// `match QuestionOperand::branch(expr) { Ok(value) => value, Err(error) => return
/// Err(QuestionInto::question_into(error)) }`, so that an operand or an error `?` cannot take
/// is reported in these traits' words.
#[diagnostic::on_unimplemented(
    message = "`?` in a step that returns a `Result` takes a `Result`, and this is `{Self}`",
    label = "this is `{Self}`",
    note = "give `?` a `Result`: for an `Option`, say what its `None` means with `.ok_or(error)?` or `.ok_or_else(|| error)?`"
)]
pub trait QuestionOperand<T, E> {
    /// The value `?` continues with, or the error it returns.
    ///
    /// # Errors
    ///
    /// The error the operand holds.
    fn branch(self) -> Result<T, E>;
}

#[diagnostic::do_not_recommend]
impl<T, E> QuestionOperand<T, E> for Result<T, E> {
    fn branch(self) -> Result<T, E> {
        self
    }
}

#[diagnostic::do_not_recommend]
impl<T, E> QuestionOperand<std::task::Poll<T>, E> for std::task::Poll<Result<T, E>> {
    fn branch(self) -> Result<std::task::Poll<T>, E> {
        match self {
            std::task::Poll::Ready(Ok(value)) => Ok(std::task::Poll::Ready(value)),
            std::task::Poll::Ready(Err(error)) => Err(error),
            std::task::Poll::Pending => Ok(std::task::Poll::Pending),
        }
    }
}

#[diagnostic::do_not_recommend]
impl<T, E> QuestionOperand<std::task::Poll<Option<T>>, E>
    for std::task::Poll<Option<Result<T, E>>>
{
    fn branch(self) -> Result<std::task::Poll<Option<T>>, E> {
        match self {
            std::task::Poll::Ready(Some(Ok(value))) => Ok(std::task::Poll::Ready(Some(value))),
            std::task::Poll::Ready(Some(Err(error))) => Err(error),
            std::task::Poll::Ready(None) => Ok(std::task::Poll::Ready(None)),
            std::task::Poll::Pending => Ok(std::task::Poll::Pending),
        }
    }
}

/// Checks that `?` in a step can convert the error it meets into the step's error type `F`,
/// and converts it as `?` does, with `From`.
#[diagnostic::on_unimplemented(
    message = "`?` cannot convert `{Self}` into `{F}`, the error type this step returns",
    label = "`{F}` does not implement `From<{Self}>`",
    note = "convert the error here, e.g. `.map_err(workflow::Error::other)?` in a step that returns `workflow::Error`; or implement `From<{Self}>` for `{F}`; or return `Result<T, {Self}>` from the step: a step may return any `E: std::error::Error + Send + Sync + 'static`"
)]
pub trait QuestionInto<F> {
    /// `F::from(self)`.
    fn question_into(self) -> F;
}

#[diagnostic::do_not_recommend]
impl<E, F: From<E>> QuestionInto<F> for E {
    fn question_into(self) -> F {
        F::from(self)
    }
}
