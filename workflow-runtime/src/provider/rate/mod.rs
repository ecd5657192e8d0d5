//! [`RateLimited`]: a [`ChatModel`] that starts at most so many calls per minute, and the
//! [`RateLimit`] it waits on, which models sharing an API key share: in one process, or in
//! all the processes of a checkpoint store ([`RateLimit::shared`]).

mod shared;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::Mutex;
use tokio::time::Instant;

use super::{BoxFuture, ChatModel, ChatRequest, ChatResponse, ChatStream};
use crate::store::CheckpointStore;
use crate::Error;
use shared::Shared;

/// A budget of calls per period (a minute, by default), shared by all its clones: at most
/// `calls` calls start in any window of one period. [`acquire`](Self::acquire) waits, on
/// tokio's clock, until one more may start.
///
/// Clone one `RateLimit` into every [`RateLimited`] model that uses the same API key, so
/// that all the steps of all the runs that call the provider with that key share it.
///
/// - [`per_minute`](Self::per_minute) and [`per`](Self::per) keep the budget in the process's
///   memory: callers are served in the order they came, and nothing is shared with other
///   processes.
/// - [`shared`](Self::shared) keeps it in a checkpoint store, under a name (the API key's
///   label, say), so that every worker process using the store counts against the one
///   budget: the cure for a provider's 429s when many workers call it with the same key. Each
///   call takes a place in the store atomically
///   ([`CheckpointStore::take_rate_slot`]), or learns how long until one frees up, sleeps that
///   long and asks again. The callers of one process go in turn; across processes, whoever
///   asks first once a place frees up gets it (no queue). Give every process the same
///   `calls` and `period` for a name.
///
/// The limit counts starts, when each call takes its place: a call may reach the provider a
/// little later, and its own limit may count tokens too, so leave a margin. See also
/// [`Worker::limit`](crate::Worker::limit), which caps how many runs of a workflow run at
/// once across all workers.
///
/// ```
/// use std::time::Duration;
/// use workflow_runtime::provider::RateLimit;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), workflow_runtime::Error> {
/// let limit = RateLimit::per_minute(2);
/// let start = tokio::time::Instant::now();
/// limit.acquire().await?;
/// limit.clone().acquire().await?; // a clone shares the budget
/// limit.acquire().await?; // the third call of the minute waits for the next one
/// assert_eq!(start.elapsed(), Duration::from_secs(60));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RateLimit {
    inner: Arc<Budget>,
}

#[derive(Debug)]
enum Budget {
    /// In this process's memory.
    Local(Window),
    /// In a checkpoint store.
    Shared(Shared),
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
    /// At most `calls` calls (at least 1) start in any minute, in this process.
    pub fn per_minute(calls: u32) -> Self {
        Self::per(calls, Duration::from_secs(60))
    }

    /// At most `calls` calls (at least 1) start in any window of `period` (at least 1 ms),
    /// in this process.
    pub fn per(calls: u32, period: Duration) -> Self {
        let calls = usize::try_from(calls.max(1)).unwrap_or(usize::MAX);
        let window = Window {
            calls,
            period: period.max(Duration::from_millis(1)),
            started: Mutex::new(VecDeque::with_capacity(calls.min(1024))),
        };
        RateLimit {
            inner: Arc::new(Budget::Local(window)),
        }
    }

    /// At most `calls` calls (at least 1) start in any window of `period` (at least 1 ms)
    /// across every process that uses `store`, counted under `name` (the API key's label,
    /// such as `"openai"`): [`take_rate_slot`](CheckpointStore::take_rate_slot) keeps a log of
    /// the starts of the last period in the store, which each call checks and adds to in one
    /// atomic step (one write transaction on SQLite, one statement under the name's row lock
    /// on Postgres). Limits with the same name share the budget, in this process and others.
    ///
    /// The window is measured on the store's clock, to the millisecond: the system's on
    /// SQLite (the processes share a machine), the database server's on Postgres (so
    /// workers' clocks need not agree). Each call asks the store at least once, a write of its
    /// own (on Postgres, the name's starts are one array, rewritten by each call: fine for
    /// limits of up to some thousands of calls per period); a call that finds the window full
    /// sleeps until the oldest start that counts leaves it, then asks again. A store that fails makes the call fail with
    /// [`Error::Store`] (a step's retry policy may try it again). On a
    /// [`MemoryStore`](crate::MemoryStore) the budget is the process's, on tokio's clock.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use workflow_runtime::provider::{ChatModel, ChatRequest, RateLimit, RateLimited, Scripted};
    /// use workflow_runtime::MemoryStore;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), workflow_runtime::Error> {
    /// // The store the workers share: an `SqliteStore` or a `PostgresStore` in production
    /// // (every worker opens it, and limits the name the same way); in memory here.
    /// let store = Arc::new(MemoryStore::new());
    /// let key = RateLimit::shared(store.clone(), "openai", 2, Duration::from_secs(60));
    /// let writer = RateLimited::with_limit(Scripted::new().when("", "a draft"), key);
    /// // Another limit with the same name, as another worker would open it.
    /// let other = RateLimit::shared(store, "openai", 2, Duration::from_secs(60));
    /// let critic = RateLimited::with_limit(Scripted::new().when("", "a note"), other);
    ///
    /// let start = tokio::time::Instant::now();
    /// writer.chat(ChatRequest::new().user("write")).await?;
    /// critic.chat(ChatRequest::new().user("review")).await?;
    /// writer.chat(ChatRequest::new().user("write again")).await?; // waits for the next minute
    /// assert_eq!(start.elapsed(), Duration::from_secs(60));
    /// # Ok(())
    /// # }
    /// ```
    pub fn shared(
        store: Arc<dyn CheckpointStore>,
        name: impl Into<String>,
        calls: u32,
        period: Duration,
    ) -> Self {
        let period = period.max(Duration::from_millis(1));
        let shared = Shared::new(store, name.into(), calls.max(1), period);
        RateLimit {
            inner: Arc::new(Budget::Shared(shared)),
        }
    }

    /// Waits until one more call may start, counts it as started, and returns when it was
    /// counted (by the store's clock for a [shared](Self::shared) limit). Dropping the future
    /// while it waits counts nothing; a shared limit's future dropped while the store takes
    /// the place may still count it.
    ///
    /// # Errors
    ///
    /// A limit in a process's memory never fails. A [shared](Self::shared) limit fails with
    /// the store's error ([`Error::Store`]), or if the store does not keep rate limits.
    pub async fn acquire(&self) -> Result<SystemTime, Error> {
        match &*self.inner {
            Budget::Local(window) => {
                window.acquire().await;
                Ok(SystemTime::now())
            }
            Budget::Shared(shared) => shared.acquire().await,
        }
    }
}

impl Window {
    async fn acquire(&self) {
        let mut started = self.started.lock().await;
        loop {
            let now = Instant::now();
            while started.front().is_some_and(|&at| at + self.period <= now) {
                started.pop_front();
            }
            match started.front() {
                Some(&oldest) if started.len() >= self.calls => {
                    tracing::debug!(
                        wait_ms = (oldest + self.period - now).as_millis() as u64,
                        "rate limit: waiting for room"
                    );
                    tokio::time::sleep_until(oldest + self.period).await;
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
/// wrapped model's, untouched (and a [shared](RateLimit::shared) limit's store errors): a
/// 429 the provider sends anyway (its limit may count tokens,
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
            self.limit.acquire().await?;
            self.model.chat(request).await
        })
    }

    fn stream(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatStream, Error>> {
        Box::pin(async move {
            self.limit.acquire().await?;
            self.model.stream(request).await
        })
    }
}
