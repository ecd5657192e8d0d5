//! What the OpenAI tests share: a provider pointed at a mock server and response bodies in
//! OpenAI's documented formats, with the provider-independent helpers of `common`.

use std::time::Duration;

use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};
use workflow_runtime::provider::{OpenAi, OpenAiBuilder, StreamEvent};
use workflow_runtime::Error;

pub(crate) use crate::common::*;

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

/// The events of a streamed call to a server answering with SSE `body`, and its error if the
/// stream failed (after which it must end).
pub(crate) async fn stream_body(body: String) -> (Vec<StreamEvent>, Option<Error>) {
    let server = MockServer::start().await;
    let response = ResponseTemplate::new(200).set_body_raw(body, "text/event-stream");
    completions().respond_with(response).mount(&server).await;
    let model = provider(&server).build().expect("valid config");
    collect(&model).await
}

/// A chunk with text `content`.
pub(crate) fn text(content: &str) -> Value {
    chunk(json!({"content": content}), None)
}
