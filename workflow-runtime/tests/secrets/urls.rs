//! A secret in a base URL's userinfo (`https://user:KEY@host`), which the HTTP client sends as
//! basic authentication: it never prints, in a provider, its builder, its configuration, a
//! configuration error, or an error whose server echoed it.

use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};
use workflow_runtime::provider::{Anthropic, ModelConfig, OpenAi};

use crate::support::{assert_no_piece_of, chat_error, shown, stream_error, KEY};

/// Base URLs with `KEY` in their userinfo.
fn with_userinfo(host: &str) -> [String; 3] {
    [
        format!("https://user:{KEY}@{host}/v1"),
        format!("https://{KEY}@{host}/v1"),
        format!("https://{KEY}:@{host}/v1"),
    ]
}

#[test]
fn a_key_in_the_userinfo_never_prints() {
    for base_url in with_userinfo("127.0.0.1:9") {
        let openai = OpenAi::builder(&base_url, "m").api_key("sk-other");
        let anthropic = Anthropic::builder("sk-other", "m").base_url(&base_url);
        let config = ModelConfig::from_lookup(|name| match name {
            "OPENAI_BASE_URL" => Some(base_url.clone()),
            "OPENAI_MODEL" => Some("m".into()),
            _ => None,
        })
        .expect("a configuration");
        let shown = format!(
            "{openai:?} {openai:#?} {:?} {anthropic:?} {anthropic:#?} {:?} {config} {config:?}",
            openai.clone().build().expect("valid"),
            anthropic.clone().build().expect("valid"),
        );
        assert_no_piece_of(KEY, &shown, &base_url);
        assert!(
            shown.contains("127.0.0.1:9"),
            "the host still shows: {shown}"
        );
    }
}

#[test]
fn a_bad_base_url_with_userinfo_is_not_quoted() {
    let bad = [
        format!("https://user:{KEY}@127.0.0.1:notaport/v1"),
        format!("https://user:{KEY}@[::1/v1"),
        format!("user:{KEY}@127.0.0.1/v1"),
        format!("https://{KEY}@exa mple.com"),
    ];
    for base_url in bad {
        let errors = [
            OpenAi::builder(&base_url, "m")
                .build()
                .expect_err("not a URL"),
            Anthropic::builder("sk-other", "m")
                .base_url(&base_url)
                .build()
                .expect_err("not a URL"),
        ];
        for error in errors {
            let text = shown(&error);
            assert_no_piece_of(KEY, &text, &base_url);
            assert!(text.contains("invalid base url"), "{text}");
        }
    }
}

#[tokio::test]
async fn a_server_echoing_the_userinfo_is_scrubbed() {
    let server = MockServer::start().await;
    let echo = format!("proxy authentication failed for user:{KEY}");
    let response = ResponseTemplate::new(401).set_body_raw(echo, "text/plain");
    Mock::given(method("POST"))
        .respond_with(response)
        .mount(&server)
        .await;
    let host = server.address().to_string();
    let base = format!("http://user:{KEY}@{host}");
    let openai = OpenAi::builder(format!("{base}/v1"), "m")
        .api_key("sk-other")
        .retries(0)
        .build()
        .expect("valid");
    let anthropic = Anthropic::builder("sk-other", "m")
        .base_url(&base)
        .retries(0)
        .build()
        .expect("valid");
    for error in [
        chat_error(&openai).await,
        stream_error(&openai).await,
        chat_error(&anthropic).await,
        stream_error(&anthropic).await,
    ] {
        assert_no_piece_of(KEY, &shown(&error), "echoed userinfo");
    }
    assert_eq!(server.received_requests().await.map_or(0, |r| r.len()), 4);
}
