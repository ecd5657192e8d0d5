//! What varies between OpenAI-compatible servers: the shape of structured output, the name of
//! the token limit, `tool_choice`, and the validation errors `llama-cpp-python` sends as 500.

use serde_json::{json, Value};
use wiremock::{MockServer, ResponseTemplate};
use workflow_runtime::provider::{
    ChatModel, ChatRequest, OpenAiBuilder, ProviderErrorKind, ResponseSchema, StructuredOutput,
    Tool, ToolChoice,
};

use crate::support::*;

/// The body `model` sends for `request` to a server that answers "ok".
async fn body_for(model: OpenAiBuilder, server: &MockServer, request: ChatRequest) -> Value {
    let answer = completion(text_message("ok"), "stop");
    completions()
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .mount(server)
        .await;
    let model = model.build().expect("valid config");
    let response = model.chat(request).await.expect("a response");
    assert_eq!(response.text, "ok");
    let sent = &server.received_requests().await.expect("recorded")[0];
    serde_json::from_slice(&sent.body).expect("a JSON body")
}

fn verdict() -> Value {
    json!({"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]})
}

#[tokio::test]
async fn json_object_schema_is_the_llama_cpp_python_shape() {
    let server = MockServer::start().await;
    let model = provider(&server).structured_output(StructuredOutput::JsonObjectSchema);
    assert_eq!(
        model.clone().build().expect("valid").structured_output(),
        StructuredOutput::JsonObjectSchema
    );
    let schema = ResponseSchema::new("verdict", verdict()).strict(true);
    let request = ChatRequest::new().user("ok?").response_schema(schema);

    let body = body_for(model, &server, request).await;
    assert_eq!(
        body["response_format"],
        json!({"type": "json_object", "schema": verdict()}),
        "no name, no strict, no `json_schema`"
    );
}

#[tokio::test]
async fn json_schema_is_the_default() {
    let server = MockServer::start().await;
    let request = ChatRequest::new()
        .user("ok?")
        .response_schema(ResponseSchema::new("verdict", verdict()));

    let body = body_for(provider(&server), &server, request).await;
    let expected = json!({"type": "json_schema",
                          "json_schema": {"name": "verdict", "schema": verdict(), "strict": false}});
    assert_eq!(body["response_format"], expected);
}

#[tokio::test]
async fn max_completion_tokens_replaces_max_tokens_for_reasoning_models() {
    for (on, sent, absent) in [
        (true, "max_completion_tokens", "max_tokens"),
        (false, "max_tokens", "max_completion_tokens"),
    ] {
        let server = MockServer::start().await;
        let model = provider(&server).max_completion_tokens(on);
        let request = ChatRequest::new()
            .user("hi")
            .max_tokens(300)
            .model("o4-mini");

        let body = body_for(model, &server, request).await;
        assert_eq!(body[sent], 300, "{body}");
        assert_eq!(body.get(absent), None, "{body}");
    }
    let server = MockServer::start().await;
    let model = provider(&server).max_completion_tokens(true);
    let body = body_for(model, &server, ChatRequest::new().user("hi")).await;
    assert_eq!(
        body.get("max_completion_tokens"),
        None,
        "no limit, none sent"
    );
}

#[tokio::test]
async fn tool_choice_is_sent_in_openai_shape() {
    let weather = Tool::new(
        "weather",
        "Looks the weather up.",
        json!({"type": "object"}),
    );
    let cases = [
        (ToolChoice::Auto, json!("auto")),
        (ToolChoice::None, json!("none")),
        (ToolChoice::Required, json!("required")),
        (
            ToolChoice::tool("weather"),
            json!({"type": "function", "function": {"name": "weather"}}),
        ),
    ];
    for (choice, expected) in cases {
        let server = MockServer::start().await;
        let request = ChatRequest::new()
            .user("Weather in Paris?")
            .tool(weather.clone())
            .tool_choice(choice);
        let body = body_for(provider(&server), &server, request).await;
        assert_eq!(body["tool_choice"], expected);
    }
    let server = MockServer::start().await;
    let request = ChatRequest::new().user("hi").tool(weather);
    let body = body_for(provider(&server), &server, request).await;
    assert_eq!(body.get("tool_choice"), None, "unset, not sent");
}

#[tokio::test]
async fn a_validation_error_sent_as_500_is_a_bad_request_not_retried() {
    // What llama-cpp-python 0.3.36 answers to `response_format: {"type": "json_schema", …}`.
    let message = "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', \
                   'response_format', 'type'), 'msg': \"Input should be 'text' or \
                   'json_object'\", 'input': 'json_schema'}\n\n  File \"app.py\", line 376";
    let body = json!({"error": {"message": message, "type": "internal_server_error",
                                "param": null, "code": null}});
    let server = MockServer::start().await;
    completions()
        .respond_with(ResponseTemplate::new(500).set_body_json(body))
        .mount(&server)
        .await;
    let model = provider(&server).build().expect("valid config");

    let error = model
        .chat(ChatRequest::new().user("hi"))
        .await
        .expect_err("rejected");
    assert_secret_free(&error);
    let provider_error = provider_error(&error);
    assert_eq!(provider_error.kind(), ProviderErrorKind::BadRequest);
    assert_eq!(provider_error.status(), Some(500));
    assert!(!error.is_transient(), "a step retry cannot fix it either");
    assert_eq!(requests(&server).await, 1, "not retried");
}
