//! Bad non-streamed responses: each is a typed error, never a panic, and never retried.

use serde_json::{json, Value};
use wiremock::ResponseTemplate;
use workflow_runtime::provider::{ChatModel, ChatRequest, ProviderErrorKind};

use crate::support::*;

/// Answers one call with `response` and returns the error kind and message of the call.
async fn fail_with(response: ResponseTemplate) -> (ProviderErrorKind, String) {
    let (server, model) = serve(response).await;
    let error = model
        .chat(ChatRequest::new().user("hi"))
        .await
        .expect_err("fails");
    assert_secret_free(&error);
    assert_eq!(requests(&server).await, 1, "not retried: {error}");
    let error = provider_error(&error);
    (error.kind(), error.message().to_owned())
}

#[tokio::test]
async fn malformed_json() {
    for body in ["{\"content\": [", "not json at all", ""] {
        let (kind, message) = fail_with(ResponseTemplate::new(200).set_body_string(body)).await;
        assert_eq!(kind, ProviderErrorKind::MalformedResponse, "{body:?}");
        assert!(
            message.starts_with("the response is not the expected JSON"),
            "{message}"
        );
    }
}

#[tokio::test]
async fn missing_or_wrong_fields() {
    let no_content = json!({"id": "msg_1", "type": "message", "role": "assistant",
                            "stop_reason": "end_turn"});
    let cases: [(Value, &str); 7] = [
        (json!({}), "the response has no `content`"),
        (no_content, "the response has no `content`"),
        (json!({"content": null}), "the response has no `content`"),
        (
            message(json!([{"type": "text"}]), "end_turn"),
            "text block 0 has no `text`",
        ),
        (
            message(
                json!([{"type": "tool_use", "id": "toolu_1", "input": {}}]),
                "tool_use",
            ),
            "tool call 0 has no `name`",
        ),
        (
            message(json!([{"text": "no type"}]), "end_turn"),
            "the response is not the expected JSON",
        ),
        (
            json!({"content": [{"type": "text", "text": 42}], "usage": {"input_tokens": "ten"}}),
            "the response is not the expected JSON",
        ),
    ];
    for (body, expected) in cases {
        let response = ResponseTemplate::new(200).set_body_json(&body);
        let (kind, message) = fail_with(response).await;
        assert_eq!(kind, ProviderErrorKind::MalformedResponse, "{body}");
        assert!(message.starts_with(expected), "{message} for {body}");
    }
}

#[tokio::test]
async fn an_error_object_with_http_200() {
    let body = error_body("overloaded_error", "Overloaded");
    let (kind, message) = fail_with(ResponseTemplate::new(200).set_body_json(body)).await;
    assert_eq!(kind, ProviderErrorKind::Server);
    assert_eq!(message, "Overloaded");
    let bare = json!({"type": "error"});
    let (kind, _) = fail_with(ResponseTemplate::new(200).set_body_json(bare)).await;
    assert_eq!(kind, ProviderErrorKind::Other);
}

#[tokio::test]
async fn unknown_blocks_and_missing_optional_fields_are_handled() {
    let body = json!({"content": [
        {"type": "thinking", "thinking": "Let me think…", "signature": "EqQBCgIYAhIM"},
        {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3p"},
        {"type": "text", "text": "Hello, "},
        {"type": "text", "text": "world"}
    ]});
    let (_server, model) = serve(ResponseTemplate::new(200).set_body_json(body)).await;
    let response = model
        .chat(ChatRequest::new().user("hi"))
        .await
        .expect("handled");
    assert_eq!(response.text, "Hello, world");
    assert_eq!((response.usage, response.finish_reason), (None, None));
    assert_eq!(response.model, "claude-sonnet-4-5");
}
