//! API keys never print: not in `Debug`, `Display`, errors, or the `Debug` of what holds them;
//! not when a server echoes them back, cut, escaped, or in a URL's userinfo.

use std::error::Error as _;

mod echoes;
mod support;
mod urls;

use workflow_runtime::provider::{
    Anthropic, ApiKey, ChatRequest, Message, OpenAi, ProviderError, ProviderErrorKind,
};
use workflow_runtime::Error;

const CANARY: &str = "sk-canary-0d9e1f";

#[test]
fn a_key_prints_redacted() {
    let key = ApiKey::new(CANARY);
    let shown = format!("{key} {key:?} {:?}", Some(key.clone()));
    assert!(!shown.contains(CANARY), "{shown}");
    assert_eq!(key.expose_secret(), CANARY);
}

#[test]
fn providers_and_builders_print_no_key() {
    let builder = OpenAi::builder("http://127.0.0.1:9/v1", "m").api_key(CANARY);
    let provider = builder.clone().build().expect("valid config");
    let request = ChatRequest::new()
        .system("s")
        .user("u")
        .message(Message::assistant("a"));
    let shown = format!("{builder:?} {builder:#?} {provider:?} {provider:#?} {request:?}");
    assert!(!shown.contains(CANARY), "{shown}");
    assert!(shown.contains("[redacted]"));
    let builder = Anthropic::builder(CANARY, "m").base_url("http://127.0.0.1:9");
    let provider = builder.clone().build().expect("valid config");
    let shown = format!("{builder:?} {builder:#?} {provider:?} {provider:#?}");
    assert!(!shown.contains(CANARY), "{shown}");
    assert!(shown.contains("[redacted]"));
}

#[test]
fn a_key_in_a_bad_header_is_not_quoted() {
    let bad_key = format!("{CANARY}\r\nx: y");
    let openai = OpenAi::builder("http://127.0.0.1:9/v1", "m")
        .api_key(bad_key.clone())
        .build()
        .expect_err("a key with a line break cannot be sent");
    let anthropic = Anthropic::builder(bad_key, "m")
        .build()
        .expect_err("a key with a line break cannot be sent");
    for error in [openai, anthropic] {
        let mut shown = format!("{error} {error:?}");
        let mut source = error.source();
        while let Some(cause) = source {
            shown.push_str(&format!(" {cause} {cause:?}"));
            source = cause.source();
        }
        assert!(!shown.contains(CANARY), "{shown}");
    }
}

#[test]
fn provider_errors_chain_their_source() {
    let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
    let error: Error = ProviderError::new("p", ProviderErrorKind::Connection, "the request failed")
        .with_source(io)
        .into();
    assert_eq!(
        error.to_string(),
        "p: connection failed: the request failed"
    );
    let source = error.source().expect("the io error");
    assert_eq!(source.to_string(), "reset by peer");
    assert!(error.is_transient());
}
