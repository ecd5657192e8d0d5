//! Driving a run to its end: with its ledger current, racing its cancellation token, and, when
//! something observes it, with its observer told of its start and end.

use std::sync::Arc;

use tokio::sync::broadcast;

use super::Executor;
use crate::event::{Event, Observer, RunId, RunTrace};
use crate::{BoxFuture, Context, Error, Ledger, Loops, Workflow};

/// What observes a run about to start: the channels its events go to and its `tracing`
/// spans. Made only when there is at least one.
pub(crate) struct Watchers {
    run: RunId,
    sinks: Vec<broadcast::Sender<Event>>,
    trace: Option<RunTrace>,
}

impl Watchers {
    /// The observer of the run, with `ledger` to read the usage of its steps from.
    pub(crate) fn observer<W: Workflow>(self, ledger: Option<Ledger>) -> Arc<Observer> {
        Observer::new::<W>(self.run, self.sinks, ledger, self.trace)
    }
}

impl Executor {
    /// What observes a run of `W` about to start, if anything does: the executor's
    /// subscribers, `sink` (the channel of one run), a `tracing` subscriber. The run's id is
    /// `run`, or a new one.
    pub(crate) fn watchers<W: Workflow>(
        &self,
        sink: Option<broadcast::Sender<Event>>,
        run: Option<RunId>,
    ) -> Option<Watchers> {
        let sinks: Vec<_> = self.events.listened().into_iter().chain(sink).collect();
        let run = run.or_else(|| (!sinks.is_empty()).then(RunId::new));
        let trace = RunTrace::start(W::NAME, || run.unwrap_or_default());
        let run = trace.as_ref().map(RunTrace::run).or(run)?;
        Some(Watchers { run, sinks, trace })
    }

    /// Runs to the end, with `ledger` (if any, or if the run is observed) current and told of
    /// each step, and the run's observer (if anything observes it, see
    /// [`watchers`](Self::watchers)) told what happens.
    pub(super) async fn drive<W: Workflow>(
        &self,
        workflow: &W,
        state: W::State,
        mut loops: Loops,
        ledger: Option<Ledger>,
        sink: Option<broadcast::Sender<Event>>,
    ) -> Result<W::Output, Error> {
        let watchers = self.watchers::<W>(sink, None);
        // Without a budget or an observer, a ledger would record what nobody reads: the run
        // goes without.
        let wanted = watchers.is_some() || !self.budget.is_unlimited();
        let ledger = ledger.or_else(|| wanted.then(|| self.ledger::<W>()));
        let mut cx = Context::of::<W>();
        if let Some(max) = self.max_steps {
            cx = cx.with_max_steps(max);
        }
        if let Some(ledger) = &ledger {
            cx = cx.with_ledger(ledger.clone());
        }
        let Some(observer) = watchers.map(|watchers| watchers.observer::<W>(ledger.clone())) else {
            return match ledger {
                Some(ledger) => {
                    ledger
                        .scope(self.race(workflow, state, &mut loops, cx))
                        .await
                }
                None => self.race(workflow, state, &mut loops, cx).await,
            };
        };
        cx = cx.with_observer(Arc::clone(&observer));
        observer.run_started();
        let race = self.race(workflow, state, &mut loops, cx);
        let result = match ledger {
            Some(ledger) => observer.instrument(ledger.scope(race)).await,
            None => observer.instrument(race).await,
        };
        observer.ended(&result);
        result
    }

    /// Runs to the end, racing the cancellation token if there is one.
    async fn race<W: Workflow>(
        &self,
        workflow: &W,
        state: W::State,
        loops: &mut Loops,
        cx: Context,
    ) -> Result<W::Output, Error> {
        let Some(token) = &self.cancel else {
            return workflow.run_from(state, loops, &cx).await;
        };
        let cx = cx.with_cancellation(token.clone());
        // The whole run races the token, so a step in flight is dropped when it fires; steps
        // that never suspend are stopped by `Context::enter` before the next one.
        tokio::select! {
            biased;
            result = workflow.run_from(state, loops, &cx) => result,
            () = token.cancelled() => Err(cx.cancelled()),
        }
    }
}

/// Runs `workflow` on `input` in memory, with no cancellation and no budgets: what the
/// generated `run` of a workflow with a fan-out or a map returns.
///
/// It opens no [`Ledger`] and sends no [`Event`]s: its model calls are recorded only if it
/// runs inside another run (in a step of it), whose ledger then accounts them to that step. Use
/// [`Executor::run_with_report`] to see what a run spent, and [`Executor::subscribe`] to
/// watch it. When a `tracing` subscriber wants the `workflow.run` span, the run opens its
/// spans (see [`event`](crate::event)), with a ledger for their token counts.
///
/// # Errors
///
/// The first error that stops the run: see [`Error`].
pub async fn run<W: Workflow>(workflow: &W, input: W::Input) -> Result<W::Output, Error> {
    match run_traced(workflow, input) {
        Ok(traced) => traced.await,
        Err(input) => {
            let cx = Context::of::<W>();
            let mut loops = Loops::new();
            workflow.run_from(W::start(input), &mut loops, &cx).await
        }
    }
}

/// The run of `workflow` on `input` that [`run`] and [`RunFuture`](crate::RunFuture) make
/// when a `tracing` subscriber wants its `workflow.run` span, boxed; or `input` back when none
/// does, for the caller to run it with nothing watching.
///
/// # Errors
///
/// `input`, when no `tracing` subscriber wants the run's spans.
pub(crate) fn run_traced<W: Workflow>(
    workflow: &W,
    input: W::Input,
) -> Result<BoxFuture<'_, Result<W::Output, Error>>, W::Input> {
    match RunTrace::start(W::NAME, RunId::new) {
        Some(trace) => Ok(boxed(workflow, input, trace)),
        None => Err(input),
    }
}

/// The traced run, boxed: kept out of line, so that the code of a run nothing watches stays
/// small enough to be inlined where it is awaited.
#[cold]
#[inline(never)]
fn boxed<W: Workflow>(
    workflow: &W,
    input: W::Input,
    trace: RunTrace,
) -> BoxFuture<'_, Result<W::Output, Error>> {
    Box::pin(traced(workflow, input, trace))
}

/// [`run`] with its `tracing` spans.
async fn traced<W: Workflow>(
    workflow: &W,
    input: W::Input,
    trace: RunTrace,
) -> Result<W::Output, Error> {
    let ledger = Ledger::of::<W>();
    let observer = Observer::new::<W>(trace.run(), Vec::new(), Some(ledger.clone()), Some(trace));
    let cx = Context::of::<W>()
        .with_ledger(ledger.clone())
        .with_observer(Arc::clone(&observer));
    let mut loops = Loops::new();
    let run = workflow.run_from(W::start(input), &mut loops, &cx);
    let result = observer.instrument(ledger.scope(run)).await;
    observer.ended(&result);
    result
}
