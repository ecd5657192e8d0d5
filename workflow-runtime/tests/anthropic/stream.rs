//! Streamed calls: text deltas, tool input accumulated per block index, usage, events we skip,
//! and retries until the stream starts.

use serde_json::json;
use wiremock::{MockServer, ResponseTemplate};
use workflow_runtime::provider::{
    ChatModel, ChatRequest, FinishReason, ProviderErrorKind, StreamEvent, ToolCall, Usage,
};

use crate::support::*;

#[tokio::test]
async fn streams_text_then_usage_then_done() {
    let server = MockServer::start().await;
    let mut events = text_stream(&["Hello", "!"]);
    events.insert(2, ping());
    let response = ResponseTemplate::new(200).set_body_raw(sse(&events), "text/event-stream");
    messages().respond_with(response).mount(&server).await;
    let model = provider(&server).build().expect("valid config");

    let (events, error) = collect(&model).await;
    assert!(error.is_none(), "{error:?}");
    // Input 25 + 10 read from the cache; output 15 from `message_delta`, which replaces the 1
    // of `message_start`.
    let usage = Usage::new(35, 15).with_cached(10);
    assert_eq!(
        events[..3],
        [
            StreamEvent::TextDelta("Hello".into()),
            StreamEvent::TextDelta("!".into()),
            StreamEvent::Usage(usage),
        ]
    );
    let response = done(&events);
    assert_eq!(events.len(), 4);
    assert_eq!(response.text, "Hello!");
    assert_eq!(response.usage, Some(usage));
    assert_eq!(response.finish_reason, Some(FinishReason::Stop));
    assert_eq!(response.model, "claude-sonnet-4-5-20250929");

    let sent = &server.received_requests().await.expect("recorded")[0];
    let body: serde_json::Value = serde_json::from_slice(&sent.body).expect("a JSON body");
    assert_eq!(body["stream"], true);
    assert_eq!(body["max_tokens"], 4096);
    let accept = sent.headers.get("accept").and_then(|v| v.to_str().ok());
    assert_eq!(accept, Some("text/event-stream"));
    assert_eq!(
        sent.headers.get("x-api-key").and_then(|v| v.to_str().ok()),
        Some(CANARY)
    );
}

#[tokio::test]
async fn tool_input_is_accumulated_per_block_index() {
    let body = sse(&[
        message_start(),
        text_start(0),
        text_delta(0, "Okay, let me check."),
        block_stop(0),
        tool_start(1, "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather"),
        tool_start(2, "toolu_02", "get_time"),
        json_delta(1, ""),
        json_delta(1, "{\"location\":"),
        json_delta(2, "{\"zone\": \"C"),
        json_delta(1, " \"San Francisco, CA\", \"unit\": \"fah"),
        json_delta(2, "ET\"}"),
        json_delta(1, "renheit\"}"),
        block_stop(1),
        block_stop(2),
        tool_start(3, "toolu_03", "now"),
        block_stop(3),
        message_delta("tool_use", 89),
        message_stop(),
    ]);
    let (events, error) = stream_body(body).await;
    assert!(error.is_none(), "{error:?}");
    let expected = [
        ToolCall::new(
            "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
            "get_weather",
            json!({"location": "San Francisco, CA", "unit": "fahrenheit"}),
        ),
        ToolCall::new("toolu_02", "get_time", json!({"zone": "CET"})),
        ToolCall::new("toolu_03", "now", json!({})),
    ];
    assert_eq!(
        events[0],
        StreamEvent::TextDelta("Okay, let me check.".into())
    );
    for (event, call) in events[1..4].iter().zip(&expected) {
        assert_eq!(*event, StreamEvent::ToolCall(call.clone()));
    }
    let response = done(&events);
    assert_eq!(response.tool_calls, expected);
    assert_eq!(response.text, "Okay, let me check.");
    assert_eq!(response.finish_reason, Some(FinishReason::ToolCalls));
}

#[tokio::test]
async fn pings_unknown_events_and_unknown_blocks_are_skipped() {
    let thinking = json!({"type": "content_block_start", "index": 0,
                          "content_block": {"type": "thinking", "thinking": ""}});
    let thought = json!({"type": "content_block_delta", "index": 0,
                         "delta": {"type": "thinking_delta", "thinking": "Let me think"}});
    let signature = json!({"type": "content_block_delta", "index": 0,
                           "delta": {"type": "signature_delta", "signature": "EqQBCgIYAhIM"}});
    let future_delta = json!({"type": "content_block_delta", "index": 1,
                              "delta": {"type": "citations_delta", "citation": {}}});
    let body = sse(&[
        message_start(),
        ping(),
        thinking,
        thought,
        signature,
        block_stop(0),
        json!({"type": "future_event", "anything": [1, 2]}),
        text_start(1),
        text_delta(1, "Hi"),
        future_delta,
        ping(),
        block_stop(1),
        message_delta("end_turn", 3),
        message_stop(),
    ]);
    let body = format!(": a comment\n\n{body}");
    let (events, error) = stream_body(body).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(deltas(&events), "Hi");
    assert_eq!(done(&events).text, "Hi");
    assert!(done(&events).tool_calls.is_empty());
}

#[tokio::test]
async fn usage_in_message_delta_replaces_the_counts_it_has() {
    let mut end = message_delta("end_turn", 40);
    end["usage"] = json!({"input_tokens": 30, "cache_read_input_tokens": 0,
                          "cache_creation_input_tokens": 5, "output_tokens": 40});
    let body = sse(&[
        message_start(),
        text_start(0),
        text_delta(0, "x"),
        block_stop(0),
        end,
        message_stop(),
    ]);
    let (events, error) = stream_body(body).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(done(&events).usage, Some(Usage::new(35, 40)));
}

#[tokio::test]
async fn a_stop_reason_without_message_stop_still_completes() {
    let body = sse(&[
        message_start(),
        text_start(0),
        text_delta(0, "ok"),
        message_delta("max_tokens", 2),
    ]);
    let (events, error) = stream_body(body).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(done(&events).finish_reason, Some(FinishReason::Length));
    assert_eq!(done(&events).text, "ok");
}

#[tokio::test]
async fn a_stream_is_retried_until_it_starts() {
    let server = MockServer::start().await;
    let overloaded =
        ResponseTemplate::new(529).set_body_json(error_body("overloaded_error", "Overloaded"));
    messages()
        .respond_with(overloaded)
        .up_to_n_times(1)
        .mount(&server)
        .await;
    messages()
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let body = sse(&text_stream(&["ok"]));
    let response = ResponseTemplate::new(200).set_body_raw(body, "text/event-stream");
    messages().respond_with(response).mount(&server).await;
    let model = provider(&server).build().expect("valid config");

    let (events, error) = tokio::time::timeout(HANG, collect(&model))
        .await
        .expect("no hang");
    assert!(error.is_none(), "{error:?}");
    assert_eq!(done(&events).text, "ok");
    assert_eq!(requests(&server).await, 3);
}

#[tokio::test]
async fn a_stream_refused_with_400_or_401_is_not_retried() {
    let cases = [
        (400, "invalid_request_error", ProviderErrorKind::BadRequest),
        (401, "authentication_error", ProviderErrorKind::Unauthorized),
    ];
    for (status, kind_name, kind) in cases {
        let refused = ResponseTemplate::new(status).set_body_json(error_body(kind_name, "no"));
        let (server, model) = serve(refused).await;
        let error = match model.stream(ChatRequest::new().user("hi")).await {
            Ok(_) => panic!("http {status} does not start a stream"),
            Err(error) => error,
        };
        assert_secret_free(&error);
        assert_eq!(provider_error(&error).kind(), kind);
        assert_eq!(requests(&server).await, 1);
    }
}
