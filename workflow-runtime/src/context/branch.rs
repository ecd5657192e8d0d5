//! Running the branches of a fan-out and the elements of a map: each in its own scope when the
//! run is watched, each saved as soon as it finishes when the run is durable.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as Task, Poll};

use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::FutureExt;
use pin_project_lite::pin_project;

use super::Context;
use crate::error::Error;
use crate::future::BoxFuture;
use crate::scope::{RunScope, Scope};
use crate::state::{Branch, BranchError, StepData};

impl Context {
    /// Runs branch number `index` (from 0, in the order written) of a fan-out, whose step is
    /// `step` and whose slot in the state is `slot`: a finished branch (`Branch::Done`, as a
    /// resumed run holds it) gives its value back without running; a pending one runs
    /// `future`. Run the branches of one fan-out together with `tokio::try_join!`, so that the
    /// first error drops (cancels) the others.
    ///
    /// In a watched run the branch runs in a scope of its own: the calls made in it are
    /// accounted to `step`, and its start and end are events (`BranchStarted`,
    /// `BranchFinished`). In a durable run its value is saved as soon as it finishes, so that
    /// a run resumed after a crash does not run it again. For that, the state variant of a
    /// fan-out holds `(input, (Branch<A>, Branch<B>, …))`, which serializes as
    /// `[input, [branch, branch, …]]`: the saved value goes in its slot there.
    ///
    /// ```
    /// use workflow_runtime::state::Branch;
    /// use workflow_runtime::{Context, Error};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let cx = Context::new("Review");
    /// // `length` finished before a crash; `sentiment` runs.
    /// let (sentiment, length) = tokio::try_join!(
    ///     cx.branch("sentiment", 0, Branch::Pending, async { Ok("positive".to_owned()) }),
    ///     cx.branch("length", 1, Branch::Done(9), async { unreachable!("it is done") }),
    /// )?;
    /// assert_eq!((sentiment.as_str(), length), ("positive", 9));
    /// # Ok::<(), Error>(()) }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// What `future` fails with; [`Error::Checkpoint`] if the value cannot be saved.
    #[inline]
    pub fn branch<'a, T, F>(
        &'a self,
        step: &'static str,
        index: usize,
        slot: Branch<T>,
        future: F,
    ) -> impl Future<Output = Result<T, Error>> + Send + 'a
    where
        T: StepData + Send + 'a,
        F: Future<Output = Result<T, Error>> + Send + 'a,
    {
        match (slot, &self.run) {
            (Branch::Done(value), _) => Running::Done { value: Some(value) },
            (Branch::Pending, None) => Running::Plain { future },
            // Boxed: a run nothing watches keeps its branches as small as their own futures.
            (Branch::Pending, Some(run)) => Running::Watched {
                future: Box::pin(self.watched_branch(run, step, index, future)),
            },
        }
    }

    /// Branch `index` running `step` of a run something watches or saves: in a scope of its
    /// own, then saved if the run is durable.
    async fn watched_branch<T, F>(
        &self,
        run: &Arc<RunScope>,
        step: &'static str,
        index: usize,
        future: F,
    ) -> Result<T, Error>
    where
        T: StepData,
        F: Future<Output = Result<T, Error>>,
    {
        let value = run.branch(step, index, future).await?;
        if let Some(recorder) = run.recorder() {
            let json = value.serialize_value(serde_json::value::Serializer);
            let json = json.map_err(|source| Error::Checkpoint {
                workflow: self.workflow,
                source: source.into(),
            })?;
            recorder.record(index, json, run.saved_usage()).await?;
        }
        Ok(value)
    }

    /// Runs the map `each step` over `items`: `run` once per element whose slot in `done` is
    /// still pending, at most `concurrency` at a time, in the order of the elements; returns
    /// every element's value, in that order. `done` is what the state holds for the elements:
    /// all pending at first, some finished in a resumed run (one finished element per
    /// [`Context::branch`], which runs each element). The state variant of a map holds
    /// `(items, done)`, which serializes as `[[item, …], [branch, …]]`.
    ///
    /// The first error stops the map: the elements in flight are dropped (cancelled) and the
    /// error returned. For a `[collect]` map, `run` returns [`settle`]'s result, so that only
    /// errors that stop the whole run do.
    ///
    /// ```
    /// use workflow_runtime::state::Branch;
    /// use workflow_runtime::{Context, Error};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let cx = Context::new("Sections");
    /// let items = vec!["aaaa".to_owned(), "b".to_owned(), "cc".to_owned()];
    /// // The first element finished before a crash.
    /// let done = vec![Branch::Done(4), Branch::Pending, Branch::Pending];
    /// let lengths = cx
    ///     .each("measure", &items, done, 2, |item: &String| {
    ///         let length = item.len();
    ///         async move { Ok(length) }
    ///     })
    ///     .await?;
    /// assert_eq!(lengths, [4, 1, 2]);
    /// # Ok::<(), Error>(()) }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// The first error `run` returns, or the error of saving a finished element.
    pub async fn each<'a, T, U, F, Fut>(
        &'a self,
        step: &'static str,
        items: &'a [T],
        mut done: Vec<Branch<U>>,
        concurrency: usize,
        mut run: F,
    ) -> Result<Vec<U>, Error>
    where
        U: StepData + Send + 'a,
        F: FnMut(&'a T) -> Fut,
        Fut: Future<Output = Result<U, Error>> + Send + 'a,
    {
        // A hand-edited state may hold a different number of results: the elements decide.
        done.resize_with(items.len(), || Branch::Pending);
        let pending: Vec<usize> = (0..items.len())
            .filter(|index| done[*index].is_pending())
            .collect();
        let mut pending = pending.into_iter();
        let mut in_flight = FuturesUnordered::new();
        let concurrency = concurrency.max(1);
        loop {
            while in_flight.len() < concurrency {
                let Some(index) = pending.next() else { break };
                let future = self.branch(step, index, Branch::Pending, run(&items[index]));
                in_flight.push(future.map(move |result| (index, result)));
            }
            let Some((index, result)) = in_flight.next().await else {
                break;
            };
            done[index] = Branch::Done(result?);
        }
        let mut values = Vec::with_capacity(done.len());
        for branch in done {
            match branch {
                Branch::Done(value) => values.push(value),
                // Every pending element was run above, and an error returned early.
                Branch::Pending => {}
            }
        }
        Ok(values)
    }
}

/// What a branch of a `[collect]` fan-out or map gives its join: `Ok(Ok(value))`,
/// `Ok(Err(..))` for a failed step, and `Err(error)` for an error that stops the whole run
/// (see [`BranchError`]).
///
/// # Errors
///
/// `result`'s error, if it stops the whole run.
pub fn settle<T>(step: &str, result: Result<T, Error>) -> Result<Result<T, BranchError>, Error> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(
            error @ (Error::Cancelled { .. }
            | Error::ApprovalNeeded { .. }
            | Error::StepLimit { .. }
            | Error::BudgetExceeded { .. }
            | Error::Checkpoint { .. }),
        ) => Err(error),
        Err(error) => {
            let error = BranchError::new(step, &error);
            Scope::branch_failed(|| error.message.clone());
            Ok(Err(error))
        }
    }
}

pin_project! {
    /// The future of a step that cannot fail, as a branch runs it: its output as `Ok`. What
    /// `#[workflow]` gives [`Context::branch`] for such a step, rather than an `async` block
    /// around it (a future of its own, with its own state, in every branch).
    #[doc(hidden)]
    pub struct Succeeds<F> {
        #[pin]
        future: F,
    }
}

impl<F> Succeeds<F> {
    /// `future`'s output as `Ok`.
    #[doc(hidden)]
    pub fn new(future: F) -> Self {
        Succeeds { future }
    }
}

impl<F: Future> Future for Succeeds<F> {
    type Output = Result<F::Output, Error>;

    #[inline]
    fn poll(self: Pin<&mut Self>, task: &mut Task<'_>) -> Poll<Self::Output> {
        self.project().future.poll(task).map(Ok)
    }
}

pin_project! {
    /// One branch, as [`Context::branch`] runs it.
    #[project = RunningProj]
    enum Running<'a, T, F> {
        /// Finished before: its value, to give back (taken once).
        Done { value: Option<T> },
        /// Its own future, in a run nothing watches or saves.
        Plain { #[pin] future: F },
        /// In a scope of its own, then saved: boxed.
        Watched { future: BoxFuture<'a, Result<T, Error>> },
    }
}

impl<T, F: Future<Output = Result<T, Error>>> Future for Running<'_, T, F> {
    type Output = Result<T, Error>;

    #[inline]
    fn poll(self: Pin<&mut Self>, task: &mut Task<'_>) -> Poll<Self::Output> {
        match self.project() {
            // Polled again once done, it has nothing more to give: it never ends.
            RunningProj::Done { value } => {
                value.take().map_or(Poll::Pending, |v| Poll::Ready(Ok(v)))
            }
            RunningProj::Plain { future } => future.poll(task),
            RunningProj::Watched { future } => future.as_mut().poll(task),
        }
    }
}
