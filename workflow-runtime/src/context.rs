//! The run context: the step budget, cancellation, the usage ledger, and running one step under
//! its policy.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio_util::sync::CancellationToken;

use crate::{BoxError, Error, Ledger, StepPolicy, Workflow};

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
#[derive(Debug, Default)]
struct Watch {
    cancel: Option<CancellationToken>,
    ledger: Option<Ledger>,
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
