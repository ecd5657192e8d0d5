//! One retry budget per model call: who retries it, and how long to wait before trying again.
//!
//! A model call made in an attempt of a step whose policy retries (`#[step(retry = N)]`,
//! `N > 0`) is tried once by its provider, and the step's loop retries it
//! ([`Context::step_with_retry`](crate::Context::step_with_retry)); otherwise the two would
//! multiply (a provider's 3 attempts in each of a step's 3 attempts: 9 requests). Anywhere else
//! (in a step without retries, outside any run) the provider's own retries apply. Either way,
//! the one that retries waits what the server asked for (`Retry-After`) rather than its
//! backoff, and gives up on a wait longer than its `max_backoff`: [`next_delay`].
//!
//! The step's loop says so with a `tokio` task-local set around each attempt, which needs no
//! run scope (a plain `wf.run(input)` has none); only steps with retries set it. An agent's
//! call sets it too, around its provider's future, so that the provider counts the requests it
//! sends for the call ([`Attempts`]): the call's usage and event report them.

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

tokio::task_local! {
    /// What the current future knows of the retries of the model calls it makes.
    static RETRY: Retry;
}

/// What the current future knows of the retries of the model calls it makes.
#[derive(Debug, Clone, Default)]
struct Retry {
    /// In an attempt of a step whose policy retries: the step retries the calls.
    by_step: bool,
    /// The attempts of the model call running now, if they are counted (by the HTTP providers).
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    attempts: Option<Attempts>,
}

impl Retry {
    fn current() -> Retry {
        RETRY.try_with(Retry::clone).unwrap_or_default()
    }
}

/// Runs `attempt`, one attempt of a step; if `by_step`, the step's policy retries, so the model
/// calls made in `attempt` are tried once each. So are they if the step runs in an attempt of
/// another step that retries (a workflow run inside a step of another).
pub(crate) async fn step_attempt<F: Future>(by_step: bool, attempt: F) -> F::Output {
    let current = Retry::current();
    let by_step = by_step || current.by_step;
    RETRY.scope(Retry { by_step, ..current }, attempt).await
}

/// Whether the model calls made here are retried by the step they are made in: their provider
/// then tries each once.
pub(crate) fn retried_by_step() -> bool {
    RETRY.try_with(|retry| retry.by_step).unwrap_or(false)
}

/// How many requests one model call sent, its provider's own retries included: its provider
/// counts each ([`Attempts::count_one`]) while the call runs in [`Attempts::counting`].
#[derive(Debug, Clone, Default)]
pub(crate) struct Attempts(Arc<AtomicU32>);

impl Attempts {
    /// Runs `call`, the future of a model call, counting the attempts its provider makes.
    pub(crate) fn counting<F: Future>(&self, call: F) -> impl Future<Output = F::Output> {
        let attempts = Some(self.clone());
        async move {
            let by_step = retried_by_step();
            RETRY.scope(Retry { by_step, attempts }, call).await
        }
    }

    /// Counts one attempt of the model call running now, if its attempts are counted.
    #[cfg(feature = "http")]
    pub(crate) fn count_one() {
        let _ = RETRY.try_with(|retry| {
            if let Some(attempts) = &retry.attempts {
                attempts.0.fetch_add(1, Ordering::Relaxed);
            }
        });
    }

    /// The attempts counted so far; at least 1, for a provider that does not count them.
    pub(crate) fn get(&self) -> u32 {
        self.0.load(Ordering::Relaxed).max(1)
    }
}

/// The wait before retrying a failed attempt: `retry_after` if the server asked for one, or
/// else `backoff`, at most `max`. `None` if the server asked for longer than `max`: the
/// attempt's error is returned (its [`retry_after`](crate::provider::ProviderError::retry_after)
/// says how long) rather than waited for.
pub(crate) fn next_delay(
    backoff: Duration,
    retry_after: Option<Duration>,
    max: Duration,
) -> Option<Duration> {
    match retry_after {
        Some(wait) => (wait <= max).then_some(wait),
        None => Some(backoff.min(max)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_s_wait_wins_unless_it_is_too_long() {
        let (backoff, max) = (Duration::from_millis(100), Duration::from_secs(30));
        assert_eq!(next_delay(backoff, None, max), Some(backoff));
        assert_eq!(next_delay(Duration::from_secs(60), None, max), Some(max));
        let asked = Duration::from_secs(2);
        assert_eq!(next_delay(backoff, Some(asked), max), Some(asked));
        assert_eq!(
            next_delay(backoff, Some(Duration::ZERO), max),
            Some(Duration::ZERO)
        );
        assert_eq!(next_delay(backoff, Some(max), max), Some(max));
        assert_eq!(
            next_delay(backoff, Some(Duration::from_secs(100)), max),
            None
        );
    }

    #[tokio::test]
    async fn only_a_step_that_retries_takes_the_retries_over() {
        assert!(!retried_by_step());
        assert!(step_attempt(true, async { retried_by_step() }).await);
        assert!(!step_attempt(false, async { retried_by_step() }).await);
        let nested = step_attempt(true, step_attempt(false, async { retried_by_step() }));
        assert!(nested.await, "the outer step retries");
    }

    #[cfg(feature = "http")]
    #[tokio::test]
    async fn attempts_are_counted_in_the_call_only() {
        Attempts::count_one();
        let attempts = Attempts::default();
        assert_eq!(attempts.get(), 1, "a call makes one attempt at least");
        let call = async {
            (0..3).for_each(|_| Attempts::count_one());
            retried_by_step()
        };
        let by_step = step_attempt(true, attempts.counting(call)).await;
        assert_eq!((attempts.get(), by_step), (3, true));
        // A step inside the call (a workflow as a model) still counts into it.
        let inner = attempts.counting(step_attempt(true, async { Attempts::count_one() }));
        inner.await;
        assert_eq!(attempts.get(), 4);
    }
}
