//! `tool_choice`: each [`ToolChoice`] in the Messages API's shape, alone and next to the forced
//! answer tool of structured output.

use serde_json::{json, Value};
use wiremock::ResponseTemplate;
use workflow_runtime::provider::{ChatModel, ChatRequest, ResponseSchema, Tool, ToolChoice};

use crate::support::*;

/// The `tool_choice` sent for `request`, which offers the tool `weather`.
async fn sent_choice(request: ChatRequest) -> Value {
    let answer = message(json!([{"type": "text", "text": "ok"}]), "end_turn");
    let (server, model) = serve(ResponseTemplate::new(200).set_body_json(answer)).await;
    let weather = Tool::new(
        "weather",
        "Looks the weather up.",
        json!({"type": "object"}),
    );
    let request = request.user("Weather in Paris?").tool(weather);
    model.chat(request).await.expect("a response");
    let body = sent_body(&server).await;
    body.get("tool_choice").cloned().unwrap_or(Value::Null)
}

#[tokio::test]
async fn each_choice_in_the_messages_api_shape() {
    let cases = [
        (ToolChoice::Auto, json!({"type": "auto"})),
        (ToolChoice::None, json!({"type": "none"})),
        (ToolChoice::Required, json!({"type": "any"})),
        (
            ToolChoice::tool("weather"),
            json!({"type": "tool", "name": "weather"}),
        ),
    ];
    for (choice, expected) in cases {
        let sent = sent_choice(ChatRequest::new().tool_choice(choice)).await;
        assert_eq!(sent, expected);
    }
    assert_eq!(sent_choice(ChatRequest::new()).await, Value::Null);
}

#[tokio::test]
async fn next_to_a_response_schema_a_tool_must_be_called() {
    let schema = || {
        let verdict = json!({"type": "object", "properties": {"ok": {"type": "boolean"}}});
        ResponseSchema::new("verdict", verdict)
    };
    let with = |choice: Option<ToolChoice>| {
        let request = ChatRequest::new().response_schema(schema());
        match choice {
            Some(choice) => request.tool_choice(choice),
            None => request,
        }
    };
    let any = json!({"type": "any"});
    let answer = json!({"type": "tool", "name": "verdict"});
    let weather = json!({"type": "tool", "name": "weather"});
    let cases = [
        (None, any.clone()),
        (Some(ToolChoice::Auto), any.clone()),
        (Some(ToolChoice::Required), any),
        (Some(ToolChoice::None), answer),
        (Some(ToolChoice::tool("weather")), weather),
    ];
    for (choice, expected) in cases {
        let label = format!("{choice:?}");
        assert_eq!(sent_choice(with(choice)).await, expected, "{label}");
    }
}
