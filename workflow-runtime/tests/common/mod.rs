//! What the provider tests share, whatever the provider: the canary key and the checks that it
//! never leaks, reading a stream to its end, and a raw HTTP server that cuts streams anywhere.
//!
//! Each test target includes this module with `#[path]`; none uses every helper.

use std::error::Error as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use wiremock::{MockServer, Request, Respond, ResponseTemplate};
use workflow_runtime::provider::{
    ChatModel, ChatRequest, ChatResponse, ProviderError, StreamEvent,
};
use workflow_runtime::usage::Ledger;
use workflow_runtime::usage::UsageTotals;
use workflow_runtime::{Agent, Error};

pub(crate) mod raw;

/// The API key of every test: it must never show up in an error or a `Debug`.
pub(crate) const CANARY: &str = "sk-canary-5b1d0e77c2";

/// A timeout that only guards against a hang: tests never wait for it.
pub(crate) const HANG: Duration = Duration::from_secs(30);

/// The provider error `error` is, or holds (as a step's failure does).
pub(crate) fn provider_error(error: &Error) -> &ProviderError {
    match error.provider() {
        Some(provider) => provider,
        None => panic!("expected a provider error, got {error:?}"),
    }
}

/// Fails if the canary key shows up in `error`'s `Display` or `Debug`, or in any of its sources.
pub(crate) fn assert_secret_free(error: &Error) {
    let mut text = format!("{error} {error:?}");
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(" {cause} {cause:?}"));
        source = cause.source();
    }
    assert!(!text.contains(CANARY), "the key leaked: {text}");
}

/// How many requests `server` received.
pub(crate) async fn requests(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .map_or(0, |requests| requests.len())
}

/// When each request a [`timed`] responder answered arrived, in order.
#[derive(Clone, Default)]
pub(crate) struct Arrivals(Arc<Mutex<Vec<Instant>>>);

impl Arrivals {
    fn times(&self) -> Vec<Instant> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many requests arrived.
    pub(crate) fn count(&self) -> usize {
        self.times().len()
    }

    /// The time between each request and the next.
    pub(crate) fn gaps(&self) -> Vec<Duration> {
        let times = self.times();
        times.windows(2).map(|pair| pair[1] - pair[0]).collect()
    }
}

/// A responder that answers request number `n` (from 0) with `reply(n)`, built when the request
/// arrives, and notes when each request arrived.
pub(crate) fn timed(
    reply: impl Fn(usize) -> ResponseTemplate + Send + Sync + 'static,
) -> (impl Respond, Arrivals) {
    let arrivals = Arrivals::default();
    let noted = arrivals.clone();
    let respond = move |_: &Request| {
        let mut times = noted.0.lock().unwrap_or_else(PoisonError::into_inner);
        times.push(Instant::now());
        reply(times.len() - 1)
    };
    (respond, arrivals)
}

/// The events of a streamed call to `model` asking "hi", and its error if the stream failed
/// (after which it must end).
pub(crate) async fn collect(model: &impl ChatModel) -> (Vec<StreamEvent>, Option<Error>) {
    collect_request(model, ChatRequest::new().user("hi")).await
}

/// The events of a streamed call of `request` to `model`, and its error if the stream failed
/// (after which it must end). The error must not hold the key.
pub(crate) async fn collect_request(
    model: &impl ChatModel,
    request: ChatRequest,
) -> (Vec<StreamEvent>, Option<Error>) {
    let mut stream = model.stream(request).await.expect("the stream starts");
    let mut events = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(event) => events.push(event),
            Err(error) => {
                assert!(
                    stream.next().await.is_none(),
                    "the stream ends after an error"
                );
                assert_secret_free(&error);
                return (events, Some(error));
            }
        }
    }
    (events, None)
}

/// The response of the last event, which must be `Done`.
pub(crate) fn done(events: &[StreamEvent]) -> &ChatResponse {
    match events.last() {
        Some(StreamEvent::Done(response)) => response,
        other => panic!("the last event is not Done: {other:?}"),
    }
}

/// The text deltas of `events`, joined.
pub(crate) fn deltas(events: &[StreamEvent]) -> String {
    let text = events.iter().filter_map(|event| match event {
        StreamEvent::TextDelta(delta) => Some(delta.as_str()),
        _ => None,
    });
    text.collect()
}

/// Serves one streamed response whose body starts with `body`, then cuts the connection
/// before the rest its head announced. Returns the server's URL.
pub(crate) async fn cut_after(body: String) -> String {
    let head =
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: 9000\r\n\r\n";
    raw::serve(vec![head.to_vec(), body.into_bytes()], Duration::ZERO).await
}

/// One failed call by an agent over `model` (streamed if `stream`, read to its end), in a
/// ledger of its own: the ledger's totals, and the call's error.
pub(crate) async fn spent(model: impl ChatModel, stream: bool) -> (UsageTotals, Error) {
    let agent = Agent::builder(Arc::new(model)).build();
    let ledger = Ledger::new("spent");
    let call = async {
        if !stream {
            return agent.prompt("hi").await.map(drop);
        }
        let mut text = agent.stream("hi").await?;
        while let Some(delta) = text.next().await {
            delta?;
        }
        Ok(())
    };
    let error = ledger.scope(call).await.expect_err("the call fails");
    assert_secret_free(&error);
    (ledger.report().total, error)
}
