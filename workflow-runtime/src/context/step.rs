//! Running one step under its policy: its timeout, its retries, and the error it fails with.

use std::future::Future;

use super::Context;
use crate::{BoxError, Error, StepPolicy};

impl Context {
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
            let delay = match delays.next() {
                Some(delay) if error.is_transient() => delay,
                _ => return Err(error),
            };
            if let Some(observer) = self.observer() {
                observer.retrying(step, attempt, &error, delay);
            }
            tokio::time::sleep(delay).await;
            attempt += 1;
            if let Some(observer) = self.observer() {
                observer.attempt(step, attempt);
            }
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
}
