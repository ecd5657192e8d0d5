//! Non-streamed calls: the request we send, the responses we read, the key kept secret.

use serde_json::{json, Value};
use wiremock::matchers::header;
use wiremock::{MockServer, ResponseTemplate};
use workflow_runtime::provider::{
    ChatModel, ChatRequest, FinishReason, Message, OpenAi, ProviderErrorKind, ResponseSchema, Tool,
    ToolCall, Usage,
};

use crate::support::*;

#[tokio::test]
async fn sends_the_documented_request_and_reads_text_and_usage() {
    let server = MockServer::start().await;
    let answer = completion(text_message("Paris."), "stop");
    completions()
        .and(header("authorization", format!("Bearer {CANARY}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .expect(1)
        .mount(&server)
        .await;
    let model = provider(&server).build().expect("valid config");
    let weather = json!({"type": "object", "properties": {"city": {"type": "string"}}});
    let verdict = json!({"type": "object", "properties": {"ok": {"type": "boolean"}}});
    let request = ChatRequest::new()
        .system("Answer briefly.")
        .user("Weather in Paris?")
        .message(Message::assistant_tool_calls(
            "",
            vec![ToolCall::new("call_1", "weather", json!({"city": "Paris"}))],
        ))
        .message(Message::tool_result("call_1", "{\"sky\":\"clear\"}"))
        .temperature(0.5)
        .max_tokens(64)
        .tool(Tool::new(
            "weather",
            "Looks the weather up.",
            weather.clone(),
        ))
        .response_schema(ResponseSchema::new("verdict", verdict.clone()).strict(true));

    let response = model.chat(request).await.expect("a response");
    assert_eq!(response.text, "Paris.");
    assert_eq!(response.model, "gpt-4o-mini-2024-07-18");
    assert_eq!(response.finish_reason, Some(FinishReason::Stop));
    assert_eq!(
        response.usage,
        Some(Usage::new(19, 10).with_cached(4).with_reasoning(2))
    );

    let sent = &server.received_requests().await.expect("recorded")[0];
    let body: Value = serde_json::from_slice(&sent.body).expect("a JSON body");
    let expected = json!({
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": "Weather in Paris?"},
            // llama.cpp server rejects `"content": null` here.
            {"role": "assistant", "content": "", "tool_calls": [{
                "id": "call_1", "type": "function",
                "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}
            }]},
            {"role": "tool", "tool_call_id": "call_1", "content": "{\"sky\":\"clear\"}"}
        ],
        "temperature": 0.5,
        "max_tokens": 64,
        "tools": [{"type": "function", "function": {
            "name": "weather", "description": "Looks the weather up.", "parameters": weather
        }}],
        "response_format": {"type": "json_schema", "json_schema": {
            "name": "verdict", "schema": verdict, "strict": true
        }}
    });
    assert_eq!(body, expected);
}

#[tokio::test]
async fn reads_tool_calls_and_a_request_model_override() {
    let server = MockServer::start().await;
    let message = json!({
        "role": "assistant",
        "content": null,
        "tool_calls": [
            {"id": "call_abc", "type": "function",
             "function": {"name": "get_weather", "arguments": "{\"location\": \"Boston, MA\"}"}},
            {"id": "call_def", "type": "function", "function": {"name": "now", "arguments": ""}}
        ]
    });
    let mut answer = completion(message, "tool_calls");
    answer["model"] = Value::Null;
    answer.as_object_mut().expect("an object").remove("usage");
    completions()
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .mount(&server)
        .await;
    let model = provider(&server).build().expect("valid config");

    let request = ChatRequest::new().user("weather?").model("gpt-4.1");
    let response = model.chat(request).await.expect("a response");
    assert_eq!(response.text, "");
    assert_eq!(response.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(
        response.model, "gpt-4.1",
        "the requested model when the body has none"
    );
    assert_eq!(response.usage, None);
    assert_eq!(
        response.tool_calls,
        [
            ToolCall::new("call_abc", "get_weather", json!({"location": "Boston, MA"})),
            ToolCall::new("call_def", "now", json!({})),
        ]
    );
    let sent = &server.received_requests().await.expect("recorded")[0];
    let body: Value = serde_json::from_slice(&sent.body).expect("a JSON body");
    assert_eq!(body["model"], "gpt-4.1");
    assert_eq!(body.get("stream"), None);
}

#[tokio::test]
async fn the_key_echoed_by_a_server_is_scrubbed() {
    let server = MockServer::start().await;
    let body = format!("{{\"error\": {{\"message\": \"no such key: {CANARY}\"}}}}");
    completions()
        .respond_with(ResponseTemplate::new(401).set_body_string(body))
        .mount(&server)
        .await;
    let model = provider(&server).build().expect("valid config");

    let error = model
        .chat(ChatRequest::new().user("hi"))
        .await
        .expect_err("fails");
    assert_eq!(
        error.to_string(),
        "openai: unauthorized (http 401): no such key: [redacted]"
    );
    assert_secret_free(&error);
    let debug = format!("{model:?} {:?}", provider(&server));
    assert!(
        debug.contains("[redacted]") && !debug.contains(CANARY),
        "{debug}"
    );
}

#[tokio::test]
async fn bad_configuration_is_a_typed_error() {
    let error = OpenAi::builder("not a url", "m")
        .build()
        .expect_err("bad url");
    assert_eq!(provider_error(&error).kind(), ProviderErrorKind::Config);
    let error = provider_at("http://127.0.0.1:1/v1")
        .api_key(format!("{CANARY}\n"))
        .build()
        .expect_err("bad key");
    assert_eq!(provider_error(&error).kind(), ProviderErrorKind::Config);
    assert_secret_free(&error);
}
