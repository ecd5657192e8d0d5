//! Fan-outs and maps: the pieces of the state that hold the branches of a step that runs
//! several steps at once, and the loop that runs a map.
//!
//! `flow!` writes `a -> (b, c) -> join` for a static fan-out and `a -> each b -> join` for a
//! map over a collection. While one runs, the run's state holds each branch as a [`Branch`],
//! so a durable run saves finished branches (see [`Context::checkpoint`]) and a resumed run
//! runs only the others. With `[collect]`, the join receives each branch's
//! `Result<T, BranchError>` instead of the run failing at the first error.

use std::fmt;
use std::future::Future;

use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::FutureExt;
use serde::{Deserialize, Serialize, Serializer};

use crate::__private::StepData;
use crate::{Context, Error, Loops};

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

/// What a branch of a `[collect]` fan-out gives its join: `Ok(Ok(value))`, `Ok(Err(..))` for
/// a failed step, and `Err(error)` for an error that stops the whole run (see
/// [`BranchError`]).
///
/// # Errors
///
/// `result`'s error, if it stops the whole run.
pub fn settle<T>(step: &str, result: Result<T, Error>) -> Result<Result<T, BranchError>, Error> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(
            error @ (Error::Cancelled { .. }
            | Error::StepLimit { .. }
            | Error::BudgetExceeded { .. }
            | Error::Checkpoint { .. }),
        ) => Err(error),
        Err(error) => {
            let error = BranchError::new(step, &error);
            crate::event::Scope::branch_failed(|| error.message.clone());
            Ok(Err(error))
        }
    }
}

/// A variant of a state enum, by reference: serializes as the state it is part of would, so
/// that a fan-out can save the run's state while its branches hold parts of it.
pub struct StateView<'a, C> {
    state: &'static str,
    index: u32,
    variant: &'static str,
    content: &'a C,
}

impl<'a, C> StateView<'a, C> {
    /// Variant `variant` (number `index`) of the state enum `state`, holding `content`.
    pub fn new(state: &'static str, index: u32, variant: &'static str, content: &'a C) -> Self {
        StateView {
            state,
            index,
            variant,
            content,
        }
    }
}

impl<C> fmt::Debug for StateView<'_, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateView")
            .field("state", &self.state)
            .field("variant", &self.variant)
            .finish_non_exhaustive()
    }
}

impl<C: StepData> Serialize for StateView<'_, C> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.content
            .serialize_variant(serializer, self.state, self.index, self.variant)
    }
}

/// Runs the map `each step`: `run` once per element of `state.0` that is still pending in
/// `state.1`, at most `concurrency` at a time, in the order of the elements. After each one
/// finishes, its value goes into `state.1` and the run's state (`view` of `state`) is saved
/// with [`Context::checkpoint`]. Returns the values in the order of the elements.
///
/// The first error stops the map: the elements in flight are dropped (cancelled) and the
/// error returned. For a `[collect]` map, `run` returns [`settle`]'s result, so only errors
/// that stop the whole run do.
///
/// # Errors
///
/// The first error `run` returns, or the checkpoint's.
#[allow(clippy::too_many_arguments)]
pub async fn run_each<'a, T, U, F, Fut>(
    cx: &'a Context,
    loops: &Loops,
    view: (&'static str, u32, &'static str),
    state: &'a mut (Vec<T>, Vec<Branch<U>>),
    step: usize,
    concurrency: usize,
    mut run: F,
) -> Result<Vec<U>, Error>
where
    (Vec<T>, Vec<Branch<U>>): StepData,
    F: FnMut(&'a T) -> Fut,
    Fut: Future<Output = Result<U, Error>> + 'a,
{
    // A hand-edited state may hold a different number of results: the elements decide.
    state.1.resize_with(state.0.len(), || Branch::Pending);
    let items: &'a [T] = &state.0;
    let pending: Vec<usize> = (0..items.len())
        .filter(|index| state.1[*index].is_pending())
        .collect();
    let mut pending = pending.into_iter();
    let mut in_flight = FuturesUnordered::new();
    let concurrency = concurrency.max(1);
    let saves = cx.saves_checkpoints();
    loop {
        while in_flight.len() < concurrency {
            let Some(index) = pending.next() else { break };
            let future = cx.branch(step, index, run(&items[index]));
            in_flight.push(future.map(move |result| (index, result)));
        }
        let Some((index, result)) = in_flight.next().await else {
            break;
        };
        state.1[index] = Branch::Done(result?);
        if saves {
            let (name, number, variant) = view;
            cx.checkpoint(&StateView::new(name, number, variant, &*state), loops)
                .await?;
        }
    }
    let mut values = Vec::with_capacity(state.1.len());
    for branch in std::mem::take(&mut state.1) {
        match branch {
            Branch::Done(value) => values.push(value),
            // Every pending element was run above, and an error returned early.
            Branch::Pending => {}
        }
    }
    Ok(values)
}
