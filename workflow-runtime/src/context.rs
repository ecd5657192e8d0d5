//! The run context: runs one step under its policy and the run's cancellation.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::{BoxError, Error, StepPolicy};

/// What a running workflow knows about its run; passed to
/// [`Workflow::transition`](crate::Workflow::transition).
#[derive(Debug, Clone)]
pub struct Context {
    workflow: &'static str,
    cancel: Option<CancellationToken>,
}

impl Context {
    /// A context for a run of the workflow named `workflow`.
    pub fn new(workflow: &'static str) -> Self {
        Context {
            workflow,
            cancel: None,
        }
    }

    /// Stops the run's steps as soon as `token` is cancelled.
    pub fn with_cancellation(mut self, token: CancellationToken) -> Self {
        self.cancel = Some(token);
        self
    }

    /// The name of the running workflow.
    pub fn workflow(&self) -> &'static str {
        self.workflow
    }

    /// Whether the run was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(CancellationToken::is_cancelled)
    }

    /// Runs one attempt of step `step`: `fut` under `policy`'s timeout and the run's
    /// cancellation. For a step without retries.
    ///
    /// # Errors
    ///
    /// [`Error::Step`] with the step's own error (an [`Error`] returned by the step is passed on
    /// unchanged), [`Error::Timeout`] or [`Error::Cancelled`].
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
    /// The error of the last attempt, as [`Context::step`] describes, or [`Error::Cancelled`]
    /// if the run is cancelled while waiting to retry.
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
                Some(delay) if error.is_transient() => self.sleep(step, delay).await?,
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
        let timed = async {
            let result = match policy.attempt_timeout() {
                None => fut.await,
                Some(after) => match tokio::time::timeout(after, fut).await {
                    Ok(result) => result,
                    Err(_) => return Err(self.timeout(step, after)),
                },
            };
            result.map_err(|source| self.step_failed(step, attempt, source))
        };
        match &self.cancel {
            None => timed.await,
            Some(token) => tokio::select! {
                biased;
                result = timed => result,
                () = token.cancelled() => Err(self.cancelled(Some(step))),
            },
        }
    }

    async fn sleep(&self, step: &'static str, delay: Duration) -> Result<(), Error> {
        match &self.cancel {
            None => Ok(tokio::time::sleep(delay).await),
            Some(token) => tokio::select! {
                () = tokio::time::sleep(delay) => Ok(()),
                () = token.cancelled() => Err(self.cancelled(Some(step))),
            },
        }
    }

    fn step_failed(&self, step: &'static str, attempts: u32, source: BoxError) -> Error {
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

    fn timeout(&self, step: &'static str, after: Duration) -> Error {
        Error::Timeout {
            workflow: self.workflow,
            step,
            after,
        }
    }

    pub(crate) fn cancelled(&self, step: Option<&'static str>) -> Error {
        Error::Cancelled {
            workflow: self.workflow,
            step,
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
