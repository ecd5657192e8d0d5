//! Per-step execution policy: retries, backoff and timeout ([`StepPolicy`]); and who retries a
//! model call, the step or its provider (`retry.rs`).

mod retry;

use std::time::Duration;

#[cfg(feature = "http")]
pub(crate) use retry::retried_by_step;
pub(crate) use retry::{next_delay, step_attempt, Attempts};

/// How a step is executed: how often it is retried, how long to wait in between, and how long
/// one attempt may take.
///
/// `#[step(retry = 3, backoff = "200ms", timeout = "30s")]` builds one of these; by hand:
///
/// ```
/// use std::time::Duration;
/// use workflow_runtime::StepPolicy;
///
/// const CRITIQUE: StepPolicy = StepPolicy::new()
///     .retry(3)
///     .backoff(Duration::from_millis(200))
///     .timeout(Duration::from_secs(30));
/// assert_eq!(CRITIQUE.retries(), 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepPolicy {
    retries: u32,
    backoff: Duration,
    max_backoff: Duration,
    timeout: Option<Duration>,
}

impl StepPolicy {
    /// The default: one attempt, no timeout. Retries, if enabled, start at 100 ms and double up
    /// to 30 s, with jitter.
    pub const fn new() -> Self {
        StepPolicy {
            retries: 0,
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(30),
            timeout: None,
        }
    }

    /// Retry a failed attempt up to `retries` more times, if its error is transient
    /// ([`Error::is_transient`](crate::Error::is_transient)).
    ///
    /// With retries, the step's policy is in charge of retrying the model calls its attempts
    /// make: a provider tries each call once (its own retries apply outside such steps), and
    /// the step waits what the server asked for (`Retry-After`) instead of its backoff. A
    /// server that asks for longer than [`max_backoff`](Self::max_backoff) fails the step at
    /// once, with the wait in
    /// [`ProviderError::retry_after`](crate::provider::ProviderError::retry_after).
    pub const fn retry(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// The delay before the first retry; each further retry doubles it. Jitter stretches each
    /// delay by a random 0–100%, never beyond [`max_backoff`](Self::max_backoff).
    pub const fn backoff(mut self, first: Duration) -> Self {
        self.backoff = first;
        self
    }

    /// The longest delay between two attempts; 30 s by default. A failed attempt whose server
    /// asks for a longer wait (`Retry-After`) is not retried.
    pub const fn max_backoff(mut self, max: Duration) -> Self {
        self.max_backoff = max;
        self
    }

    /// Fail an attempt that takes longer than `timeout`.
    pub const fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// How many retries are allowed after the first attempt.
    pub const fn retries(&self) -> u32 {
        self.retries
    }

    /// The timeout of one attempt, if any.
    pub const fn attempt_timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// The delays to wait before each retry, in order; none longer than `max_backoff`.
    pub(crate) fn delays(&self) -> impl Iterator<Item = Duration> {
        use backon::BackoffBuilder;
        let max = self.max_backoff;
        // backon caps the delay before adding jitter, and does not cap a first delay above
        // the maximum: cap what it yields.
        backon::ExponentialBuilder::default()
            .with_min_delay(self.backoff)
            .with_max_delay(self.max_backoff)
            .with_max_times(self.retries as usize)
            .with_jitter()
            .build()
            .map(move |delay| delay.min(max))
    }

    /// The wait before the next attempt, whose backoff is `backoff` (from
    /// [`delays`](Self::delays)), after an attempt whose server asked to wait `retry_after`;
    /// `None` if that is longer than `max_backoff`: the step fails rather than wait.
    pub(crate) fn delay(
        &self,
        backoff: Duration,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        next_delay(backoff, retry_after, self.max_backoff)
    }
}

impl Default for StepPolicy {
    fn default() -> Self {
        Self::new()
    }
}
