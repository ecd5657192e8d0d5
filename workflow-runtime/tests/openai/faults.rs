//! Bad non-streamed responses: each is a typed error, never a panic, and never retried.

use serde_json::{json, Value};
use wiremock::{MockServer, ResponseTemplate};
use workflow_runtime::provider::{ChatModel, ChatRequest, ProviderErrorKind};

use crate::support::*;

/// Answers one call with `response` and returns the error kind and message of the call.
async fn fail_with(response: ResponseTemplate) -> (ProviderErrorKind, String) {
    let server = MockServer::start().await;
    completions().respond_with(response).mount(&server).await;
    let model = provider(&server).build().expect("valid config");
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
    for body in ["{\"choices\": [", "not json at all", ""] {
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
    let no_message = json!({"choices": [{"index": 0, "finish_reason": "stop"}]});
    let nameless_call = completion(
        json!({"role": "assistant", "content": null,
               "tool_calls": [{"id": "call_1", "type": "function", "function": {"arguments": "{}"}}]}),
        "tool_calls",
    );
    let cases: [(Value, &str); 6] = [
        (json!({}), "the response has no `choices`"),
        (json!({"choices": []}), "the response has no `choices`"),
        (json!({"choices": null}), "the response has no `choices`"),
        (no_message, "the response's first choice has no `message`"),
        (nameless_call, "tool call 0 has no function name"),
        (
            completion(json!({"role": "assistant", "content": 42}), "stop"),
            "`content` is neither a string nor a list of parts",
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
async fn wrong_types_are_malformed() {
    let body = json!({"choices": "many", "usage": {"prompt_tokens": "ten"}});
    let (kind, _) = fail_with(ResponseTemplate::new(200).set_body_json(body)).await;
    assert_eq!(kind, ProviderErrorKind::MalformedResponse);
}

#[tokio::test]
async fn an_error_object_with_http_200() {
    let body = json!({"error": {"message": "context length exceeded", "type": "invalid_request_error",
                                "code": "context_length_exceeded"}});
    let (kind, message) = fail_with(ResponseTemplate::new(200).set_body_json(body)).await;
    assert_eq!(kind, ProviderErrorKind::BadRequest);
    assert_eq!(message, "context length exceeded");
}

#[tokio::test]
async fn an_error_page_instead_of_json() {
    let page = "<html><body>502 Bad Gateway</body></html>";
    let server = MockServer::start().await;
    completions()
        .respond_with(ResponseTemplate::new(502).set_body_string(page))
        .mount(&server)
        .await;
    let model = provider(&server).retries(0).build().expect("valid config");
    let error = model
        .chat(ChatRequest::new().user("hi"))
        .await
        .expect_err("fails");
    assert_eq!(provider_error(&error).kind(), ProviderErrorKind::Server);
    assert_eq!(provider_error(&error).message(), page);
}

#[tokio::test]
async fn content_as_a_list_of_parts_and_missing_optional_fields() {
    let server = MockServer::start().await;
    let body = json!({"choices": [{"message": {"content": [
        {"type": "text", "text": "Hello, "}, {"type": "text", "text": "world"}
    ]}}]});
    completions()
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;
    let model = provider(&server).build().expect("valid config");
    let response = model
        .chat(ChatRequest::new().user("hi"))
        .await
        .expect("handled");
    assert_eq!(response.text, "Hello, world");
    assert_eq!((response.usage, response.finish_reason), (None, None));
    assert_eq!(response.model, "gpt-4o-mini");
}

/// Arguments that are not JSON are no fault of the response: the call keeps them as the model
/// wrote them, for the tool loop to report to the model, and they go back verbatim.
#[tokio::test]
async fn arguments_that_are_not_json_are_kept_as_written() {
    let server = MockServer::start().await;
    let message = json!({"role": "assistant", "content": null,
        "tool_calls": [{"id": "call_1", "type": "function",
                        "function": {"name": "f", "arguments": "{\"city\": "}}]});
    let body = completion(message, "tool_calls");
    completions()
        .respond_with(ResponseTemplate::new(200).set_body_json(&body))
        .mount(&server)
        .await;
    let model = provider(&server).build().expect("valid config");
    let response = model
        .chat(ChatRequest::new().user("hi"))
        .await
        .expect("answers");
    assert_eq!(response.tool_calls[0].arguments, json!("{\"city\": "));

    let request = ChatRequest::new().user("hi").message(response.to_message());
    let _ = model.chat(request).await.expect("answers");
    let sent = &server.received_requests().await.expect("recorded")[1];
    let sent: Value = serde_json::from_slice(&sent.body).expect("json body");
    let arguments = &sent["messages"][1]["tool_calls"][0]["function"]["arguments"];
    assert_eq!(arguments, "{\"city\": ");
}
