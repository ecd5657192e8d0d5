//! Starting a run: its scope if anything reads it (ledger, events, spans), the race against
//! its cancellation and, for a durable run, against the loss of its lease, then the
//! [`drive`](super::drive::drive) loop.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::drive::{cancelled, drive, drive_to, stop, Hooks, Saver, Stop};
use crate::context::{Context, Limits};
use crate::error::Error;
use crate::event::{Event, Journal};
use crate::future::BoxFuture;
use crate::id::RunId;
use crate::scope::{Ending, Parts, Recorder, RunScope, RunTrace};
use crate::state::Loops;
use crate::usage::{Budget, Ledger, Pricing, SavedUsage, UsageReport};
use crate::workflow::Workflow;

/// What a run is started with, from the [`Executor`](crate::Executor) or the
/// [`Runner`](crate::Runner) that starts it.
pub(crate) struct Options<'a> {
    pub(crate) cancel: Option<&'a CancellationToken>,
    pub(crate) max_steps: Option<u64>,
    pub(crate) budget: Budget,
    pub(crate) pricing: Option<&'a Arc<Pricing>>,
    /// Where its events go: the channels of the executor's subscribers and of the run.
    pub(crate) sinks: Vec<broadcast::Sender<Event>>,
}

impl Options<'_> {
    /// No cancellation, no limits, no prices, nowhere for events to go.
    pub(crate) fn none() -> Self {
        Options {
            cancel: None,
            max_steps: None,
            budget: Budget::new(),
            pricing: None,
            sinks: Vec::new(),
        }
    }
}

/// What a durable run adds: where its checkpoints go, and what watches its lease.
pub(crate) struct Durable<'a, S> {
    pub(crate) saver: &'a dyn Saver<S>,
    pub(crate) recorder: Arc<dyn Recorder>,
    /// Renews the lease while the run goes; ends with the error that says it was lost.
    pub(crate) watchdog: BoxFuture<'a, Error>,
    /// What the run spent before this call took it up (from the checkpoint it resumes from):
    /// where its ledger starts, so that its report, events and budget count the whole run.
    pub(crate) spent: SavedUsage,
    /// Where the run keeps its events for its event log, unless its runner logs none.
    pub(crate) journal: Option<Arc<Journal>>,
}

/// One run to start.
pub(crate) struct Launch<'a, W: Workflow> {
    pub(crate) workflow: &'a W,
    pub(crate) state: W::State,
    pub(crate) loops: Loops,
    pub(crate) options: Options<'a>,
    /// The run's id, if it has one already (a durable run); otherwise made if anything needs
    /// it.
    pub(crate) id: Option<RunId>,
    /// Whether the caller reads what the run spent.
    pub(crate) usage: bool,
    /// The step a resumed run resumes before, for its first event.
    pub(crate) resumed: Option<&'static str>,
    pub(crate) durable: Option<Durable<'a, W::State>>,
}

/// A run after it stopped.
pub(crate) struct Finish<W: Workflow> {
    /// Its id, if it had one or anything needed one.
    pub(crate) id: Option<RunId>,
    pub(crate) result: Result<Stop<W>, Error>,
    /// What it spent, if the caller asked.
    pub(crate) usage: Option<UsageReport>,
}

/// A run, once started: one that nothing limits or reads but its caller, to run with
/// [`plain`] wherever the caller likes, or the future of one that something watches, boxed.
pub(crate) enum Started<'a, W: Workflow> {
    Plain {
        workflow: &'a W,
        state: W::State,
        loops: Loops,
    },
    Watched(BoxFuture<'a, Finish<W>>),
}

impl<'a, W: Workflow> Started<'a, W> {
    /// Runs the run to its end.
    // Not an `async fn`: its future would keep a copy of each argument.
    #[allow(clippy::manual_async_fn)]
    pub(crate) fn finish(self) -> impl Future<Output = Finish<W>> + Send + 'a {
        async move {
            match self {
                Started::Plain {
                    workflow,
                    state,
                    loops,
                } => Finish {
                    id: None,
                    result: plain(workflow, state, loops).await,
                    usage: None,
                },
                Started::Watched(run) => run.await,
            }
        }
    }
}

/// The driver of a run that nothing limits or reads, from `state` and `loops`: its steps and
/// nothing else.
pub(crate) fn plain<'a, W: Workflow>(
    workflow: &'a W,
    state: W::State,
    loops: Loops,
) -> impl Future<Output = Result<Stop<W>, Error>> + Send + 'a {
    drive(
        workflow,
        state,
        Context::with_loops(W::NAME, loops),
        &Hooks::NONE,
    )
}

/// An in-memory run with no options, from `state` and `loops`, to its output (one layer less
/// than mapping its [`Stop`] after). At its first poll it asks whether a `tracing` subscriber
/// wants its spans, and if one does it runs watched (boxed); otherwise it takes its steps and
/// nothing else, its driver's future built in this one's room and never moved (a future
/// handed on from one layer to the next is copied whole, and a run's future is large: each
/// copy cost about as much as a step).
// Not an `async fn`: its future would keep a copy of each argument.
#[allow(clippy::manual_async_fn)]
pub(crate) fn in_memory<'a, W: Workflow>(
    workflow: &'a W,
    state: W::State,
    loops: Loops,
) -> impl Future<Output = Result<W::Output, Error>> + Send + 'a {
    // Made here, not in the future: what a future captures keeps its room to the end, and
    // the context holds the loop counters it would otherwise capture too.
    let mut cx = Context::with_loops(W::NAME, loops);
    async move {
        // Asked before the state is moved anywhere: each move of it is a copy of the whole
        // state, its largest variant's size (a fan-out's, with all its branches' slots).
        if let Some(trace) = RunTrace::start(W::NAME, RunId::default) {
            let launch = Launch {
                workflow,
                state,
                loops: cx.into_loops(),
                options: Options::none(),
                id: None,
                usage: false,
                resumed: None,
                durable: None,
            };
            let finish = Box::pin(watched(launch, Some(trace))).await;
            return finish.result.and_then(Stop::into_output);
        }
        let reached = drive_to(workflow, state, &mut cx, &Hooks::NONE).await;
        stop(reached, &cx, &Hooks::NONE).and_then(Stop::into_output)
    }
}

/// Starts `launch`: call it when the run starts (its first poll), which is when it asks
/// whether a `tracing` subscriber wants its spans.
pub(crate) fn start<'a, W: Workflow>(launch: Launch<'a, W>) -> Started<'a, W> {
    let trace = RunTrace::start(W::NAME, || launch.id.unwrap_or_default());
    let options = &launch.options;
    let unwatched = trace.is_none()
        && !launch.usage
        && launch.durable.is_none()
        && options.cancel.is_none()
        && options.max_steps.is_none()
        && options.sinks.is_empty()
        && options.budget.is_unlimited();
    if unwatched {
        Started::Plain {
            workflow: launch.workflow,
            state: launch.state,
            loops: launch.loops,
        }
    } else {
        Started::Watched(Box::pin(watched(launch, trace)))
    }
}

/// A run with a limit, or something that reads it: its scope (ledger, events, spans), and the
/// race against its cancellation and the loss of its lease.
async fn watched<W: Workflow>(launch: Launch<'_, W>, trace: Option<RunTrace>) -> Finish<W> {
    let Launch {
        workflow,
        state,
        loops,
        options,
        id,
        usage,
        resumed,
        durable,
    } = launch;
    let id = trace.as_ref().map(RunTrace::run).or(id).unwrap_or_default();
    let span = trace.as_ref().map(|trace| trace.span().clone());
    let mut ledger = Ledger::for_run(W::NAME, W::STEPS)
        .budget(options.budget)
        .pricing(options.pricing.cloned().unwrap_or_default());
    let (saver, recorder, watchdog, journal) = match durable {
        Some(durable) => {
            ledger = ledger.starting_from(&durable.spent);
            (
                Some(durable.saver),
                Some(durable.recorder),
                Some(durable.watchdog),
                durable.journal,
            )
        }
        None => (None, None, None, None),
    };
    let run = RunScope::new(Parts {
        id,
        workflow: W::NAME,
        steps: W::STEPS,
        ledger: Some(ledger.clone()),
        sinks: options.sinks,
        trace,
        recorder,
        journal,
    });
    let hooks = Hooks {
        max_steps: options.max_steps.unwrap_or(u64::MAX),
        cancel: options.cancel,
        saver,
        one_step: false,
    };
    let limits = Limits::shared(options.max_steps, options.cancel.cloned());
    let mut cx = Context::with_loops(W::NAME, loops)
        .watched(Arc::clone(&run))
        .limited(limits);
    if hooks.saver.is_some() {
        cx = cx.durable();
    }
    run.started(resumed);
    let driven = run.scope().enter(drive(workflow, state, cx, &hooks));
    let raced = match span {
        Some(span) => {
            race(driven, options.cancel, watchdog)
                .instrument(span)
                .await
        }
        None => race(driven, options.cancel, watchdog).await,
    };
    let mut result = raced
        .unwrap_or_else(|lost| Err(lost.unwrap_or_else(|| cancelled::<W>(run.current_step()))));
    let last = run.ending(match &result {
        Ok(Stop::Finished(_)) => Ending::Completed,
        Ok(Stop::Suspended { pause }) => Ending::Suspended(pause.outer_step()),
        Ok(
            Stop::Sleeping { step, .. } | Stop::Receiving { step, .. } | Stop::Approving { step },
        ) => Ending::Suspended(step),
        Err(error) => Ending::Failed(error),
    });
    // A durable run's ending checkpoint is saved with its last event, before its subscribers
    // hear of it: one that sees `Completed` finds the run finished in its store.
    let saved = match (hooks.saver, &result) {
        (Some(saver), Ok(_)) => saver.save_ending().await,
        _ => Ok(()),
    };
    match saved {
        Ok(()) => run.deliver(last),
        Err(error) => {
            run.ended(Ending::Failed(&error));
            result = Err(error);
        }
    }
    Finish {
        id: Some(id),
        result,
        usage: usage.then(|| ledger.report()),
    }
}

/// Runs `driven`, the run, until it ends, `cancel` is cancelled (then `Err(None)`: the step in
/// flight is dropped), or `watchdog` ends (then `Err(Some(error))`: the lease is lost).
async fn race<F: Future>(
    driven: F,
    cancel: Option<&CancellationToken>,
    watchdog: Option<BoxFuture<'_, Error>>,
) -> Result<F::Output, Option<Error>> {
    if cancel.is_none() && watchdog.is_none() {
        return Ok(driven.await);
    }
    let cancelled = async {
        match cancel {
            Some(token) => token.cancelled().await,
            None => std::future::pending().await,
        }
    };
    let lost = async {
        match watchdog {
            Some(watchdog) => watchdog.await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        biased;
        output = driven => Ok(output),
        () = cancelled => Err(None),
        error = lost => Err(Some(error)),
    }
}
