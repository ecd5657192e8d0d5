//! [`RateLimited`]: a [`ChatModel`] that starts at most so many calls per minute, and the
//! [`RateLimit`] it waits on, which models sharing an API key share.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use super::{BoxFuture, ChatModel, ChatRequest, ChatResponse, ChatStream};
use crate::Error;

/// A budget of calls per period (a minute, by default), shared by all its clones: at most
/// `calls` calls start in any window of one period. [`acquire`](Self::acquire) waits, on
/// tokio's clock, until one more may start; callers are served in the order they came.
///
/// Clone one `RateLimit` into every [`RateLimited`] model that uses the same API key, so
/// that all the steps of all the runs in the process that call the provider with that key
/// share it. The limit is per process: workers in several processes each keep their own,
/// so divide the provider's limit among them (or see [`Worker::limit`](crate::Worker::limit)
/// to cap how many runs of a workflow run at once across all workers).
///
/// ```
/// use std::time::Duration;
/// use workflow_runtime::provider::RateLimit;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let limit = RateLimit::per_minute(2);
/// let start = tokio::time::Instant::now();
/// limit.acquire().await;
/// limit.clone().acquire().await; // a clone shares the budget
/// limit.acquire().await; // the third call of the minute waits for the next one
/// assert_eq!(start.elapsed(), Duration::from_secs(60));
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RateLimit {
    inner: Arc<Window>,
}

#[derive(Debug)]
struct Window {
    calls: usize,
    period: Duration,
    /// When the calls of the last period started, oldest first. Held while a caller waits
    /// for room, so callers go in turn (tokio's mutex is fair).
    started: Mutex<VecDeque<Instant>>,
}

impl RateLimit {
    /// At most `calls` calls (at least 1) start in any minute.
    pub fn per_minute(calls: u32) -> Self {
        Self::per(calls, Duration::from_secs(60))
    }

    /// At most `calls` calls (at least 1) start in any window of `period` (at least 1 ms).
    pub fn per(calls: u32, period: Duration) -> Self {
        let calls = usize::try_from(calls.max(1)).unwrap_or(usize::MAX);
        RateLimit {
            inner: Arc::new(Window {
                calls,
                period: period.max(Duration::from_millis(1)),
                started: Mutex::new(VecDeque::with_capacity(calls.min(1024))),
            }),
        }
    }

    /// Waits until one more call may start, and counts it as started. Dropping the future
    /// before it is ready counts nothing.
    pub async fn acquire(&self) {
        let window = &*self.inner;
        let mut started = window.started.lock().await;
        loop {
            let now = Instant::now();
            while started.front().is_some_and(|&at| at + window.period <= now) {
                started.pop_front();
            }
            match started.front() {
                Some(&oldest) if started.len() >= window.calls => {
                    tracing::debug!(
                        wait_ms = (oldest + window.period - now).as_millis() as u64,
                        "rate limit: waiting for room"
                    );
                    tokio::time::sleep_until(oldest + window.period).await;
                }
                _ => break,
            }
        }
        started.push_back(Instant::now());
    }
}

/// A [`ChatModel`] that waits for its [`RateLimit`] before each call: the cure for a
/// provider's "too many requests" (HTTP 429) when many steps or runs call it at once. A call
/// waits, on tokio's clock, until fewer than the limit's calls started in the last period,
/// then goes to the wrapped model; a stream counts once, when it starts. Errors are the
/// wrapped model's, untouched: a 429 the provider sends anyway (its limit may count tokens,
/// or other clients share the key) is still [`ProviderErrorKind::RateLimited`], transient,
/// for the step's retry policy.
///
/// [`ProviderErrorKind::RateLimited`]: super::ProviderErrorKind::RateLimited
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use workflow_runtime::provider::{ChatModel, ChatRequest, RateLimit, RateLimited, Scripted};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), workflow_runtime::Error> {
/// // Two models on the same API key: 3 calls a minute between them.
/// let key_limit = RateLimit::per_minute(3);
/// let writer = RateLimited::with_limit(Scripted::new().when("", "a draft"), key_limit.clone());
/// let critic = RateLimited::with_limit(Scripted::new().when("", "a note"), key_limit);
///
/// let start = tokio::time::Instant::now();
/// for _ in 0..2 {
///     writer.chat(ChatRequest::new().user("write")).await?;
///     critic.chat(ChatRequest::new().user("review")).await?;
/// }
/// // The fourth call waited for the minute to pass.
/// assert_eq!(start.elapsed(), Duration::from_secs(60));
///
/// // One model of its own: `RateLimited::new(model, per_minute)`.
/// let model: Arc<dyn ChatModel> = Arc::new(RateLimited::new(Scripted::new(), 500));
/// # let _ = model;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RateLimited<M> {
    model: M,
    limit: RateLimit,
}

impl<M: ChatModel> RateLimited<M> {
    /// `model`, starting at most `per_minute` calls (at least 1) in any minute.
    pub fn new(model: M, per_minute: u32) -> Self {
        Self::with_limit(model, RateLimit::per_minute(per_minute))
    }

    /// `model`, waiting on `limit`, which other models may share.
    pub fn with_limit(model: M, limit: RateLimit) -> Self {
        RateLimited { model, limit }
    }

    /// The limit it waits on: clone it to share it with another model.
    pub fn limit(&self) -> &RateLimit {
        &self.limit
    }

    /// The wrapped model.
    pub fn model(&self) -> &M {
        &self.model
    }
}

impl<M: ChatModel> ChatModel for RateLimited<M> {
    fn chat(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatResponse, Error>> {
        Box::pin(async move {
            self.limit.acquire().await;
            self.model.chat(request).await
        })
    }

    fn stream(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatStream, Error>> {
        Box::pin(async move {
            self.limit.acquire().await;
            self.model.stream(request).await
        })
    }
}
