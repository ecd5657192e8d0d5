//! What the OpenAI tests share: a provider pointed at a mock server, response bodies in
//! OpenAI's documented formats, a canary key and the checks that it never leaks.

use std::error::Error as _;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};
use workflow_runtime::provider::{
    ChatModel, ChatRequest, ChatResponse, OpenAi, OpenAiBuilder, ProviderError, StreamEvent,
};
use workflow_runtime::Error;

/// The API key of every test: it must never show up in an error or a `Debug`.
pub(crate) const CANARY: &str = "sk-canary-5b1d0e77c2";

/// A provider for `server`, with the canary key and near-instant backoff.
pub(crate) fn provider(server: &MockServer) -> OpenAiBuilder {
    provider_at(&format!("{}/v1", server.uri()))
}

/// A provider for the endpoint at `base_url`.
pub(crate) fn provider_at(base_url: &str) -> OpenAiBuilder {
    OpenAi::builder(base_url, "gpt-4o-mini")
        .api_key(CANARY)
        .backoff(Duration::from_millis(1))
        .timeout(Duration::from_secs(20))
}

/// A mock of the chat-completions endpoint.
pub(crate) fn completions() -> MockBuilder {
    Mock::given(method("POST")).and(path("/v1/chat/completions"))
}

/// A non-streamed `chat.completion` holding `message`, as OpenAI documents it.
pub(crate) fn completion(message: Value, finish_reason: &str) -> Value {
    let mut completion = json!({
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion",
        "created": 1741569952,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{
            "index": 0,
            "message": null,
            "logprobs": null,
            "finish_reason": finish_reason
        }],
        "usage": {
            "prompt_tokens": 19,
            "completion_tokens": 10,
            "total_tokens": 29,
            "prompt_tokens_details": {"cached_tokens": 4, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 2,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0
            }
        },
        "service_tier": "default",
        "system_fingerprint": "fp_44709d6fcb"
    });
    completion["choices"][0]["message"] = message;
    completion
}

/// An assistant message with text `content`.
pub(crate) fn text_message(content: &str) -> Value {
    json!({"role": "assistant", "content": content, "refusal": null, "annotations": []})
}

/// One `chat.completion.chunk` with `delta` and `finish_reason`.
pub(crate) fn chunk(delta: Value, finish_reason: Option<&str>) -> Value {
    let mut chunk = json!({
        "id": "chatcmpl-123",
        "object": "chat.completion.chunk",
        "created": 1694268190,
        "model": "gpt-4o-mini-2024-07-18",
        "system_fingerprint": "fp_44709d6fcb",
        "choices": [{"index": 0, "delta": null, "logprobs": null, "finish_reason": finish_reason}]
    });
    chunk["choices"][0]["delta"] = delta;
    chunk
}

/// The last chunk when `stream_options.include_usage` is set: no choices, the usage.
pub(crate) fn usage_chunk() -> Value {
    json!({
        "id": "chatcmpl-123",
        "object": "chat.completion.chunk",
        "created": 1694268190,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [],
        "usage": {
            "prompt_tokens": 12,
            "completion_tokens": 5,
            "total_tokens": 17,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0}
        }
    })
}

/// `events` as an SSE body: one `data:` event each, then `data: [DONE]`.
pub(crate) fn sse(events: &[Value]) -> String {
    let mut body: String = events.iter().map(|e| format!("data: {e}\n\n")).collect();
    body.push_str("data: [DONE]\n\n");
    body
}

/// The provider error inside `error`.
pub(crate) fn provider_error(error: &Error) -> &ProviderError {
    match error {
        Error::Provider(error) => error,
        other => panic!("expected a provider error, got {other:?}"),
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

/// A timeout that only guards against a hang: tests never wait for it.
pub(crate) const HANG: Duration = Duration::from_secs(30);

/// The events of a streamed call to a server answering with SSE `body`, and its error if the
/// stream failed (after which it must end).
pub(crate) async fn stream_body(body: String) -> (Vec<StreamEvent>, Option<Error>) {
    let server = MockServer::start().await;
    let response = ResponseTemplate::new(200).set_body_raw(body, "text/event-stream");
    completions().respond_with(response).mount(&server).await;
    let model = provider(&server).build().expect("valid config");
    collect(&model).await
}

/// The events of a streamed call to `model`, and its error if the stream failed (after which
/// it must end).
pub(crate) async fn collect(model: &OpenAi) -> (Vec<StreamEvent>, Option<Error>) {
    let request = ChatRequest::new().user("hi");
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

/// A chunk with text `content`.
pub(crate) fn text(content: &str) -> Value {
    chunk(json!({"content": content}), None)
}
