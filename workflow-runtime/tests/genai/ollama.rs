//! Ollama's native API (`/api/chat`, `ollama::` models) through `genai`: no key, NDJSON
//! streams, tool calls with arguments as objects.

use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use workflow_runtime::provider::{ChatModel, ChatRequest, Genai, Tool, Usage};

use crate::support::*;

/// A server answering `/api/chat` with `response`, and a keyless model for it.
async fn serve(response: ResponseTemplate) -> (MockServer, Genai) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat"))
        .respond_with(response)
        .mount(&server)
        .await;
    let model = Genai::builder("ollama::llama3.2")
        .base_url(server.uri())
        .retries(0)
        .timeout(HANG)
        .build()
        .expect("valid config");
    (server, model)
}

/// A final message, as the API documents it.
fn message(message: Value) -> Value {
    let mut body = json!({"model": "llama3.2", "created_at": "2025-01-01T00:00:00Z",
                          "message": null, "done": true, "done_reason": "stop",
                          "prompt_eval_count": 26, "eval_count": 4});
    body["message"] = message;
    body
}

#[tokio::test]
async fn an_answer_and_tool_calls_without_a_key() {
    let calls = json!({"role": "assistant", "content": "", "tool_calls": [
        {"function": {"name": "weather", "arguments": {"city": "Paris"}}},
        {"function": {"name": "weather", "arguments": {"city": "Rome"}}}
    ]});
    let (server, model) = serve(ResponseTemplate::new(200).set_body_json(message(calls))).await;
    let weather = Tool::new("weather", "Weather.", json!({"type": "object"}));
    let response = model
        .chat(ChatRequest::new().user("Paris and Rome?").tool(weather))
        .await
        .expect("answers");
    assert_eq!(response.usage, Some(Usage::new(26, 4)));
    let cities: Vec<&Value> = response
        .tool_calls
        .iter()
        .map(|c| &c.arguments["city"])
        .collect();
    assert_eq!(cities, [&json!("Paris"), &json!("Rome")]);
    let sent = &sent_bodies(&server).await[0];
    assert_eq!(sent["model"], "llama3.2");
    assert_eq!(sent["tools"][0]["function"]["name"], "weather");
    let requests = server.received_requests().await.expect("recorded");
    assert!(requests[0].headers.get("authorization").is_none());
}

#[tokio::test]
async fn an_ndjson_stream() {
    let line = |content: &str| {
        json!({"model": "llama3.2", "created_at": "2025-01-01T00:00:00Z",
               "message": {"role": "assistant", "content": content}, "done": false})
    };
    let last = message(json!({"role": "assistant", "content": ""}));
    let body: String = [line("Hel"), line("lo!"), last]
        .iter()
        .map(|line| format!("{line}\n"))
        .collect();
    let response = ResponseTemplate::new(200).set_body_raw(body, "application/x-ndjson");
    let (_server, model) = serve(response).await;
    let (events, error) = collect(&model).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(deltas(&events), "Hello!");
    let done = done(&events);
    assert_eq!(done.text, "Hello!");
    assert_eq!(done.usage, Some(Usage::new(26, 4)));
}
