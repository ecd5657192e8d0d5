//! Bad streams: error events after HTTP 200, truncation, malformed chunks, UTF-8 characters
//! split across chunks, stalls and cut connections. Each is handled or a typed error.

use std::time::Duration;

use serde_json::json;
use workflow_runtime::provider::{ProviderErrorKind, StreamEvent};

use crate::common::raw;
use crate::support::*;

#[tokio::test]
async fn an_error_event_after_http_200() {
    let error_data =
        json!({"error": {"message": "The server had an error", "type": "server_error"}});
    let plain = format!("data: {}\n\ndata: {error_data}\n\n", text("Hel"));
    let named = format!(
        "data: {}\n\nevent: error\ndata: {{\"message\": \"overloaded\"}}\n\n",
        text("Hel")
    );
    for (body, kind) in [
        (plain, ProviderErrorKind::Server),
        (named, ProviderErrorKind::Stream),
    ] {
        let (events, error) = stream_body(body).await;
        assert_eq!(events, [StreamEvent::TextDelta("Hel".into())]);
        let error = error.expect("the error event fails the stream");
        assert_eq!(provider_error(&error).kind(), kind);
        assert!(error.is_transient());
    }
}

#[tokio::test]
async fn a_truncated_stream_is_a_typed_error() {
    let cut_between_events = format!("data: {}\n\n", text("Hel"));
    let cut_inside_an_event = format!("data: {}\n\ndata: {{\"choices\": [{{\"del", text("Hel"));
    let cases = [
        (
            cut_between_events,
            "the stream ended before the answer was complete",
        ),
        (
            cut_inside_an_event,
            "the stream ended in the middle of an event",
        ),
        (
            String::new(),
            "the stream ended before the answer was complete",
        ),
    ];
    for (body, message) in cases {
        let (_, error) = stream_body(body).await;
        let error = error.expect("a truncated stream fails");
        assert_eq!(provider_error(&error).kind(), ProviderErrorKind::Stream);
        assert_eq!(provider_error(&error).message(), message);
    }
}

#[tokio::test]
async fn a_malformed_chunk_is_a_typed_error() {
    let shapes = ["{oops}", "{\"choices\": 3}", "[1, 2]"];
    for data in shapes {
        let body = format!(
            "data: {}\n\ndata: {data}\n\ndata: {}\n\n",
            text("a"),
            text("b")
        );
        let (events, error) = stream_body(body).await;
        assert_eq!(events, [StreamEvent::TextDelta("a".into())], "{data}");
        let error = error.expect("a malformed chunk fails the stream");
        assert_eq!(
            provider_error(&error).kind(),
            ProviderErrorKind::MalformedResponse
        );
    }
}

#[tokio::test]
async fn bad_tool_call_arguments_are_kept_as_written() {
    let call = json!({"index": 0, "id": "c", "type": "function",
                      "function": {"name": "f", "arguments": "{\"unclosed"}});
    let body = sse(&[
        chunk(json!({"tool_calls": [call]}), None),
        chunk(json!({}), Some("tool_calls")),
    ]);
    let (events, error) = stream_body(body).await;
    assert!(error.is_none(), "{error:?}");
    let Some(StreamEvent::Done(response)) = events.last() else {
        panic!("the stream ends with its answer: {events:?}");
    };
    assert_eq!(response.tool_calls[0].arguments, json!("{\"unclosed"));
}

#[tokio::test]
async fn utf8_characters_split_across_http_chunks() {
    let body = sse(&[
        text("héllo 😀 "),
        text("日本"),
        chunk(json!({}), Some("stop")),
    ]);
    let bytes = body.as_bytes();
    // Cut inside `é`, inside `😀`, inside `日`, and between `\n` and `\n`.
    let cuts = [
        body.find('é').expect("é") + 1,
        body.find('😀').expect("😀") + 2,
        body.find('日').expect("日") + 1,
        body.find("\n\n").expect("a blank line") + 1,
    ];
    let mut cuts = cuts.to_vec();
    cuts.sort_unstable();
    let mut parts = vec![raw::SSE_HEAD.to_vec()];
    let mut start = 0;
    for cut in cuts {
        parts.push(bytes[start..cut].to_vec());
        start = cut;
    }
    parts.push(bytes[start..].to_vec());
    let base_url = raw::serve(parts, Duration::ZERO).await;
    let model = provider_at(&base_url).build().expect("valid config");

    let (events, error) = collect(&model).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(deltas(&events), "héllo 😀 日本");
    assert_eq!(done(&events).text, "héllo 😀 日本");
}

#[tokio::test]
async fn a_stalled_stream_times_out() {
    let first = format!("data: {}\n\n", text("Hel"));
    let parts = vec![raw::SSE_HEAD.to_vec(), first.into_bytes()];
    let base_url = raw::serve(parts, Duration::from_secs(10)).await;
    let model = provider_at(&base_url).timeout(Duration::from_millis(300));
    let model = model.build().expect("valid config");

    let (events, error) = collect(&model).await;
    assert_eq!(events, [StreamEvent::TextDelta("Hel".into())]);
    let error = error.expect("the stream stalls");
    assert_eq!(provider_error(&error).kind(), ProviderErrorKind::Timeout);
}

#[tokio::test]
async fn a_connection_cut_mid_body_is_a_transient_error() {
    let head =
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: 5000\r\n\r\n";
    let first = format!("data: {}\n\n", text("Hel"));
    let base_url = raw::serve(vec![head.to_vec(), first.into_bytes()], Duration::ZERO).await;
    let model = provider_at(&base_url).build().expect("valid config");

    let (events, error) = collect(&model).await;
    assert_eq!(events, [StreamEvent::TextDelta("Hel".into())]);
    let error = error.expect("the body is cut");
    assert_eq!(provider_error(&error).kind(), ProviderErrorKind::Connection);
    assert!(error.is_transient());
}
