//! The run context: the step budget, cancellation, the usage ledger, the run's observer, and
//! running one step under its policy (in `step.rs`).

mod step;
mod unwatched;

pub use step::Steps;
pub use unwatched::Unwatched;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures_util::future::Either;
use serde::Serialize;

use tokio_util::sync::CancellationToken;

use crate::event::Observer;
use crate::{Error, Ledger, Loops, Workflow};

/// A boxed future, as returned by the dyn-compatible traits of the runtime.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where a durable run saves its state in the middle of a step: after each branch of a
/// fan-out finishes, so that a resumed run does not run finished branches again.
///
/// The durable runner installs one with [`Context::with_checkpoints`]; the code of a fan-out
/// calls [`Context::checkpoint`]. Between two steps, the runner saves the state itself.
pub trait Checkpointer: Send + Sync {
    /// Saves `state`, the run's whole state serialized to JSON, and `loops`, as the run's
    /// latest checkpoint.
    ///
    /// # Errors
    ///
    /// When the checkpoint cannot be saved; the run stops with that error.
    fn save<'a>(
        &'a self,
        state: serde_json::Value,
        loops: &'a Loops,
    ) -> BoxFuture<'a, Result<(), Error>>;
}

/// What a running workflow knows about its run; passed to
/// [`Workflow::transition`](crate::Workflow::transition) and
/// [`Workflow::run_from`](crate::Workflow::run_from).
#[derive(Debug)]
pub struct Context {
    workflow: &'static str,
    steps: &'static [&'static str],
    max_steps: u64,
    /// The index in `steps` of the step running now, `usize::MAX` before the first.
    current: AtomicUsize,
    /// What reads the current step back, if anything: then [`Context::enter`] records it.
    watch: Option<Box<Watch>>,
}

/// The parts of a run that need to know which step is running.
#[derive(Default)]
struct Watch {
    cancel: Option<CancellationToken>,
    ledger: Option<Ledger>,
    checkpoints: Option<Arc<dyn Checkpointer>>,
    /// Where the run's events go and its spans are opened, if anything observes it.
    observer: Option<Arc<Observer>>,
}

impl fmt::Debug for Watch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watch")
            .field("cancel", &self.cancel)
            .field("ledger", &self.ledger)
            .field("checkpoints", &self.checkpoints.is_some())
            .field("observer", &self.observer)
            .finish()
    }
}

impl Context {
    /// A context for a run of the workflow named `workflow`, with no step budget and no
    /// cancellation.
    pub fn new(workflow: &'static str) -> Self {
        Context {
            workflow,
            steps: &[],
            max_steps: u64::MAX,
            current: AtomicUsize::new(usize::MAX),
            watch: None,
        }
    }

    /// A context for a run of `W`, which knows its steps by name.
    pub fn of<W: Workflow>() -> Self {
        Context {
            steps: W::STEPS,
            ..Self::new(W::NAME)
        }
    }

    /// Fails the run with [`Error::Cancelled`] at its next step once `token` is cancelled.
    pub fn with_cancellation(mut self, token: CancellationToken) -> Self {
        self.watch.get_or_insert_default().cancel = Some(token);
        self
    }

    /// Tells `ledger` which step is running, so that the model calls of each step are
    /// accounted to it, and fails the run at its next step once its budget is used up. The
    /// ledger is not made current: run the run inside [`Ledger::scope`] for agents to find it.
    pub fn with_ledger(mut self, ledger: Ledger) -> Self {
        self.watch.get_or_insert_default().ledger = Some(ledger);
        self
    }

    /// Saves the run's state through `checkpoints` whenever [`Context::checkpoint`] is called:
    /// what a durable runner does.
    pub fn with_checkpoints(mut self, checkpoints: Arc<dyn Checkpointer>) -> Self {
        self.watch.get_or_insert_default().checkpoints = Some(checkpoints);
        self
    }

    /// Whether [`Context::checkpoint`] saves anything: whether the run is durable.
    #[inline]
    pub fn saves_checkpoints(&self) -> bool {
        self.watch
            .as_ref()
            .is_some_and(|watch| watch.checkpoints.is_some())
    }

    /// Saves `state` and `loops` as the run's latest checkpoint, if the run is durable; does
    /// nothing otherwise. A fan-out calls it each time one of its branches finishes.
    ///
    /// # Errors
    ///
    /// [`Error::Checkpoint`] if `state` does not serialize, or what the store returns.
    pub async fn checkpoint<S: Serialize + ?Sized>(
        &self,
        state: &S,
        loops: &Loops,
    ) -> Result<(), Error> {
        let Some(checkpoints) = self.watch.as_ref().and_then(|w| w.checkpoints.as_ref()) else {
            return Ok(());
        };
        let state = serde_json::to_value(state).map_err(|source| Error::Checkpoint {
            workflow: self.workflow,
            source: source.into(),
        })?;
        checkpoints.save(state, loops).await
    }

    /// The ledger the run's model calls are recorded in, if any.
    pub fn ledger(&self) -> Option<&Ledger> {
        self.watch.as_ref()?.ledger.as_ref()
    }

    /// Tells `observer` what the run does: its steps, attempts and branches.
    pub(crate) fn with_observer(mut self, observer: Arc<Observer>) -> Self {
        self.watch.get_or_insert_default().observer = Some(observer);
        self
    }

    /// The run's observer, if anything observes it.
    pub(crate) fn observer(&self) -> Option<&Arc<Observer>> {
        self.watch.as_ref()?.observer.as_ref()
    }

    /// Fails the run with [`Error::StepLimit`] when it is about to run more than `max` steps.
    pub fn with_max_steps(mut self, max: u64) -> Self {
        self.max_steps = max;
        self
    }

    /// The name of the running workflow.
    pub fn workflow(&self) -> &'static str {
        self.workflow
    }

    /// The step running now, as last announced with [`Context::enter`], if the run can be
    /// cancelled, has a ledger, is observed, or has reached its step budget (otherwise it is
    /// not recorded).
    pub fn current_step(&self) -> Option<&'static str> {
        self.steps
            .get(self.current.load(Ordering::Relaxed))
            .copied()
    }

    /// Runs `future`, branch `index` of a fork running step number `step` in
    /// [`Workflow::STEPS`](crate::Workflow::STEPS): the branch's position in a fan-out, or its
    /// element's index in a map. What it does is accounted to that step while its siblings run
    /// theirs, and an observed run announces its start and end
    /// ([`EventKind::BranchStarted`](crate::event::EventKind::BranchStarted),
    /// [`BranchFinished`](crate::event::EventKind::BranchFinished)) and gives it a
    /// `workflow.step` span.
    ///
    /// In a run with neither a ledger nor an observer, the branch is `future` itself; otherwise
    /// it is boxed with what watches it, so that the branches of a run nothing watches (a map
    /// may hold thousands) are no larger than their futures.
    pub fn branch<T, F>(
        &self,
        step: usize,
        index: usize,
        future: F,
    ) -> impl Future<Output = Result<T, Error>>
    where
        F: Future<Output = Result<T, Error>>,
    {
        let (observer, ledger) = (self.observer(), self.ledger());
        if observer.is_none() && ledger.is_none() {
            return Either::Right(future);
        }
        let observed = match observer {
            Some(observer) => Either::Left(observer.branch(step, index, future)),
            None => Either::Right(future),
        };
        Either::Left(Box::pin(match ledger {
            Some(ledger) => Either::Left(ledger.branch(step, observed)),
            None => Either::Right(observed),
        }))
    }

    /// Announces that the run is about to run its `taken`-th step, number `step` in
    /// [`Workflow::STEPS`](crate::Workflow::STEPS); call it before each step.
    ///
    /// # Errors
    ///
    /// [`Error::StepLimit`] past the step budget, [`Error::Cancelled`] once the run's token is
    /// cancelled, [`Error::BudgetExceeded`] once the ledger's budget is used up.
    ///
    /// In an observed run, this is where the step before ends
    /// ([`EventKind::StepFinished`](crate::event::EventKind::StepFinished)) and this one
    /// starts ([`StepStarted`](crate::event::EventKind::StepStarted), its `workflow.step`
    /// span).
    #[inline(always)]
    pub fn enter(&self, taken: u64, step: usize) -> Result<(), Error> {
        if taken > self.max_steps {
            return Err(self.over_step_limit(step));
        }
        // Only a cancelled run, a ledger and an observer read the current step back; other
        // runs skip it.
        if let Some(watch) = &self.watch {
            return self.enter_watched(watch, step);
        }
        Ok(())
    }

    /// [`Context::enter`] past the step budget.
    #[cold]
    #[inline(never)]
    fn over_step_limit(&self, step: usize) -> Error {
        self.current.store(step, Ordering::Relaxed);
        if let Some(observer) = self.observer() {
            observer.enter(step, false);
        }
        Error::StepLimit {
            workflow: self.workflow,
            max: self.max_steps,
        }
    }

    /// [`Context::enter`] for a run that can be cancelled, has a ledger or is observed. Out of
    /// line, so that the loop of a run with none of them stays as small as it was.
    #[cold]
    #[inline(never)]
    fn enter_watched(&self, watch: &Watch, step: usize) -> Result<(), Error> {
        self.current.store(step, Ordering::Relaxed);
        let result = match (&watch.ledger, &watch.cancel) {
            (Some(ledger), _) if ledger.enter(step) => Err(ledger.exhausted_error()),
            (_, Some(token)) if token.is_cancelled() => Err(self.cancelled()),
            _ => Ok(()),
        };
        if let Some(observer) = &watch.observer {
            observer.enter(step, result.is_ok());
        }
        result
    }

    /// [`Error::Suspended`] at the pause before step `step`: what a run that reaches a pause
    /// without its value returns.
    pub fn suspended(&self, step: &'static str) -> Error {
        Error::Suspended {
            workflow: self.workflow,
            step,
        }
    }

    /// [`Error::Cancelled`] at the current step.
    pub(crate) fn cancelled(&self) -> Error {
        Error::Cancelled {
            workflow: self.workflow,
            step: self.current_step(),
        }
    }

    /// The error for a bounded edge `from -> to` that reached its bound `max` and has no `else`.
    pub fn loop_limit(&self, from: &'static str, to: &'static str, max: u32) -> Error {
        Error::LoopLimit {
            workflow: self.workflow,
            from,
            to,
            max,
        }
    }
}
