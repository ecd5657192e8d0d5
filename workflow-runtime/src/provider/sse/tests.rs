//! The parser gives the same events however the stream is cut into chunks.

use super::{SseEvent, SseParser};

fn data(data: &str) -> SseEvent {
    SseEvent {
        event: None,
        data: data.to_owned(),
    }
}

fn named(event: &str, data: &str) -> SseEvent {
    SseEvent {
        event: Some(event.to_owned()),
        data: data.to_owned(),
    }
}

fn parse(chunks: &[&[u8]]) -> Vec<SseEvent> {
    let mut parser = SseParser::new();
    let mut out = Vec::new();
    for chunk in chunks {
        parser.feed(chunk, &mut out);
    }
    parser.finish(&mut out);
    out
}

/// Parses `stream` whole, then cut at every point, at every pair of points, and byte by byte,
/// and checks every parse gives `expected`.
fn check(stream: &str, expected: &[SseEvent]) {
    let bytes = stream.as_bytes();
    assert_eq!(parse(&[bytes]), expected, "whole stream {stream:?}");
    for i in 0..=bytes.len() {
        let (a, b) = bytes.split_at(i);
        assert_eq!(parse(&[a, b]), expected, "split at {i} of {stream:?}");
        for j in i..=bytes.len() {
            let (b, c) = b.split_at(j - i);
            assert_eq!(
                parse(&[a, b, c]),
                expected,
                "split at {i}, {j} of {stream:?}"
            );
        }
    }
    let single: Vec<&[u8]> = bytes.chunks(1).collect();
    assert_eq!(parse(&single), expected, "byte by byte {stream:?}");
}

#[test]
fn openai_stream_with_comment_and_done() {
    let stream = ": keep-alive\n\ndata: {\"a\":1}\n\ndata: {\"b\":\"é😀\"}\n\ndata: [DONE]\n\n";
    let expected = [data("{\"a\":1}"), data("{\"b\":\"é😀\"}"), data("[DONE]")];
    check(stream, &expected);
    assert!(parse(&[stream.as_bytes()])[2].is_done());
}

#[test]
fn crlf_multi_line_data_and_event_names() {
    let stream = "event: message\r\ndata: line one\r\ndata: line two\r\n\r\n\
                  :comment\r\ndata:no-space\r\n\r\n";
    check(
        stream,
        &[named("message", "line one\nline two"), data("no-space")],
    );
}

#[test]
fn lone_cr_ends_lines() {
    check(
        "data: a\r\rdata: b\rdata: c\r\r",
        &[data("a"), data("b\nc")],
    );
}

#[test]
fn final_event_without_blank_line() {
    check("data: x\n\ndata: last", &[data("x"), data("last")]);
    check("data: x\n\ndata: last\n", &[data("x"), data("last")]);
    check("data: [DONE]", &[data("[DONE]")]);
}

#[test]
fn multi_byte_characters_split_anywhere() {
    check("data: 日本語 ✓ 😀\n\n", &[data("日本語 ✓ 😀")]);
}

#[test]
fn error_event() {
    let stream = "event: error\ndata: {\"error\":{\"message\":\"boom\"}}\n\n";
    check(
        stream,
        &[named("error", "{\"error\":{\"message\":\"boom\"}}")],
    );
}

#[test]
fn empty_data_lines_and_fields_without_colon() {
    check("data\n\ndata:\ndata:\n\n", &[data(""), data("\n")]);
}

#[test]
fn event_without_data_is_dropped_and_its_name_forgotten() {
    check(
        "event: ping\nid: 7\nretry: 100\n\ndata: y\n\n",
        &[data("y")],
    );
}

#[test]
fn only_one_leading_space_is_dropped() {
    check("data:  two spaces \n\n", &[data(" two spaces ")]);
}

#[test]
fn invalid_utf8_is_replaced_not_a_panic() {
    let mut stream = b"data: ".to_vec();
    stream.extend_from_slice(&[0xff, 0xfe, b'x']);
    stream.extend_from_slice(b"\n\n");
    assert_eq!(parse(&[&stream]), [data("\u{fffd}\u{fffd}x")]);
}

#[test]
fn empty_stream_has_no_events() {
    check("", &[]);
    check(": only a comment\n\n", &[]);
}
