//! `RateLimited`: calls beyond the limit wait for room on tokio's clock (paused here, so no
//! test waits a real minute), clones and shared limits count together, a cancelled wait takes
//! no place, streams count once, and a provider's 429 is still its typed error.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::time::Instant;
use workflow_runtime::provider::{
    ChatModel, ChatRequest, ChatResponse, ChatStream, ProviderError, ProviderErrorKind, RateLimit,
    RateLimited, Scripted,
};
use workflow_runtime::{BoxFuture, Error};

/// A model that answers at once and records, in seconds since it was made, when each call
/// reached it.
struct Recorder {
    made: Instant,
    calls: Mutex<Vec<u64>>,
}

impl Recorder {
    fn new() -> Arc<Self> {
        Arc::new(Recorder {
            made: Instant::now(),
            calls: Mutex::new(Vec::new()),
        })
    }

    fn calls(&self) -> Vec<u64> {
        let mut calls = self
            .calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        calls.sort_unstable();
        calls
    }
}

impl ChatModel for Recorder {
    fn chat(&self, _: ChatRequest) -> BoxFuture<'_, Result<ChatResponse, Error>> {
        let at = self.made.elapsed().as_secs();
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(at);
        Box::pin(async { Ok(ChatResponse::new("ok")) })
    }
}

/// Makes `calls` calls to `model` at once, each on a task of its own, and waits for them.
async fn at_once(model: Arc<dyn ChatModel>, calls: usize) {
    let tasks: Vec<_> = (0..calls)
        .map(|_| {
            let model = Arc::clone(&model);
            tokio::spawn(async move { model.chat(ChatRequest::new().user("hi")).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("joins").expect("answers");
    }
}

#[tokio::test(start_paused = true)]
async fn calls_beyond_the_limit_wait_for_the_next_minute() {
    let recorder = Recorder::new();
    let model = RateLimited::new(Arc::clone(&recorder), 3);
    at_once(Arc::new(model), 7).await;
    assert_eq!(recorder.calls(), [0, 0, 0, 60, 60, 60, 120]);
}

#[tokio::test(start_paused = true)]
async fn calls_spread_out_keep_to_any_window() {
    let recorder = Recorder::new();
    let model = RateLimited::with_limit(
        Arc::clone(&recorder),
        RateLimit::per(2, Duration::from_secs(10)),
    );
    for _ in 0..2 {
        model.chat(ChatRequest::new()).await.expect("answers");
        tokio::time::sleep(Duration::from_secs(6)).await;
    }
    // At 12 s the call of 0 s has left the 10 s window: the third starts at once; the
    // fourth waits until the call of 6 s leaves it, at 16 s.
    model.chat(ChatRequest::new()).await.expect("answers");
    model.chat(ChatRequest::new()).await.expect("answers");
    assert_eq!(recorder.calls(), [0, 6, 12, 16]);
}

#[tokio::test(start_paused = true)]
async fn models_sharing_a_limit_count_together() {
    let recorder = Recorder::new();
    let limit = RateLimit::per_minute(2);
    let writer = RateLimited::with_limit(Arc::clone(&recorder), limit.clone());
    let critic = RateLimited::with_limit(Arc::clone(&recorder), limit);
    let copy = critic.clone();
    for model in [&writer, &critic, &copy, &writer] {
        model.chat(ChatRequest::new()).await.expect("answers");
    }
    assert_eq!(recorder.calls(), [0, 0, 60, 60]);

    // A model with a limit of its own is not held back by theirs.
    let alone = RateLimited::new(Arc::clone(&recorder), 2);
    alone.chat(ChatRequest::new()).await.expect("answers");
    assert_eq!(recorder.calls(), [0, 0, 60, 60, 60]);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_wait_takes_no_place() {
    let recorder = Recorder::new();
    let model = RateLimited::new(Arc::clone(&recorder), 1);
    model.chat(ChatRequest::new()).await.expect("answers");
    let given_up = tokio::time::timeout(Duration::from_secs(10), model.chat(ChatRequest::new()));
    assert!(
        given_up.await.is_err(),
        "the second call of the minute waits"
    );
    model.chat(ChatRequest::new()).await.expect("answers");
    assert_eq!(recorder.calls(), [0, 60]);
}

#[tokio::test(start_paused = true)]
async fn a_stream_counts_once_when_it_starts() {
    let model = RateLimited::new(Scripted::new().when("", "three words here"), 1);
    let start = Instant::now();
    let mut stream: ChatStream = model
        .stream(ChatRequest::new().user("go"))
        .await
        .expect("starts");
    let mut items = 0;
    while let Some(item) = stream.next().await {
        item.expect("streams");
        items += 1;
    }
    assert!(items > 3, "word by word, then done: {items}");
    assert_eq!(start.elapsed(), Duration::ZERO);
    let again = model.stream(ChatRequest::new().user("again")).await;
    assert!(again.is_ok());
    assert_eq!(start.elapsed(), Duration::from_secs(60));
}

#[tokio::test(start_paused = true)]
async fn a_429_is_still_the_provider_s_typed_error() {
    let wait = Some(Duration::from_secs(7));
    let too_many = ProviderError::new(
        "scripted",
        ProviderErrorKind::RateLimited { retry_after: wait },
        "too many requests",
    )
    .with_status(429);
    let model = RateLimited::new(Scripted::new().reply(too_many).reply("fine"), 10);
    let error = model
        .chat(ChatRequest::new().user("hi"))
        .await
        .expect_err("a 429");
    let Error::Provider(error) = error else {
        panic!("not a provider error: {error:?}");
    };
    assert_eq!(
        error.kind(),
        ProviderErrorKind::RateLimited { retry_after: wait }
    );
    assert_eq!(error.status(), Some(429));
    assert!(error.kind().is_transient());
    let fine = model
        .chat(ChatRequest::new().user("hi"))
        .await
        .expect("answers");
    assert_eq!(fine.text, "fine");
}
