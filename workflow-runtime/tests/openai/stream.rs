//! Streamed calls: text deltas, tool calls accumulated by index, usage, and retries until the
//! stream starts.

use serde_json::{json, Value};
use wiremock::{MockServer, ResponseTemplate};
use workflow_runtime::provider::{
    ChatModel, ChatRequest, FinishReason, ProviderErrorKind, StreamEvent, ToolCall, Usage,
};

use crate::support::*;

#[tokio::test]
async fn streams_text_then_usage_then_done() {
    let server = MockServer::start().await;
    let body = sse(&[
        chunk(
            json!({"role": "assistant", "content": "", "refusal": null}),
            None,
        ),
        text("Hello"),
        text(", world"),
        chunk(json!({}), Some("stop")),
        usage_chunk(),
    ]);
    let response = ResponseTemplate::new(200).set_body_raw(body, "text/event-stream");
    completions().respond_with(response).mount(&server).await;
    let model = provider(&server).build().expect("valid config");

    let (events, error) = collect(&model).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        events[..2],
        [
            StreamEvent::TextDelta("Hello".into()),
            StreamEvent::TextDelta(", world".into())
        ]
    );
    assert_eq!(events[2], StreamEvent::Usage(Usage::new(12, 5)));
    let response = done(&events);
    assert_eq!(response.text, "Hello, world");
    assert_eq!(response.finish_reason, Some(FinishReason::Stop));
    assert_eq!(response.model, "gpt-4o-mini-2024-07-18");

    let sent = &server.received_requests().await.expect("recorded")[0];
    let body: Value = serde_json::from_slice(&sent.body).expect("a JSON body");
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
}

#[tokio::test]
async fn tool_call_chunks_are_accumulated_by_index() {
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
        call(0, Some("call_a"), Some("weather"), ""),
        call(1, Some("call_b"), Some("time"), "{\"zone\""),
        call(0, None, None, "{\"city\":"),
        call(1, None, None, ": \"CET\"}"),
        call(0, None, None, " \"Paris\"}"),
        chunk(json!({}), Some("tool_calls")),
        usage_chunk(),
    ]);
    let (events, error) = stream_body(body).await;
    assert!(error.is_none(), "{error:?}");
    let expected = [
        ToolCall::new("call_a", "weather", json!({"city": "Paris"})),
        ToolCall::new("call_b", "time", json!({"zone": "CET"})),
    ];
    assert_eq!(events[0], StreamEvent::ToolCall(expected[0].clone()));
    assert_eq!(events[1], StreamEvent::ToolCall(expected[1].clone()));
    assert_eq!(done(&events).tool_calls, expected);
    assert_eq!(done(&events).finish_reason, Some(FinishReason::ToolCalls));
}

#[tokio::test]
async fn parallel_calls_that_all_say_index_0_are_told_apart_by_id() {
    let call = |id: &str, name: &str, arguments: &str| {
        let call = json!({"index": 0, "id": id, "type": "function",
                          "function": {"name": name, "arguments": arguments}});
        chunk(json!({"tool_calls": [call]}), None)
    };
    let body = sse(&[
        call("call_1", "a", "{}"),
        call("call_2", "b", "{\"x\": 1}"),
        chunk(json!({}), Some("tool_calls")),
    ]);
    let (events, error) = stream_body(body).await;
    assert!(error.is_none(), "{error:?}");
    let names: Vec<_> = done(&events)
        .tool_calls
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["a", "b"]);
}

#[tokio::test]
async fn llama_cpp_sends_no_usage_while_streaming() {
    let body = sse(&[text("Hi"), chunk(json!({}), Some("stop"))]);
    let (events, error) = stream_body(body).await;
    assert!(error.is_none(), "{error:?}");
    assert!(!events
        .iter()
        .any(|event| matches!(event, StreamEvent::Usage(_))));
    assert_eq!(
        (done(&events).text.as_str(), done(&events).usage),
        ("Hi", None)
    );
}

#[tokio::test]
async fn comments_crlf_and_a_last_event_without_blank_line() {
    let body = format!(
        ": OPENROUTER PROCESSING\r\n\r\ndata: {}\r\n\r\n: keep-alive\r\ndata: {}\r\n\r\ndata: [DONE]",
        text("Hé"),
        chunk(json!({"content": "llo"}), Some("stop")),
    );
    let (events, error) = stream_body(body).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(done(&events).text, "Héllo");
}

#[tokio::test]
async fn finish_without_done_marker_still_completes() {
    let body = format!(
        "data: {}\n\ndata: {}\n\n",
        text("ok"),
        chunk(json!({}), Some("length"))
    );
    let (events, error) = stream_body(body).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(done(&events).finish_reason, Some(FinishReason::Length));
}

#[tokio::test]
async fn a_stream_is_retried_until_it_starts() {
    let server = MockServer::start().await;
    completions()
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let body = sse(&[text("ok"), chunk(json!({}), Some("stop"))]);
    let response = ResponseTemplate::new(200).set_body_raw(body, "text/event-stream");
    completions().respond_with(response).mount(&server).await;
    let model = provider(&server).build().expect("valid config");

    let (events, error) = tokio::time::timeout(HANG, collect(&model))
        .await
        .expect("no hang");
    assert!(error.is_none(), "{error:?}");
    assert_eq!(done(&events).text, "ok");
    assert_eq!(requests(&server).await, 2);
}

#[tokio::test]
async fn a_stream_refused_with_401_is_not_retried() {
    let server = MockServer::start().await;
    let body = json!({"error": {"message": "Incorrect API key", "code": "invalid_api_key"}});
    completions()
        .respond_with(ResponseTemplate::new(401).set_body_json(body))
        .mount(&server)
        .await;
    let model = provider(&server).build().expect("valid config");
    let error = match model.stream(ChatRequest::new().user("hi")).await {
        Ok(_) => panic!("a 401 does not start a stream"),
        Err(error) => error,
    };
    assert_secret_free(&error);
    assert_eq!(
        provider_error(&error).kind(),
        ProviderErrorKind::Unauthorized
    );
    assert_eq!(requests(&server).await, 1);
}
