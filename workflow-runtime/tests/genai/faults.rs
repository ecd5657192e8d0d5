//! Failures of both APIs: each HTTP status has the kind the built-in providers give it, a body
//! that cannot be read is an error and never a panic, transient failures are retried, and the
//! key shows nowhere.

use std::time::Duration;

use serde_json::json;
use wiremock::{MockServer, ResponseTemplate};
use workflow_runtime::provider::{ChatModel, ChatRequest, Genai, ProviderError, ProviderErrorKind};
use workflow_runtime::Error;

use crate::support::*;

/// An error body in `api`'s format that quotes the key, as some servers do.
fn error_body(api: Api, status: u16, message: &str) -> serde_json::Value {
    let message = format!("{message} (key {CANARY})");
    match api {
        Api::OpenAi => json!({"error": {"message": message, "type": "invalid_request_error",
                                        "param": null, "code": null}}),
        Api::Gemini => json!({"error": {"code": status, "message": message,
                                        "status": "FAILED"}}),
    }
}

/// The error of one call (streamed if `stream`) to a server answering with `response`, which
/// must not be retried nor hold the key.
async fn fail(api: Api, stream: bool, response: ResponseTemplate) -> ProviderError {
    let (server, model) = api.serve(stream, response).await;
    let request = ChatRequest::new().user("hi");
    let error: Error = if stream {
        match model.stream(request).await {
            Ok(_) => panic!("{api:?}: the stream starts"),
            Err(error) => error,
        }
    } else {
        model.chat(request).await.expect_err("fails")
    };
    assert_secret_free(&error);
    assert_eq!(requests(&server).await, 1, "{api:?}: {error}");
    provider_error(&error).clone()
}

#[tokio::test]
async fn statuses_have_the_kinds_of_the_built_in_providers() {
    let cases = [
        (
            429,
            ProviderErrorKind::RateLimited {
                retry_after: Some(Duration::from_secs(7)),
            },
        ),
        (500, ProviderErrorKind::Server),
        (503, ProviderErrorKind::Server),
        (401, ProviderErrorKind::Unauthorized),
        (403, ProviderErrorKind::Forbidden),
        (404, ProviderErrorKind::NotFound),
        (400, ProviderErrorKind::BadRequest),
    ];
    for api in Api::ALL {
        for stream in [false, true] {
            for (status, kind) in cases {
                let body = error_body(api, status, "it failed");
                let response = ResponseTemplate::new(status)
                    .set_body_json(body)
                    .insert_header("retry-after", "7");
                let error = fail(api, stream, response).await;
                let case = format!("{api:?} {status} stream={stream}: {error}");
                assert_eq!(error.kind(), kind, "{case}");
                assert_eq!(error.status(), Some(status), "{case}");
                assert_eq!(
                    error.is_transient(),
                    status == 429 || status >= 500,
                    "{case}"
                );
                assert!(error.message().starts_with("it failed (key "), "{case}");
                assert!(error.message().contains("[redacted]"), "{case}");
            }
        }
    }
}

#[tokio::test]
async fn unreadable_bodies_are_errors_not_panics() {
    let bodies = [
        ResponseTemplate::new(200).set_body_string("not json at all"),
        ResponseTemplate::new(200).set_body_raw("{\"choices\": [", "application/json"),
        ResponseTemplate::new(200).set_body_json(json!({})),
        ResponseTemplate::new(200).set_body_json(json!({"choices": 42, "candidates": 42})),
        ResponseTemplate::new(200).set_body_json(json!([1, 2])),
    ];
    for api in Api::ALL {
        for body in bodies.clone() {
            let error = fail(api, false, body).await;
            assert!(
                matches!(
                    error.kind(),
                    ProviderErrorKind::MalformedResponse | ProviderErrorKind::Other
                ),
                "{api:?}: {error}"
            );
            assert!(!error.is_transient(), "{api:?}: {error}");
        }
    }
}

#[tokio::test]
async fn a_stream_that_breaks_is_an_error_not_a_panic() {
    for api in Api::ALL {
        let body = "data: {\"choices\": [{\"delta\": \ndata: [1, 2]\n\n".to_owned();
        let (_server, model) = api.serve(true, sse_response(body)).await;
        let mut stream = match model.stream(ChatRequest::new().user("hi")).await {
            Ok(stream) => stream,
            // It may fail before the first event: then it failed as it should.
            Err(error) => {
                assert_secret_free(&error);
                continue;
            }
        };
        let mut failed = false;
        while let Some(item) = futures_util::StreamExt::next(&mut stream).await {
            if let Err(error) = item {
                assert_secret_free(&error);
                failed = true;
            }
        }
        assert!(failed, "{api:?}: a broken stream ends with an error");
    }
}

#[tokio::test]
async fn transient_failures_are_retried() {
    for api in Api::ALL {
        let server = MockServer::start().await;
        let body = error_body(api, 503, "overloaded");
        let answer = match api {
            Api::OpenAi => json!({"choices": [{"index": 0, "finish_reason": "stop",
                "message": {"role": "assistant", "content": "fine"}}]}),
            Api::Gemini => json!({"candidates": [{"content": {"role": "model",
                "parts": [{"text": "fine"}]}, "finishReason": "STOP"}]}),
        };
        let (respond, arrivals) = timed(move |n| match n {
            0 => ResponseTemplate::new(503).set_body_json(body.clone()),
            _ => ResponseTemplate::new(200).set_body_json(answer.clone()),
        });
        api.endpoint(false)
            .respond_with(respond)
            .mount(&server)
            .await;
        let model = api.provider(&server).build().expect("valid config");
        let response = model
            .chat(ChatRequest::new().user("hi"))
            .await
            .expect("answers");
        assert_eq!(response.text, "fine");
        assert_eq!(arrivals.count(), 2, "{api:?}");
    }
}

#[tokio::test]
async fn a_stream_is_retried_until_it_starts() {
    for api in Api::ALL {
        let server = MockServer::start().await;
        let body = error_body(api, 429, "slow down");
        let chunk = match api {
            Api::OpenAi => json!({"choices": [{"index": 0, "finish_reason": "stop",
                "delta": {"role": "assistant", "content": "fine"}}]}),
            Api::Gemini => json!({"candidates": [{"content": {"role": "model",
                "parts": [{"text": "fine"}]}, "finishReason": "STOP"}]}),
        };
        let stream = sse(&[chunk]) + "data: [DONE]\n\n";
        let (respond, arrivals) = timed(move |n| match n {
            0 => ResponseTemplate::new(429).set_body_json(body.clone()),
            _ => sse_response(stream.clone()),
        });
        api.endpoint(true)
            .respond_with(respond)
            .mount(&server)
            .await;
        let model = api.provider(&server).build().expect("valid config");
        let (events, error) = collect(&model).await;
        assert!(error.is_none(), "{api:?}: {error:?}");
        assert_eq!(done(&events).text, "fine", "{api:?}");
        assert_eq!(arrivals.count(), 2, "{api:?}");
    }
}

#[tokio::test]
async fn no_connection_is_a_transient_connection_error() {
    // A port nothing listens on: bound, then let go.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().expect("an address").port();
    drop(listener);
    let model = Genai::builder("openai::gpt-4o-mini")
        .base_url(format!("http://127.0.0.1:{port}/v1"))
        .api_key(CANARY)
        .retries(0)
        .build()
        .expect("valid config");
    let error = model
        .chat(ChatRequest::new().user("hi"))
        .await
        .expect_err("fails");
    assert_secret_free(&error);
    let error = provider_error(&error);
    assert_eq!(error.kind(), ProviderErrorKind::Connection, "{error}");
}

#[test]
fn a_bad_base_url_is_a_config_error_and_debug_hides_the_key() {
    let error = Genai::builder("gemini-2.0-flash")
        .base_url("not a url")
        .api_key(CANARY)
        .build()
        .expect_err("refused");
    assert_eq!(provider_error(&error).kind(), ProviderErrorKind::Config);
    assert_secret_free(&error);

    let builder = Genai::builder("gemini-2.0-flash")
        .base_url("https://user:hunter22@proxy.example/v1beta")
        .api_key(CANARY);
    let model = builder.clone().build().expect("valid config");
    for debug in [format!("{builder:?}"), format!("{model:?}")] {
        assert!(
            !debug.contains(CANARY) && !debug.contains("hunter22"),
            "{debug}"
        );
    }
    assert_eq!(
        (model.name(), model.model()),
        ("gemini", "gemini-2.0-flash")
    );
}

#[tokio::test]
async fn no_key_says_which_variable_to_set() {
    if std::env::var_os("GROQ_API_KEY").is_some() {
        eprintln!("GROQ_API_KEY is set: nothing to check");
        return;
    }
    let server = MockServer::start().await;
    let model = Genai::builder("groq::llama-3.1-8b-instant")
        .base_url(format!("{}/openai/v1", server.uri()))
        .build()
        .expect("the key is read when called");
    let error = model
        .chat(ChatRequest::new().user("hi"))
        .await
        .expect_err("no key");
    let error = provider_error(&error);
    assert_eq!(error.kind(), ProviderErrorKind::Config, "{error}");
    assert!(error.message().contains("GROQ_API_KEY"), "{error}");
    assert_eq!(requests(&server).await, 0);
}
