//! Non-streamed calls: the request we send, headers included, the responses we read, the key
//! kept secret.

use serde_json::{json, Value};
use wiremock::matchers::header;
use wiremock::{MockServer, ResponseTemplate};
use workflow_runtime::provider::{
    Anthropic, ChatModel, ChatRequest, FinishReason, Message, ProviderErrorKind, Tool, ToolCall,
    Usage,
};

use crate::support::*;

#[tokio::test]
async fn sends_the_documented_request_and_reads_text_and_usage() {
    let server = MockServer::start().await;
    let answer = message(
        json!([{"type": "text", "text": "Paris is clear."}]),
        "end_turn",
    );
    messages()
        .and(header("x-api-key", CANARY))
        .and(header("anthropic-version", "2023-06-01"))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .expect(1)
        .mount(&server)
        .await;
    let model = provider(&server).build().expect("valid config");
    let weather = json!({"type": "object", "properties": {"city": {"type": "string"}}});
    let calls = vec![
        ToolCall::new("toolu_1", "weather", json!({"city": "Paris"})),
        ToolCall::new("toolu_2", "weather", json!({"city": "Rome"})),
    ];
    let request = ChatRequest::new()
        .system("Answer briefly.")
        .user("Weather in Paris and Rome?")
        .message(Message::assistant_tool_calls("Let me look.", calls))
        .message(Message::tool_result("toolu_1", "{\"sky\":\"clear\"}"))
        .message(Message::tool_result("toolu_2", "{\"sky\":\"rain\"}"))
        .message(Message::assistant("Paris is clear, Rome is rainy."))
        .user("And Paris alone?")
        .temperature(0.5)
        .max_tokens(64)
        .tool(Tool::new(
            "weather",
            "Looks the weather up.",
            weather.clone(),
        ));

    let response = model.chat(request).await.expect("a response");
    assert_eq!(response.text, "Paris is clear.");
    assert_eq!(response.model, "claude-sonnet-4-5-20250929");
    assert_eq!(response.finish_reason, Some(FinishReason::Stop));
    assert!(response.tool_calls.is_empty());
    // `input_tokens` leaves the cache out: 2095 + 1800 read + 100 written.
    assert_eq!(
        response.usage,
        Some(Usage::new(3995, 503).with_cached(1800))
    );

    let sent = &server.received_requests().await.expect("recorded")[0];
    let body: Value = serde_json::from_slice(&sent.body).expect("a JSON body");
    let expected = json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 64,
        "system": "Answer briefly.",
        "messages": [
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Let me look."},
                {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "toolu_2", "name": "weather", "input": {"city": "Rome"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "{\"sky\":\"clear\"}"},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": "{\"sky\":\"rain\"}"}
            ]},
            {"role": "assistant", "content": "Paris is clear, Rome is rainy."},
            {"role": "user", "content": "And Paris alone?"}
        ],
        "temperature": 0.5,
        "tools": [{
            "name": "weather", "description": "Looks the weather up.", "input_schema": weather
        }]
    });
    assert_eq!(body, expected);
    // The key is in `x-api-key` and nowhere else.
    assert!(sent.headers.get("authorization").is_none());
    for (name, value) in &sent.headers {
        let value = value.to_str().unwrap_or("");
        assert!(
            name.as_str() == "x-api-key" || !value.contains(CANARY),
            "{name}"
        );
    }
    assert!(!String::from_utf8_lossy(&sent.body).contains(CANARY));
}

#[tokio::test]
async fn reads_tool_use_and_a_request_model_override() {
    let content = json!([
        {"type": "text", "text": "I'll check the current weather in San Francisco for you."},
        {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather",
         "input": {"location": "San Francisco, CA"}},
        {"type": "tool_use", "id": "toolu_02", "name": "now", "input": {}}
    ]);
    let mut answer = message(content, "tool_use");
    let object = answer.as_object_mut().expect("an object");
    object.remove("model");
    object.remove("usage");
    let (server, model) = serve(ResponseTemplate::new(200).set_body_json(answer)).await;

    let request = ChatRequest::new().user("weather?").model("claude-opus-4-1");
    let response = model.chat(request).await.expect("a response");
    assert_eq!(
        response.text,
        "I'll check the current weather in San Francisco for you."
    );
    assert_eq!(response.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(response.model, "claude-opus-4-1", "the requested model");
    assert_eq!(response.usage, None);
    assert_eq!(
        response.tool_calls,
        [
            ToolCall::new(
                "toolu_01A09q90qw90lq917835lq9",
                "get_weather",
                json!({"location": "San Francisco, CA"})
            ),
            ToolCall::new("toolu_02", "now", json!({})),
        ]
    );
    let body = sent_body(&server).await;
    assert_eq!(body["model"], "claude-opus-4-1");
    assert_eq!(body["max_tokens"], Anthropic::DEFAULT_MAX_TOKENS);
    assert_eq!(body["max_tokens"], 4096, "the documented default");
    for absent in ["stream", "system", "temperature", "tools", "tool_choice"] {
        assert_eq!(body.get(absent), None, "{absent}");
    }
}

#[tokio::test]
async fn max_tokens_comes_from_the_request_then_the_builder() {
    let answer = message(json!([{"type": "text", "text": "ok"}]), "max_tokens");
    let server = MockServer::start().await;
    messages()
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .mount(&server)
        .await;
    let model = provider(&server).max_tokens(1000).build().expect("valid");

    let response = model.chat(ChatRequest::new().user("hi")).await;
    assert_eq!(
        response.expect("ok").finish_reason,
        Some(FinishReason::Length)
    );
    let request = ChatRequest::new().user("hi").max_tokens(7);
    model.chat(request).await.expect("ok");
    let sent = server.received_requests().await.expect("recorded");
    let max_tokens = |i: usize| {
        let body: Value = serde_json::from_slice(&sent[i].body).expect("JSON");
        body["max_tokens"].clone()
    };
    assert_eq!((max_tokens(0), max_tokens(1)), (json!(1000), json!(7)));
}

#[tokio::test]
async fn the_key_echoed_by_a_server_is_scrubbed() {
    let body = error_body(
        "authentication_error",
        &format!("invalid x-api-key: {CANARY}"),
    );
    let (server, model) = serve(ResponseTemplate::new(401).set_body_json(body)).await;

    let error = model
        .chat(ChatRequest::new().user("hi"))
        .await
        .expect_err("fails");
    assert_eq!(
        error.to_string(),
        "anthropic: unauthorized (http 401): invalid x-api-key: [redacted]"
    );
    assert_secret_free(&error);
    let builder = provider(&server);
    let debug = format!("{model:?} {model:#?} {builder:?} {builder:#?}");
    assert!(
        debug.contains("[redacted]") && !debug.contains(CANARY),
        "{debug}"
    );
}

#[tokio::test]
async fn bad_configuration_is_a_typed_error() {
    let error = Anthropic::builder(CANARY, "m")
        .base_url("not a url")
        .build()
        .expect_err("bad url");
    assert_eq!(provider_error(&error).kind(), ProviderErrorKind::Config);
    assert_secret_free(&error);
    let error = Anthropic::builder(format!("{CANARY}\n"), "m")
        .build()
        .expect_err("bad key");
    assert_eq!(provider_error(&error).kind(), ProviderErrorKind::Config);
    assert_secret_free(&error);
    let model = Anthropic::builder(CANARY, "claude-haiku-4-5")
        .build()
        .expect("the default base url");
    assert!(format!("{model:?}").contains("https://api.anthropic.com/v1/messages"));
    assert_eq!(
        (model.name(), model.model()),
        ("anthropic", "claude-haiku-4-5")
    );
}
