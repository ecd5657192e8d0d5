//! What the Anthropic tests share: a provider pointed at a mock server and bodies in the
//! Messages API's documented formats, with the provider-independent helpers of `common`.

use std::time::Duration;

use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};
use workflow_runtime::provider::{Anthropic, AnthropicBuilder, StreamEvent};
use workflow_runtime::Error;

pub(crate) use crate::common::*;

/// A provider for `server`, with the canary key and near-instant backoff.
pub(crate) fn provider(server: &MockServer) -> AnthropicBuilder {
    provider_at(&server.uri())
}

/// A provider for the API at `base_url`.
pub(crate) fn provider_at(base_url: &str) -> AnthropicBuilder {
    Anthropic::builder(CANARY, "claude-sonnet-4-5")
        .base_url(base_url)
        .backoff(Duration::from_millis(1))
        .timeout(Duration::from_secs(20))
}

/// A mock of the Messages endpoint.
pub(crate) fn messages() -> MockBuilder {
    Mock::given(method("POST")).and(path("/v1/messages"))
}

/// A mock server answering every call with `response`, and a provider for it.
pub(crate) async fn serve(response: ResponseTemplate) -> (MockServer, Anthropic) {
    let server = MockServer::start().await;
    messages().respond_with(response).mount(&server).await;
    let model = provider(&server).build().expect("valid config");
    (server, model)
}

/// The body of the request `server` received first.
pub(crate) async fn sent_body(server: &MockServer) -> Value {
    let requests = server.received_requests().await.expect("recorded");
    serde_json::from_slice(&requests[0].body).expect("a JSON body")
}

/// A non-streamed message with `content` blocks, as the API documents it.
pub(crate) fn message(content: Value, stop_reason: &str) -> Value {
    let mut message = json!({
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "content": [],
        "model": "claude-sonnet-4-5-20250929",
        "stop_reason": stop_reason,
        "stop_sequence": null,
        "usage": {
            "input_tokens": 2095,
            "output_tokens": 503,
            "cache_creation_input_tokens": 100,
            "cache_read_input_tokens": 1800
        }
    });
    message["content"] = content;
    message
}

/// An error body, as the API documents it.
pub(crate) fn error_body(kind: &str, message: &str) -> Value {
    json!({
        "type": "error",
        "error": {"type": kind, "message": message},
        "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"
    })
}

/// `events` as an SSE body, each named after its `type` as the API does.
pub(crate) fn sse(events: &[Value]) -> String {
    let event = |data: &Value| {
        format!(
            "event: {}\ndata: {data}\n\n",
            data["type"].as_str().unwrap_or("")
        )
    };
    events.iter().map(event).collect()
}

/// `message_start`, with the prompt's usage.
pub(crate) fn message_start() -> Value {
    json!({"type": "message_start", "message": {
        "id": "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", "type": "message", "role": "assistant",
        "content": [], "model": "claude-sonnet-4-5-20250929", "stop_reason": null,
        "stop_sequence": null,
        "usage": {"input_tokens": 25, "cache_creation_input_tokens": 0,
                  "cache_read_input_tokens": 10, "output_tokens": 1}
    }})
}

/// `content_block_start` of a text block at `index`.
pub(crate) fn text_start(index: u32) -> Value {
    json!({"type": "content_block_start", "index": index,
           "content_block": {"type": "text", "text": ""}})
}

/// `content_block_delta` with text at `index`.
pub(crate) fn text_delta(index: u32, text: &str) -> Value {
    json!({"type": "content_block_delta", "index": index,
           "delta": {"type": "text_delta", "text": text}})
}

/// `content_block_start` of a `tool_use` block at `index`.
pub(crate) fn tool_start(index: u32, id: &str, name: &str) -> Value {
    json!({"type": "content_block_start", "index": index,
           "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}})
}

/// `content_block_delta` with a piece of a tool's input at `index`.
pub(crate) fn json_delta(index: u32, partial_json: &str) -> Value {
    json!({"type": "content_block_delta", "index": index,
           "delta": {"type": "input_json_delta", "partial_json": partial_json}})
}

/// `content_block_stop` at `index`.
pub(crate) fn block_stop(index: u32) -> Value {
    json!({"type": "content_block_stop", "index": index})
}

/// `message_delta` with the stop reason and the output tokens so far.
pub(crate) fn message_delta(stop_reason: &str, output_tokens: u64) -> Value {
    json!({"type": "message_delta",
           "delta": {"stop_reason": stop_reason, "stop_sequence": null},
           "usage": {"output_tokens": output_tokens}})
}

/// `message_stop`.
pub(crate) fn message_stop() -> Value {
    json!({"type": "message_stop"})
}

/// `ping`.
pub(crate) fn ping() -> Value {
    json!({"type": "ping"})
}

/// A whole stream answering `text` in the given pieces.
pub(crate) fn text_stream(pieces: &[&str]) -> Vec<Value> {
    let mut events = vec![message_start(), text_start(0)];
    events.extend(pieces.iter().map(|piece| text_delta(0, piece)));
    events.extend([block_stop(0), message_delta("end_turn", 15), message_stop()]);
    events
}

/// The events of a streamed call to a server answering with SSE `body`, and its error if the
/// stream failed (after which it must end).
pub(crate) async fn stream_body(body: String) -> (Vec<StreamEvent>, Option<Error>) {
    let response = ResponseTemplate::new(200).set_body_raw(body, "text/event-stream");
    let (_server, model) = serve(response).await;
    collect(&model).await
}
