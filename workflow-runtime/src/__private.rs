//! Support for the code `#[workflow]` generates. Not public API: no stability guarantees.
//!
//! Everything here is either a re-export of public API or a thin helper that places compile
//! errors on the user's tokens; the generated code can be written by hand without it.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, VariantAccess, Visitor};
use serde::{de::DeserializeOwned, Serialize, Serializer};

pub use crate::context::Steps;
pub use crate::parallel::{run_each, settle, Branch, BranchError, StateView};
pub use crate::pause::{pause_payload, resume_json, PauseState, PauseValue};
pub use crate::{
    run, BoxError, Context, Error, Executor, LocalLoops, Loops, Pause, Resume, RunFuture,
    StepPolicy, Unwatched, Workflow,
};
pub use serde;
pub use serde_json;

/// The context the steps of a workflow without fan-outs run in: `&Context` for
/// [`Workflow::transition`] and [`Workflow::run_from`], [`Unwatched`] for the generated `run`.
/// The generated code is one body, generic over this, so that it is checked once (and a
/// mistake in it reported once); each method is the inherent method of the same name.
pub trait RunContext: Copy + Send + Sync {
    /// The count of steps taken: `u64`, or nothing for an [`Unwatched`] run, which has no
    /// step budget (so that its future holds nothing for it).
    type Taken: Default + Send;

    /// Counts one more step in `taken`, then [`Context::enter`]; nothing for an [`Unwatched`]
    /// run.
    ///
    /// # Errors
    ///
    /// As [`Context::enter`].
    fn enter(self, taken: &mut Self::Taken, step: usize) -> Result<(), Error>;

    /// [`Context::step_error`].
    fn step_error(self, step: &'static str, source: BoxError) -> Error;

    /// [`Context::loop_limit`].
    fn loop_limit(self, from: &'static str, to: &'static str, max: u32) -> Error;

    /// [`Context::suspended`].
    fn suspended(self, step: &'static str) -> Error;

    /// What runs the run's steps under their policies: [`Context::step`] and
    /// [`Context::step_with_retry`], for a context of either kind.
    fn steps(self) -> Steps;
}

impl RunContext for &Context {
    type Taken = u64;

    #[inline(always)]
    fn enter(self, taken: &mut u64, step: usize) -> Result<(), Error> {
        *taken += 1;
        Context::enter(self, *taken, step)
    }

    fn step_error(self, step: &'static str, source: BoxError) -> Error {
        Context::step_error(self, step, source)
    }

    fn loop_limit(self, from: &'static str, to: &'static str, max: u32) -> Error {
        Context::loop_limit(self, from, to, max)
    }

    fn suspended(self, step: &'static str) -> Error {
        Context::suspended(self, step)
    }

    fn steps(self) -> Steps {
        Context::steps(self)
    }
}

impl<W: Workflow> RunContext for Unwatched<W> {
    type Taken = ();

    #[inline(always)]
    fn enter(self, (): &mut (), _: usize) -> Result<(), Error> {
        Ok(())
    }

    fn step_error(self, step: &'static str, source: BoxError) -> Error {
        Unwatched::step_error(self, step, source)
    }

    fn loop_limit(self, from: &'static str, to: &'static str, max: u32) -> Error {
        Unwatched::loop_limit(self, from, to, max)
    }

    fn suspended(self, step: &'static str) -> Error {
        Unwatched::suspended(self, step)
    }

    fn steps(self) -> Steps {
        Unwatched::steps(self)
    }
}

/// The loop counters of a run: `&mut Loops`, or [`LocalLoops`] for the generated `run`.
pub trait Counters: Send {
    /// [`Loops::take`].
    fn take(&mut self, edge: usize, max: u32) -> bool;
}

impl Counters for &mut Loops {
    #[inline]
    fn take(&mut self, edge: usize, max: u32) -> bool {
        Loops::take(self, edge, max)
    }
}

impl<const N: usize> Counters for LocalLoops<N> {
    #[inline]
    fn take(&mut self, edge: usize, max: u32) -> bool {
        LocalLoops::take(self, edge, max)
    }
}

/// How the generated drive of workflow `W` runs: what it starts from, when it stops and what it
/// returns. [`Once`] for [`Workflow::transition`], [`ToEnd`] for [`Workflow::run_from`],
/// [`Run`] for the generated `run`.
pub trait Mode<W: Workflow> {
    /// What the drive starts from: a state, or the input of a new run.
    type From: Send;

    /// Whether the drive stops after one step, or runs to the end.
    const ONCE: bool;

    /// What the drive returns.
    type Out;

    /// The state the drive starts in. Inlined in the drive, so that a new run (from the
    /// input) goes straight to its first step.
    fn state(from: Self::From) -> W::State;

    /// What the drive returns when it stops in `state`: after one step, or at the end.
    fn stop(state: W::State) -> Self::Out;
}

/// The drive runs one step from a state and returns the next state.
#[derive(Debug)]
pub enum Once {}

impl<W: Workflow> Mode<W> for Once {
    type From = W::State;
    const ONCE: bool = true;
    type Out = W::State;

    #[inline(always)]
    fn state(from: W::State) -> W::State {
        from
    }

    #[inline(always)]
    fn stop(state: W::State) -> W::State {
        state
    }
}

/// The drive runs from a state to the end and returns the output: the generated code calls
/// [`Mode::stop`] only with the final state, built right there, so that this is the output
/// itself once inlined.
#[derive(Debug)]
pub enum ToEnd {}

impl<W: Workflow> Mode<W> for ToEnd {
    type From = W::State;
    const ONCE: bool = false;
    type Out = W::Output;

    #[inline(always)]
    fn state(from: W::State) -> W::State {
        from
    }

    #[inline(always)]
    fn stop(state: W::State) -> W::Output {
        match W::finish(state) {
            Ok(output) => output,
            // The drive stops before the end only with `Once`.
            Err(_) => unreachable!("a run driven to its end stopped before it"),
        }
    }
}

/// [`ToEnd`] from the input of a new run: the generated `run`.
#[derive(Debug)]
pub enum Run {}

impl<W: Workflow> Mode<W> for Run {
    type From = W::Input;
    const ONCE: bool = false;
    type Out = W::Output;

    #[inline(always)]
    fn state(from: W::Input) -> W::State {
        W::start(from)
    }

    #[inline(always)]
    fn stop(state: W::State) -> W::Output {
        <ToEnd as Mode<W>>::stop(state)
    }
}

/// A type that can live in the checkpointable state: a step's input or the workflow's output.
///
/// No supertraits, so that a type missing `Serialize` is reported once, with this message.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored in a workflow's state",
    label = "step inputs and the workflow's output must be `Serialize + Deserialize + Send + 'static`",
    note = "derive `serde::Serialize` and `serde::Deserialize` for `{Self}`: step inputs are saved in checkpoints"
)]
pub trait StepData: Sized {
    /// Serializes `self` as variant `variant` of the state enum `state`.
    ///
    /// # Errors
    ///
    /// The serializer's.
    fn serialize_variant<S: Serializer>(
        &self,
        serializer: S,
        state: &'static str,
        index: u32,
        variant: &'static str,
    ) -> Result<S::Ok, S::Error>;

    /// Deserializes the content of a variant of the state enum.
    ///
    /// # Errors
    ///
    /// The deserializer's.
    fn deserialize_variant<'de, A: VariantAccess<'de>>(variant: A) -> Result<Self, A::Error>;

    /// Serializes `self` as a plain value, inside a larger part of the state.
    ///
    /// # Errors
    ///
    /// The serializer's.
    fn serialize_value<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error>;

    /// Deserializes a plain value, inside a larger part of the state.
    ///
    /// # Errors
    ///
    /// The deserializer's.
    fn deserialize_value<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error>;
}

#[diagnostic::do_not_recommend]
impl<T: Serialize + DeserializeOwned + Send + 'static> StepData for T {
    fn serialize_variant<S: Serializer>(
        &self,
        serializer: S,
        state: &'static str,
        index: u32,
        variant: &'static str,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_newtype_variant(state, index, variant, self)
    }

    fn deserialize_variant<'de, A: VariantAccess<'de>>(variant: A) -> Result<Self, A::Error> {
        variant.newtype_variant()
    }

    fn serialize_value<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.serialize(serializer)
    }

    fn deserialize_value<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer)
    }
}

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

/// The state enum generated by `#[workflow]`, as seen by its `Deserialize` impl.
pub trait StateEnum: Sized {
    /// The enum's name.
    const NAME: &'static str;
    /// The variant names, in order.
    const VARIANTS: &'static [&'static str];

    /// Deserializes the content of variant number `index`.
    ///
    /// # Errors
    ///
    /// When the content does not deserialize.
    fn deserialize_variant<'de, A: VariantAccess<'de>>(
        index: usize,
        variant: A,
    ) -> Result<Self, A::Error>;
}

/// Deserializes a [`StateEnum`], externally tagged by variant name.
///
/// # Errors
///
/// When the input is not one of the enum's variants.
pub fn deserialize_state<'de, S: StateEnum, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<S, D::Error> {
    deserializer.deserialize_enum(S::NAME, S::VARIANTS, StateVisitor(PhantomData))
}

struct StateVisitor<S>(PhantomData<S>);

impl<'de, S: StateEnum> Visitor<'de> for StateVisitor<S> {
    type Value = S;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a state of `{}`", S::NAME)
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<S, A::Error> {
        let (index, variant) = data.variant_seed(VariantIndex::<S>(PhantomData))?;
        S::deserialize_variant(index, variant)
    }
}

struct VariantIndex<S>(PhantomData<S>);

impl<'de, S: StateEnum> DeserializeSeed<'de> for VariantIndex<S> {
    type Value = usize;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl<'de, S: StateEnum> Visitor<'de> for VariantIndex<S> {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a step of `{}`", S::NAME)
    }

    fn visit_u64<E: de::Error>(self, index: u64) -> Result<usize, E> {
        usize::try_from(index)
            .ok()
            .filter(|index| *index < S::VARIANTS.len())
            .ok_or_else(|| E::invalid_value(de::Unexpected::Unsigned(index), &self))
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<usize, E> {
        S::VARIANTS
            .iter()
            .position(|variant| *variant == name)
            .ok_or_else(|| E::unknown_variant(name, S::VARIANTS))
    }

    fn visit_bytes<E: de::Error>(self, name: &[u8]) -> Result<usize, E> {
        match std::str::from_utf8(name) {
            Ok(name) => self.visit_str(name),
            Err(_) => Err(E::invalid_value(de::Unexpected::Bytes(name), &self)),
        }
    }
}
