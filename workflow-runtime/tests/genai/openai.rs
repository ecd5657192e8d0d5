//! OpenAI's chat completions through `genai`: answers, parallel tool calls and their results,
//! structured output, and streams with text and tool calls.

use serde_json::{json, Value};
use wiremock::ResponseTemplate;
use workflow_runtime::provider::{
    ChatModel, ChatRequest, FinishReason, Message, ResponseSchema, StreamEvent, Tool, ToolCall,
    ToolChoice, Usage,
};

use crate::support::*;

const API: Api = Api::OpenAi;

/// A completion holding `message`, as the API documents it.
fn completion(message: Value, finish: &str) -> Value {
    let mut body = json!({
        "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG", "object": "chat.completion",
        "created": 1741570283, "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": null, "logprobs": null, "finish_reason": finish}],
        "usage": {
            "prompt_tokens": 1117, "completion_tokens": 46, "total_tokens": 1163,
            "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 12, "audio_tokens": 0}
        }
    });
    body["choices"][0]["message"] = message;
    body
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

#[tokio::test]
async fn a_plain_answer_with_its_usage() {
    let message = json!({"role": "assistant", "content": "Paris.", "refusal": null});
    let (server, model) = API.serve(false, ok(completion(message, "stop"))).await;
    let request = ChatRequest::new()
        .system("Answer in one word.")
        .user("Capital of France?")
        .temperature(0.5)
        .max_tokens(16);
    let response = model.chat(request).await.expect("answers");
    assert_eq!(response.text, "Paris.");
    assert!(response.tool_calls.is_empty());
    let usage = Usage::new(1117, 46).with_cached(1024).with_reasoning(12);
    assert_eq!(response.usage, Some(usage));
    assert_eq!(response.finish_reason, Some(FinishReason::Stop));
    assert_eq!(response.model, "gpt-4o-mini-2024-07-18");

    let sent = &sent_bodies(&server).await[0];
    assert_eq!(sent["model"], "gpt-4o-mini");
    assert_eq!(sent["temperature"], 0.5);
    assert_eq!(sent["max_tokens"], 16);
    let roles: Vec<&Value> = sent["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .collect();
    assert_eq!(
        roles[0],
        &json!({"role": "system", "content": "Answer in one word."})
    );
    assert_eq!(roles[1]["role"], "user");
    let bearer = sent_header(&server, "authorization").await;
    assert_eq!(bearer, format!("Bearer {CANARY}"));
}

#[tokio::test]
async fn parallel_tool_calls_and_their_results() {
    let message = json!({"role": "assistant", "content": null, "tool_calls": [
        {"id": "call_1", "type": "function",
         "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}},
        {"id": "call_2", "type": "function",
         "function": {"name": "weather", "arguments": "{\"city\":\"Rome\"}"}}
    ]});
    let (server, model) = API
        .serve(false, ok(completion(message, "tool_calls")))
        .await;
    let schema = json!({"type": "object", "properties": {"city": {"type": "string"}},
                        "required": ["city"]});
    let weather = Tool::new("weather", "The weather of a city.", schema.clone());
    let request = ChatRequest::new()
        .user("Weather in Paris and Rome?")
        .tool(weather)
        .tool_choice(ToolChoice::Required);
    let response = model.chat(request.clone()).await.expect("answers");
    assert_eq!(
        response.tool_calls,
        [
            ToolCall::new("call_1", "weather", json!({"city": "Paris"})),
            ToolCall::new("call_2", "weather", json!({"city": "Rome"})),
        ]
    );
    assert_eq!(response.finish_reason, Some(FinishReason::ToolCalls));

    // The calls and their results go back in the next request.
    let next = request
        .message(response.to_message())
        .message(Message::tool_result("call_1", "sunny"))
        .message(Message::tool_result("call_2", "rain"));
    model.chat(next).await.expect("answers");
    let sent = sent_bodies(&server).await;
    assert_eq!(sent[0]["tool_choice"], "required");
    assert_eq!(sent[0]["tools"][0]["function"]["name"], "weather");
    assert_eq!(
        sent[0]["tools"][0]["function"]["parameters"]["required"],
        json!(["city"])
    );
    let messages = sent[1]["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 4, "{messages:?}");
    let calls = messages[1]["tool_calls"].as_array().expect("the calls");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1]["id"], "call_2");
    let arguments: Value =
        serde_json::from_str(calls[1]["function"]["arguments"].as_str().expect("text"))
            .expect("JSON arguments");
    assert_eq!(arguments, json!({"city": "Rome"}));
    let results: Vec<(&Value, &Value, &Value)> = messages[2..]
        .iter()
        .map(|m| (&m["role"], &m["tool_call_id"], &m["content"]))
        .collect();
    assert_eq!(
        results,
        [
            (&json!("tool"), &json!("call_1"), &json!("sunny")),
            (&json!("tool"), &json!("call_2"), &json!("rain")),
        ]
    );
}

#[tokio::test]
async fn structured_output_sends_the_schema() {
    let message = json!({"role": "assistant", "content": "{\"verdict\":\"yes\"}"});
    let (server, model) = API.serve(false, ok(completion(message, "stop"))).await;
    let schema = json!({"type": "object", "properties": {"verdict": {"type": "string"}},
                        "required": ["verdict"], "additionalProperties": false});
    let request = ChatRequest::new()
        .user("Is it?")
        .response_schema(ResponseSchema::new("verdict", schema.clone()));
    let response = model.chat(request).await.expect("answers");
    let answer: Value = serde_json::from_str(&response.text).expect("JSON");
    assert_eq!(answer, json!({"verdict": "yes"}));
    let sent = &sent_bodies(&server).await[0];
    let format = &sent["response_format"];
    assert_eq!(format["type"], "json_schema");
    assert_eq!(format["json_schema"]["name"], "verdict");
    assert_eq!(
        format["json_schema"]["schema"]["required"],
        json!(["verdict"])
    );
}

/// A chunk of a streamed completion with `delta`.
fn chunk(delta: Value, finish: Option<&str>) -> Value {
    let mut chunk = json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
                           "model": "gpt-4o-mini-2024-07-18",
                           "choices": [{"index": 0, "delta": null, "finish_reason": finish}]});
    chunk["choices"][0]["delta"] = delta;
    chunk
}

/// The last chunk of a stream, with the usage and no choices.
fn usage_chunk() -> Value {
    json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
           "model": "gpt-4o-mini-2024-07-18", "choices": [],
           "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}})
}

#[tokio::test]
async fn streamed_text_then_usage_then_done() {
    let body = sse(&[
        chunk(json!({"role": "assistant", "content": ""}), None),
        chunk(json!({"content": "Hel"}), None),
        chunk(json!({"content": "lo!"}), None),
        chunk(json!({}), Some("stop")),
        usage_chunk(),
    ]) + "data: [DONE]\n\n";
    let (server, model) = API.serve(true, sse_response(body)).await;
    let (events, error) = collect(&model).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(deltas(&events), "Hello!");
    assert!(events.contains(&StreamEvent::Usage(Usage::new(9, 3))));
    let done = done(&events);
    assert_eq!(done.text, "Hello!");
    assert_eq!(done.usage, Some(Usage::new(9, 3)));
    assert_eq!(done.finish_reason, Some(FinishReason::Stop));
    assert_eq!(done.model, "gpt-4o-mini");
    let sent = &sent_bodies(&server).await[0];
    assert_eq!(sent["stream"], true);
    assert_eq!(sent["stream_options"]["include_usage"], true);
}

#[tokio::test]
async fn a_streamed_tool_call_comes_whole() {
    let call = |index: u32, id: Option<&str>, name: Option<&str>, arguments: &str| {
        let mut function = json!({"arguments": arguments});
        if let Some(name) = name {
            function["name"] = json!(name);
        }
        let mut call = json!({"index": index, "function": function});
        if let Some(id) = id {
            call["id"] = json!(id);
            call["type"] = json!("function");
        }
        chunk(json!({"tool_calls": [call]}), None)
    };
    let body = sse(&[
        chunk(json!({"role": "assistant", "content": null}), None),
        call(0, Some("call_1"), Some("weather"), ""),
        call(0, None, None, "{\"city\":"),
        call(0, None, None, "\"Paris\"}"),
        call(1, Some("call_2"), Some("time"), "{}"),
        chunk(json!({}), Some("tool_calls")),
        usage_chunk(),
    ]) + "data: [DONE]\n\n";
    let (_server, model) = API.serve(true, sse_response(body)).await;
    let (events, error) = collect(&model).await;
    assert!(error.is_none(), "{error:?}");
    let paris = ToolCall::new("call_1", "weather", json!({"city": "Paris"}));
    let time = ToolCall::new("call_2", "time", json!({}));
    let calls: Vec<&ToolCall> = events
        .iter()
        .filter_map(|event| match event {
            StreamEvent::ToolCall(call) => Some(call),
            _ => None,
        })
        .collect();
    assert_eq!(calls, [&paris, &time]);
    let done = done(&events);
    assert_eq!(done.tool_calls, [paris, time]);
    assert_eq!(done.finish_reason, Some(FinishReason::ToolCalls));
}
