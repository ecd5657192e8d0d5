//! Running one step under its policy: its timeout, its retries, and the error it fails with.

use std::future::Future;

use super::Context;
use crate::error::{BoxError, Error, ProviderError};
use crate::policy::{self, StepPolicy};
use crate::scope::Scope;

impl Context {
    /// Runs one attempt of step `step`: `fut` under `policy`'s timeout. For a step without
    /// retries.
    ///
    /// # Errors
    ///
    /// [`Error::Step`] with the step's own error (an [`Error`] the step returned too, but for
    /// [`Error::Cancelled`] and [`Error::BudgetExceeded`], which stop the run and pass through
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
        attempt(self.workflow, step, policy, 1, fut).await
    }

    /// Runs step `step` with `policy`'s retries: `make` builds the future of one attempt. A
    /// failed attempt whose error is transient ([`Error::is_transient`]) is retried after an
    /// exponential backoff with jitter; a watched run tells its subscribers of each retry.
    ///
    /// With retries, the step is in charge of retrying the model calls its attempts make: a
    /// provider tries each call once, and a failed call whose server asked to wait
    /// ([`ProviderError::retry_after`], found among the sources of the step's error by
    /// [`Error::provider`]) is retried after that wait instead of the backoff, or not at
    /// all if the wait is longer than the policy's
    /// [`max_backoff`](StepPolicy::max_backoff).
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
        let by_step = policy.retries() > 0;
        let mut number = 1;
        loop {
            let fut = policy::step_attempt(by_step, make());
            let error = match attempt(self.workflow, step, policy, number, fut).await {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            let asked = || error.provider().and_then(ProviderError::retry_after);
            let delay = delays.next().filter(|_| error.is_transient());
            let Some(delay) = delay.and_then(|backoff| policy.delay(backoff, asked())) else {
                return Err(error);
            };
            // The scope of the future running now: the run's, or the branch's.
            let scope = Scope::current();
            if let Some(scope) = &scope {
                scope.run().retrying(step, number, &error, delay);
            }
            tokio::time::sleep(delay).await;
            number += 1;
            if let Some(scope) = &scope {
                scope.run().attempt(step, number);
                // The new attempt finds the calls the failed one recorded, from the first.
                scope.restart_calls();
            }
        }
    }

    /// Takes the error route of step `step` to step `handler`: the step's own error, out of
    /// `error`, the step's failure after its retries ([`Error::into_step_error`]), and for a
    /// watched run, notes that the step failed and its error went to `handler` (the driver
    /// then tells of a [`StepFailed`](crate::event::EventKind::StepFailed) instead of a
    /// `StepFinished`). This is what `step? -> handler` in `flow!` runs.
    ///
    /// ```
    /// use workflow_runtime::{Context, Error};
    ///
    /// let mut cx = Context::new("Fetch");
    /// let failed = Error::Step {
    ///     workflow: "Fetch",
    ///     step: "fetch",
    ///     attempts: 3,
    ///     source: Box::new(std::io::Error::other("unreachable")),
    /// };
    /// let error: std::io::Error = cx.route_error("fetch", "give_up", failed)?;
    /// assert_eq!(error.to_string(), "unreachable");
    /// # Ok::<(), Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// `error` itself if it is not a failure of the step with an error of type `E`:
    /// cancellation, a spent budget, a timeout (unless `E` is [`Error`]), which stop the run.
    pub fn route_error<E: std::error::Error + Send + Sync + 'static>(
        &mut self,
        step: &'static str,
        handler: &'static str,
        error: Error,
    ) -> Result<E, Error> {
        let described = self.run.is_some().then(|| crate::error::describe(&error));
        let routed = error.into_step_error::<E>()?;
        if let Some(described) = described {
            tracing::debug!(target: "workflow", step, handler, "error routed");
            self.routed = Some(Box::new((described, handler)));
        }
        Ok(routed)
    }

    /// The error of step `step`, which failed with `source` on its only attempt: [`Error::Step`]
    /// (see [`Context::step`]).
    pub fn step_error(&self, step: &'static str, source: BoxError) -> Error {
        failed(self.workflow, step, 1, source)
    }
}

/// Attempt number `number` of step `step` of `workflow`: `fut` under `policy`'s timeout.
async fn attempt<T, Fut>(
    workflow: &'static str,
    step: &'static str,
    policy: &StepPolicy,
    number: u32,
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
                    workflow,
                    step,
                    after,
                })
            }
        },
    };
    result.map_err(|source| failed(workflow, step, number, source))
}

/// The error of step `step` of `workflow` after `attempts` attempts, the last failing with
/// `source`: [`Error::Step`], naming the step and its attempts, whatever the step returned, but
/// for the errors that stop the whole run (cancellation, a spent budget), which pass through.
fn failed(workflow: &'static str, step: &'static str, attempts: u32, source: BoxError) -> Error {
    if let Some(error) = crate::error::approval_needed(source.as_ref(), Some(step)) {
        return error;
    }
    let source = match source.downcast::<Error>() {
        Ok(error) => match *error {
            error @ (Error::Cancelled { .. } | Error::BudgetExceeded { .. }) => return error,
            // The step's own error, boxed by `Error::other`: it is the step's error itself.
            Error::Other(source) => source,
            error => Box::new(error),
        },
        Err(source) => source,
    };
    Error::Step {
        workflow,
        step,
        attempts,
        source,
    }
}
