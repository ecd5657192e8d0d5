//! The run context: the step budget, cancellation, the usage ledger, and running one step under
//! its policy.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures_util::future::Either;
use serde::Serialize;

use tokio_util::sync::CancellationToken;

use crate::{BoxError, Error, Ledger, Loops, StepPolicy, Workflow};

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
}

impl fmt::Debug for Watch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watch")
            .field("cancel", &self.cancel)
            .field("ledger", &self.ledger)
            .field("checkpoints", &self.checkpoints.is_some())
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
    /// cancelled, has a ledger, or has reached its step budget (otherwise it is not recorded).
    pub fn current_step(&self) -> Option<&'static str> {
        self.steps
            .get(self.current.load(Ordering::Relaxed))
            .copied()
    }

    /// Runs `future`, a branch of a fan-out running step number `step` in
    /// [`Workflow::STEPS`](crate::Workflow::STEPS), so that what it does is accounted to that
    /// step while its siblings run theirs.
    pub fn branch<F: Future>(&self, step: usize, future: F) -> impl Future<Output = F::Output> {
        match self.ledger() {
            Some(ledger) => Either::Left(ledger.branch(step, future)),
            None => Either::Right(future),
        }
    }

    /// Announces that the run is about to run its `taken`-th step, number `step` in
    /// [`Workflow::STEPS`](crate::Workflow::STEPS); call it before each step.
    ///
    /// # Errors
    ///
    /// [`Error::StepLimit`] past the step budget, [`Error::Cancelled`] once the run's token is
    /// cancelled, [`Error::BudgetExceeded`] once the ledger's budget is used up.
    #[inline(always)]
    pub fn enter(&self, taken: u64, step: usize) -> Result<(), Error> {
        if taken > self.max_steps {
            self.current.store(step, Ordering::Relaxed);
            return Err(Error::StepLimit {
                workflow: self.workflow,
                max: self.max_steps,
            });
        }
        // Only a cancelled run and a ledger read the current step back; other runs skip it.
        if let Some(watch) = &self.watch {
            return self.enter_watched(watch, step);
        }
        Ok(())
    }

    /// [`Context::enter`] for a run that can be cancelled or has a ledger. Out of line, so that
    /// the loop of a run with neither stays as small as it was.
    #[cold]
    #[inline(never)]
    fn enter_watched(&self, watch: &Watch, step: usize) -> Result<(), Error> {
        self.current.store(step, Ordering::Relaxed);
        if let Some(ledger) = &watch.ledger {
            if ledger.enter(step) {
                return Err(ledger.exhausted_error());
            }
        }
        match &watch.cancel {
            Some(token) if token.is_cancelled() => Err(self.cancelled()),
            _ => Ok(()),
        }
    }

    /// Runs one attempt of step `step`: `fut` under `policy`'s timeout. For a step without
    /// retries.
    ///
    /// # Errors
    ///
    /// [`Error::Step`] with the step's own error (an [`Error`] returned by the step is passed on
    /// unchanged), or [`Error::Timeout`].
    pub async fn step<T, Fut>(
        &self,
        step: &'static str,
        policy: &StepPolicy,
        fut: Fut,
    ) -> Result<T, Error>
    where
        Fut: Future<Output = Result<T, BoxError>>,
    {
        self.attempt(step, policy, 1, fut).await
    }

    /// Runs step `step` with `policy`'s retries: `make` builds the future of one attempt. A
    /// failed attempt whose error is transient ([`Error::is_transient`]) is retried after an
    /// exponential backoff with jitter.
    ///
    /// # Errors
    ///
    /// The error of the last attempt, as [`Context::step`] describes.
    pub async fn step_with_retry<T, F, Fut>(
        &self,
        step: &'static str,
        policy: &StepPolicy,
        mut make: F,
    ) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, BoxError>>,
    {
        let mut delays = policy.delays();
        let mut attempt = 1;
        loop {
            let error = match self.attempt(step, policy, attempt, make()).await {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            match delays.next() {
                Some(delay) if error.is_transient() => tokio::time::sleep(delay).await,
                _ => return Err(error),
            }
            attempt += 1;
        }
    }

    async fn attempt<T, Fut>(
        &self,
        step: &'static str,
        policy: &StepPolicy,
        attempt: u32,
        fut: Fut,
    ) -> Result<T, Error>
    where
        Fut: Future<Output = Result<T, BoxError>>,
    {
        let result = match policy.attempt_timeout() {
            None => fut.await,
            Some(after) => match tokio::time::timeout(after, fut).await {
                Ok(result) => result,
                Err(_) => {
                    return Err(Error::Timeout {
                        workflow: self.workflow,
                        step,
                        after,
                    })
                }
            },
        };
        result.map_err(|source| self.failed(step, attempt, source))
    }

    /// The error of step `step`, which failed with `source` on its only attempt: `source`
    /// itself if it is an [`Error`], [`Error::Step`] otherwise.
    pub fn step_error(&self, step: &'static str, source: BoxError) -> Error {
        self.failed(step, 1, source)
    }

    fn failed(&self, step: &'static str, attempts: u32, source: BoxError) -> Error {
        match source.downcast::<Error>() {
            Ok(error) => *error,
            Err(source) => Error::Step {
                workflow: self.workflow,
                step,
                attempts,
                source,
            },
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
