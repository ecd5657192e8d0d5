//! Structured output through a forced tool: the schema goes out as a tool that `tool_choice`
//! forces, and its input comes back as the response's text.

use serde_json::{json, Value};
use wiremock::ResponseTemplate;
use workflow_runtime::provider::{
    ChatModel, ChatRequest, FinishReason, ProviderErrorKind, ResponseSchema, StreamEvent, Tool,
    ToolCall,
};

use crate::support::*;

fn verdict() -> Value {
    json!({"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]})
}

fn answer_tool(name: &str) -> Value {
    json!({
        "name": name,
        "description": "Give your final answer by calling this tool: its input is the answer.",
        "input_schema": verdict()
    })
}

#[tokio::test]
async fn the_schema_is_a_forced_tool_whose_input_is_the_text() {
    let content = json!([
        {"type": "text", "text": "Here is the verdict."},
        {"type": "tool_use", "id": "toolu_01", "name": "verdict", "input": {"ok": true}}
    ]);
    let answer = message(content, "tool_use");
    let (server, model) = serve(ResponseTemplate::new(200).set_body_json(answer)).await;

    let schema = ResponseSchema::new("verdict", verdict()).strict(true);
    let request = ChatRequest::new().user("Is it ok?").response_schema(schema);
    let response = model.chat(request).await.expect("a response");
    assert_eq!(
        response.text, r#"{"ok":true}"#,
        "the tool's input, text dropped"
    );
    let value: Value = serde_json::from_str(&response.text).expect("JSON");
    assert_eq!(value, json!({"ok": true}));
    assert!(
        response.tool_calls.is_empty(),
        "the answer is not a tool call"
    );
    assert_eq!(response.finish_reason, Some(FinishReason::Stop));

    let body = sent_body(&server).await;
    assert_eq!(body["tools"], json!([answer_tool("verdict")]));
    assert_eq!(
        body["tool_choice"],
        json!({"type": "tool", "name": "verdict"})
    );
    assert_eq!(body.get("response_format"), None);
}

#[tokio::test]
async fn next_to_tools_the_model_may_call_them_instead() {
    let content = json!([{"type": "tool_use", "id": "toolu_01", "name": "weather",
                          "input": {"city": "Paris"}}]);
    let answer = message(content, "tool_use");
    let (server, model) = serve(ResponseTemplate::new(200).set_body_json(answer)).await;

    let weather = json!({"type": "object", "properties": {"city": {"type": "string"}}});
    let request = ChatRequest::new()
        .user("Is Paris sunny?")
        .tool(Tool::new(
            "weather",
            "Looks the weather up.",
            weather.clone(),
        ))
        .response_schema(ResponseSchema::new("verdict", verdict()));
    let response = model.chat(request).await.expect("a response");
    assert_eq!(response.text, "");
    assert_eq!(
        response.tool_calls,
        [ToolCall::new(
            "toolu_01",
            "weather",
            json!({"city": "Paris"})
        )]
    );
    assert_eq!(response.finish_reason, Some(FinishReason::ToolCalls));

    let body = sent_body(&server).await;
    let weather_tool = json!({"name": "weather", "description": "Looks the weather up.",
                              "input_schema": weather});
    assert_eq!(body["tools"], json!([weather_tool, answer_tool("verdict")]));
    assert_eq!(body["tool_choice"], json!({"type": "any"}));
}

#[tokio::test]
async fn a_schema_name_is_made_a_valid_tool_name() {
    let content = json!([{"type": "tool_use", "id": "toolu_01", "name": "my_crate__Verdict",
                          "input": {"ok": false}}]);
    let answer = message(content, "tool_use");
    let (server, model) = serve(ResponseTemplate::new(200).set_body_json(answer)).await;

    let schema = ResponseSchema::new("my crate::Verdict", verdict());
    let request = ChatRequest::new().user("ok?").response_schema(schema);
    let response = model.chat(request).await.expect("a response");
    assert_eq!(response.text, r#"{"ok":false}"#);
    let body = sent_body(&server).await;
    assert_eq!(body["tools"][0]["name"], "my_crate__Verdict");
    assert_eq!(body["tool_choice"]["name"], "my_crate__Verdict");
}

#[tokio::test]
async fn a_schema_named_like_a_tool_is_refused_before_sending() {
    let answer = message(json!([]), "end_turn");
    let (server, model) = serve(ResponseTemplate::new(200).set_body_json(answer)).await;
    let request = ChatRequest::new()
        .user("ok?")
        .tool(Tool::new("verdict", "", json!({"type": "object"})))
        .response_schema(ResponseSchema::new("verdict", verdict()));
    let error = model.chat(request).await.expect_err("ambiguous");
    assert_eq!(provider_error(&error).kind(), ProviderErrorKind::BadRequest);
    assert_eq!(requests(&server).await, 0);
}

#[tokio::test]
async fn a_streamed_answer_arrives_as_text_deltas() {
    let body = sse(&[
        message_start(),
        tool_start(0, "toolu_01", "verdict"),
        json_delta(0, ""),
        json_delta(0, "{\"ok\""),
        ping(),
        json_delta(0, ": true}"),
        block_stop(0),
        message_delta("tool_use", 9),
        message_stop(),
    ]);
    let response = ResponseTemplate::new(200).set_body_raw(body, "text/event-stream");
    let (_server, model) = serve(response).await;

    let schema = ResponseSchema::new("verdict", verdict());
    let request = ChatRequest::new().user("ok?").response_schema(schema);
    let (events, error) = collect_request(&model, request).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        events[..2],
        [
            StreamEvent::TextDelta("{\"ok\"".into()),
            StreamEvent::TextDelta(": true}".into())
        ]
    );
    assert!(!events.iter().any(|e| matches!(e, StreamEvent::ToolCall(_))));
    let response = done(&events);
    assert_eq!(response.text, deltas(&events));
    assert_eq!(
        serde_json::from_str::<Value>(&response.text).expect("JSON"),
        json!({"ok": true})
    );
    assert_eq!(response.finish_reason, Some(FinishReason::Stop));
}
