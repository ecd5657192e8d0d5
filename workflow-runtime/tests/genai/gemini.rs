//! Gemini's `generateContent` through `genai`: a wire format of its own (`contents`, `parts`,
//! `functionCall`, `usageMetadata`), mapped as the other providers' are.

use serde_json::{json, Value};
use wiremock::ResponseTemplate;
use workflow_runtime::provider::{
    ChatModel, ChatRequest, FinishReason, Message, ResponseSchema, StreamEvent, Tool, ToolChoice,
    Usage,
};

use crate::support::*;

const API: Api = Api::Gemini;

/// A response whose candidate has `parts`, as the API documents it.
fn response(parts: Value, finish: &str) -> Value {
    let mut body = json!({
        "candidates": [{"content": {"parts": [], "role": "model"},
                        "finishReason": finish, "index": 0}],
        "usageMetadata": {"promptTokenCount": 120, "candidatesTokenCount": 8,
                          "cachedContentTokenCount": 64, "thoughtsTokenCount": 12,
                          "totalTokenCount": 140},
        "modelVersion": "gemini-2.0-flash-001",
        "responseId": "mAitaLmkHPPlz7IPvtfUqQ4"
    });
    body["candidates"][0]["content"]["parts"] = parts;
    body
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

#[tokio::test]
async fn a_plain_answer_with_its_usage() {
    let body = response(json!([{"text": "Paris."}]), "STOP");
    let (server, model) = API.serve(false, ok(body)).await;
    let request = ChatRequest::new()
        .system("Answer in one word.")
        .user("Capital of France?")
        .temperature(0.5)
        .max_tokens(16);
    let response = model.chat(request).await.expect("answers");
    assert_eq!(response.text, "Paris.");
    // Gemini leaves thoughts out of `candidatesTokenCount`: they are output tokens here.
    let usage = Usage::new(120, 20).with_cached(64).with_reasoning(12);
    assert_eq!(response.usage, Some(usage));
    assert_eq!(response.finish_reason, Some(FinishReason::Stop));
    assert_eq!(response.model, "gemini-2.0-flash-001");

    let sent = &sent_bodies(&server).await[0];
    assert_eq!(
        sent["systemInstruction"]["parts"][0]["text"],
        "Answer in one word."
    );
    assert_eq!(sent["contents"][0]["role"], "user");
    assert_eq!(
        sent["contents"][0]["parts"][0]["text"],
        "Capital of France?"
    );
    assert_eq!(sent["generationConfig"]["temperature"], 0.5);
    assert_eq!(sent["generationConfig"]["maxOutputTokens"], 16);
    assert_eq!(sent_header(&server, "x-goog-api-key").await, CANARY);
}

#[tokio::test]
async fn parallel_function_calls_and_their_results() {
    let parts = json!([
        {"functionCall": {"name": "weather", "args": {"city": "Paris"}},
         "thoughtSignature": "c2lnbmF0dXJlLTE="},
        {"functionCall": {"name": "weather", "args": {"city": "Rome"}}}
    ]);
    let (server, model) = API.serve(false, ok(response(parts, "STOP"))).await;
    let schema = json!({"type": "object", "properties": {"city": {"type": "string"}},
                        "required": ["city"]});
    let request = ChatRequest::new()
        .user("Weather in Paris and Rome?")
        .tool(Tool::new("weather", "The weather of a city.", schema))
        .tool_choice(ToolChoice::tool("weather"));
    let answer = model.chat(request.clone()).await.expect("answers");
    let calls = &answer.tool_calls;
    assert_eq!(calls.len(), 2, "{answer:?}");
    assert_eq!(calls[0].name, "weather");
    assert_eq!(calls[0].arguments, json!({"city": "Paris"}));
    assert_eq!(calls[1].arguments, json!({"city": "Rome"}));
    // Gemini gives calls no ids: each gets one of its own, to answer it by.
    assert!(!calls[0].id.is_empty() && calls[0].id != calls[1].id);

    let next = request
        .message(answer.to_message())
        .message(Message::tool_result(&calls[0].id, "sunny"))
        .message(Message::tool_result(&calls[1].id, "rain"));
    model.chat(next).await.expect("answers");
    let sent = sent_bodies(&server).await;
    let declaration = &sent[0]["tools"][0]["functionDeclarations"][0];
    assert_eq!(declaration["name"], "weather");
    assert_eq!(
        declaration["parametersJsonSchema"]["required"],
        json!(["city"])
    );
    let config = &sent[0]["toolConfig"]["functionCallingConfig"];
    assert_eq!(config["mode"], "ANY");
    assert_eq!(config["allowedFunctionNames"], json!(["weather"]));
    let contents = sent[1]["contents"].as_array().expect("contents");
    assert_eq!(contents.len(), 3, "{contents:?}");
    assert_eq!(contents[1]["role"], "model");
    assert_eq!(contents[1]["parts"].as_array().map(Vec::len), Some(2));
    // The call goes back with its thought signature, which the provider kept.
    let first = &contents[1]["parts"][0];
    assert_eq!(first["thoughtSignature"], "c2lnbmF0dXJlLTE=", "{first}");
    assert_eq!(first["functionCall"]["args"], json!({"city": "Paris"}));
    let results = contents[2]["parts"].as_array().expect("the results");
    assert_eq!(results.len(), 2, "{results:?}");
    for result in results {
        assert_eq!(result["functionResponse"]["name"], "weather", "{result}");
    }
    let text = results[1].to_string();
    assert!(text.contains("rain"), "{text}");
}

#[tokio::test]
async fn structured_output_sends_the_schema() {
    let body = response(json!([{"text": "{\"verdict\": \"yes\"}"}]), "STOP");
    let (server, model) = API.serve(false, ok(body)).await;
    let schema = json!({"type": "object", "properties": {"verdict": {"type": "string"}},
                        "required": ["verdict"]});
    let request = ChatRequest::new()
        .user("Is it?")
        .response_schema(ResponseSchema::new("verdict", schema.clone()));
    let response = model.chat(request).await.expect("answers");
    let answer: Value = serde_json::from_str(&response.text).expect("JSON");
    assert_eq!(answer, json!({"verdict": "yes"}));
    let config = &sent_bodies(&server).await[0]["generationConfig"];
    assert_eq!(config["responseMimeType"], "application/json");
    assert_eq!(config["responseJsonSchema"]["required"], json!(["verdict"]));
}

/// One streamed chunk with `parts`, and the usage on the last.
fn chunk(parts: Value, finish: Option<&str>) -> Value {
    let mut chunk = json!({"candidates": [{"content": {"parts": [], "role": "model"},
                                           "index": 0}],
                           "modelVersion": "gemini-2.0-flash-001"});
    chunk["candidates"][0]["content"]["parts"] = parts;
    if let Some(finish) = finish {
        chunk["candidates"][0]["finishReason"] = json!(finish);
        chunk["usageMetadata"] = json!({"promptTokenCount": 9, "candidatesTokenCount": 3,
                                         "totalTokenCount": 12});
    }
    chunk
}

#[tokio::test]
async fn streamed_text_then_usage_then_done() {
    let body = sse(&[
        chunk(json!([{"text": "Hel"}]), None),
        chunk(json!([{"text": "lo!"}]), Some("STOP")),
    ]);
    let (server, model) = API.serve(true, sse_response(body)).await;
    let (events, error) = collect(&model).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(deltas(&events), "Hello!");
    assert!(events.contains(&StreamEvent::Usage(Usage::new(9, 3))));
    let done = done(&events);
    assert_eq!(done.text, "Hello!");
    assert_eq!(done.usage, Some(Usage::new(9, 3)));
    let requests = server.received_requests().await.expect("recorded");
    assert_eq!(requests[0].url.query(), Some("alt=sse"));
}

#[tokio::test]
async fn a_streamed_function_call_comes_whole() {
    let call = json!([{"functionCall": {"name": "weather", "args": {"city": "Paris"}}}]);
    let body = sse(&[chunk(call, Some("STOP"))]);
    let (_server, model) = API.serve(true, sse_response(body)).await;
    let (events, error) = collect(&model).await;
    assert!(error.is_none(), "{error:?}");
    let done = done(&events);
    assert_eq!(done.tool_calls.len(), 1, "{events:?}");
    assert_eq!(done.tool_calls[0].arguments, json!({"city": "Paris"}));
    let streamed = events
        .iter()
        .filter(|event| matches!(event, StreamEvent::ToolCall(_)));
    assert_eq!(streamed.count(), 1);
}
