//! Servers that echo the key back: whole, at every offset around the cut of a long message,
//! JSON-escaped, or already cut short by the server. No piece of it reaches an error.

use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{assert_no_piece_of, chat_error, models, shown, stream_error, KEY};

/// How long a message may be before it is cut: a key around this offset straddles the cut.
const CUT: usize = 500;

/// The bodies a server could quote `message` in, with their status: an error object, a plain
/// text page, an error event of a stream, a stream event that is not JSON.
fn bodies(message: &str) -> [(u16, String, &'static str); 4] {
    let error =
        json!({"type": "error", "error": {"type": "invalid_request_error", "message": message}});
    [
        (400, error.to_string(), "application/json"),
        (400, message.to_owned(), "text/plain"),
        (200, format!("data: {error}\n\n"), "text/event-stream"),
        (
            200,
            format!("event: error\ndata: {message}\n\n"),
            "text/event-stream",
        ),
    ]
}

/// Serves `body` to every call, and fails if an error of a chat or a stream from either
/// provider shows a piece of the key (after decoding JSON escapes, so that an escaped key
/// counts).
async fn assert_scrubbed(
    server: &MockServer,
    (status, body, mime): (u16, String, &str),
    case: &str,
) -> usize {
    server.reset().await;
    let response = ResponseTemplate::new(status).set_body_raw(body, mime);
    Mock::given(method("POST"))
        .respond_with(response)
        .mount(server)
        .await;
    let mut checked = 0;
    for (name, model) in models(&server.uri(), KEY) {
        let mut errors = vec![stream_error(&*model).await];
        if status != 200 {
            errors.push(chat_error(&*model).await);
        }
        checked += errors.len();
        for error in errors {
            let case = format!("{name}, {case}, status {status} {mime}");
            assert_no_piece_of(KEY, &unescape(&shown(&error)), &case);
        }
    }
    checked
}

/// `text` with its `\uXXXX` escapes decoded.
fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("\\u") {
        out.push_str(&rest[..at]);
        let code = rest
            .get(at + 2..at + 6)
            .and_then(|hex| u32::from_str_radix(hex, 16).ok());
        match code.and_then(char::from_u32) {
            Some(c) => {
                out.push(c);
                rest = &rest[at + 6..];
            }
            None => {
                out.push_str("\\u");
                rest = &rest[at + 2..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn a_key_around_the_cut_never_survives() {
    let server = MockServer::start().await;
    let (mut offsets, mut checked) = (0, 0);
    // The stream's message has a prefix of its own ("the stream sent an error: "): start early.
    for offset in CUT - KEY.len() - 30..=CUT + 2 {
        let message = format!("{}{KEY}{}", "x".repeat(offset), "y".repeat(40));
        for body in bodies(&message) {
            checked += assert_scrubbed(&server, body, &format!("key at {offset}")).await;
        }
        offsets += 1;
    }
    eprintln!("key around the cut: {offsets} offsets, {checked} errors checked, no piece leaked");
}

#[tokio::test]
async fn a_json_escaped_key_is_scrubbed() {
    let escape = |c: char| format!("\\u{:04x}", c as u32);
    let first: String = KEY
        .chars()
        .take(1)
        .map(escape)
        .chain(KEY.chars().skip(1).map(String::from))
        .collect();
    let all_lower: String = KEY.chars().map(escape).collect();
    let all_upper: String = KEY
        .chars()
        .map(|c| format!("\\u{:04X}", c as u32))
        .collect();
    let dashes = KEY.replace('-', "\\u002d");
    let mut checked = 0;
    for echoed in [first, all_lower, all_upper, dashes] {
        let message = format!("invalid api key {echoed} for this project");
        // Not JSON, so the escapes reach the message as they are: a page, a cut-off JSON body,
        // a stream event.
        let cut_off = format!("{{\"error\": {{\"message\": \"{message}\"");
        let bodies = [
            (400, message.clone(), "text/plain"),
            (400, cut_off, "application/json"),
            (
                200,
                format!("event: error\ndata: {message}\n\n"),
                "text/event-stream",
            ),
            (
                200,
                format!("data: {{\"error\": \"{message}\"}}\n\n"),
                "text/event-stream",
            ),
        ];
        for body in bodies {
            checked += assert_scrubbed(&server().await, body, &format!("echoed as {echoed}")).await;
        }
    }
    eprintln!("json-escaped key: {checked} errors checked, no piece leaked");
}

#[tokio::test]
async fn a_key_the_server_cut_short_is_scrubbed() {
    let server = server().await;
    let short = &KEY[..14];
    let message = format!("Incorrect API key provided: {short}…");
    let mut checked = 0;
    for body in bodies(&message) {
        checked += assert_scrubbed(&server, body, "the first 14 characters").await;
    }
    eprintln!("key cut short by the server: {checked} errors checked, no piece leaked");
}

/// Regression: a server that quotes only the end of the key (`sk-...` and its last
/// characters, as OpenAI's "Incorrect API key" does), or a piece of its middle, had that
/// piece reach the error: only the key's start was looked for.
#[tokio::test]
async fn a_piece_of_the_key_from_anywhere_is_scrubbed() {
    let server = server().await;
    let chars: Vec<char> = KEY.chars().collect();
    let end: String = chars[chars.len() - 12..].iter().collect();
    let middle: String = chars[10..22].iter().collect();
    let start: String = chars[..7].iter().collect();
    let mut checked = 0;
    for (piece, case) in [
        (end, "its end"),
        (middle, "its middle"),
        (start, "its start"),
    ] {
        let message = format!("Incorrect API key provided: sk-...{piece}. Check it.");
        for body in bodies(&message) {
            checked += assert_scrubbed(&server, body, case).await;
        }
    }
    eprintln!("pieces of the key: {checked} errors checked, no piece leaked");
}

async fn server() -> MockServer {
    MockServer::start().await
}
