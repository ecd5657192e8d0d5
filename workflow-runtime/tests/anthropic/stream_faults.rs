//! Bad streams: error events after HTTP 200, truncation, malformed events, bad tool input, UTF-8
//! characters split across chunks, stalls and cut connections. Each is handled or a typed
//! error.

use std::time::Duration;

use serde_json::json;
use workflow_runtime::provider::{ProviderErrorKind, StreamEvent};

use crate::common::raw;
use crate::support::*;

/// The stream's start: `message_start`, a text block and its first delta, "Hel".
fn hel() -> String {
    sse(&[message_start(), text_start(0), text_delta(0, "Hel")])
}

#[tokio::test]
async fn an_error_event_after_http_200() {
    let overloaded = format!(
        "{}event: error\ndata: {}\n\n",
        hel(),
        error_body("overloaded_error", "Overloaded")
    );
    let not_json = format!("{}event: error\ndata: upstream went away\n\n", hel());
    let cases = [
        (overloaded, ProviderErrorKind::Server, "Overloaded"),
        (
            not_json,
            ProviderErrorKind::Stream,
            "the stream sent an error: upstream went away",
        ),
    ];
    for (body, kind, message) in cases {
        let (events, error) = stream_body(body).await;
        assert_eq!(events, [StreamEvent::TextDelta("Hel".into())]);
        let error = error.expect("the error event fails the stream");
        assert_eq!(provider_error(&error).kind(), kind);
        assert_eq!(provider_error(&error).message(), message);
        assert!(error.is_transient());
    }
}

#[tokio::test]
async fn a_truncated_stream_is_a_typed_error() {
    let cut_inside_an_event = format!(
        "{}event: content_block_delta\ndata: {{\"type\": \"content_blo",
        hel()
    );
    let cases = [
        (hel(), "the stream ended before the answer was complete"),
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
async fn a_malformed_event_is_a_typed_error() {
    let shapes = [
        "{oops}",
        "[1, 2]",
        r#"{"no_type": true}"#,
        r#"{"type": "content_block_delta", "delta": {"type": "text_delta", "text": "x"}}"#,
        r#"{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta"}}"#,
        r#"{"type": "content_block_start", "index": "one", "content_block": {"type": "text"}}"#,
    ];
    for data in shapes {
        let body = format!(
            "{}event: content_block_delta\ndata: {data}\n\n{}",
            hel(),
            sse(&[text_delta(0, "lo")])
        );
        let (events, error) = stream_body(body).await;
        assert_eq!(events, [StreamEvent::TextDelta("Hel".into())], "{data}");
        let error = error.expect("a malformed event fails the stream");
        assert_eq!(
            provider_error(&error).kind(),
            ProviderErrorKind::MalformedResponse,
            "{data}"
        );
    }
}

#[tokio::test]
async fn bad_tool_input_is_a_typed_error() {
    let unclosed = sse(&[
        message_start(),
        tool_start(0, "toolu_1", "f"),
        json_delta(0, "{\"unclosed"),
        block_stop(0),
        message_delta("tool_use", 5),
        message_stop(),
    ]);
    let never_started = sse(&[message_start(), json_delta(3, "{}")]);
    let nameless = sse(&[
        message_start(),
        json!({"type": "content_block_start", "index": 0,
               "content_block": {"type": "tool_use", "id": "toolu_1", "input": {}}}),
        block_stop(0),
    ]);
    let cases = [
        (unclosed, "the input of tool call `f` is not valid JSON"),
        (never_started, "content block 3 has input but never started"),
        (nameless, "tool call 0 has no `name`"),
    ];
    for (body, message) in cases {
        let (events, error) = stream_body(body).await;
        assert!(!events.iter().any(|e| matches!(e, StreamEvent::ToolCall(_))));
        let error = error.expect("bad input fails the stream");
        assert_eq!(
            provider_error(&error).kind(),
            ProviderErrorKind::MalformedResponse
        );
        assert!(
            provider_error(&error).message().starts_with(message),
            "{error}"
        );
    }
}

#[tokio::test]
async fn utf8_characters_split_across_http_chunks() {
    let body = sse(&text_stream(&["héllo 😀 ", "日本"]));
    let bytes = body.as_bytes();
    // Cut inside `é`, inside `😀`, inside `日`, and between `\n` and `\n`.
    let mut cuts = vec![
        body.find('é').expect("é") + 1,
        body.find('😀').expect("😀") + 2,
        body.find('日').expect("日") + 1,
        body.find("\n\n").expect("a blank line") + 1,
    ];
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
    let parts = vec![raw::SSE_HEAD.to_vec(), hel().into_bytes()];
    let base_url = raw::serve(parts, Duration::from_secs(10)).await;
    let model = provider_at(&base_url).timeout(Duration::from_millis(300));
    let model = model.build().expect("valid config");

    let (events, error) = collect(&model).await;
    assert_eq!(events, [StreamEvent::TextDelta("Hel".into())]);
    let error = error.expect("the stream stalls");
    assert_eq!(provider_error(&error).kind(), ProviderErrorKind::Timeout);
    assert!(error.is_transient());
}

#[tokio::test]
async fn a_connection_cut_mid_body_is_a_transient_error() {
    let head =
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: 5000\r\n\r\n";
    let base_url = raw::serve(vec![head.to_vec(), hel().into_bytes()], Duration::ZERO).await;
    let model = provider_at(&base_url).build().expect("valid config");

    let (events, error) = collect(&model).await;
    assert_eq!(events, [StreamEvent::TextDelta("Hel".into())]);
    let error = error.expect("the body is cut");
    assert_eq!(provider_error(&error).kind(), ProviderErrorKind::Connection);
    assert!(error.is_transient());
}
