//! Retries: transient failures (429 and 529 overloaded after `retry-after`, 5xx, timeouts) are
//! retried with backoff; client errors and spent quotas are not.

use std::time::Duration;

use serde_json::json;
use wiremock::{MockServer, ResponseTemplate};
use workflow_runtime::provider::{ChatModel, ChatRequest, ProviderErrorKind};

use crate::support::*;

/// A server failing the first `failures` calls with `failure`, then answering "ok".
async fn flaky(failure: ResponseTemplate, failures: u64) -> MockServer {
    let server = MockServer::start().await;
    messages()
        .respond_with(failure)
        .up_to_n_times(failures)
        .mount(&server)
        .await;
    let answer = message(json!([{"type": "text", "text": "ok"}]), "end_turn");
    messages()
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .mount(&server)
        .await;
    server
}

/// Fails once with `failure` (which says `retry-after: 0`), then answers: the call waits for
/// `retry-after`, not for its ten-minute backoff, and succeeds on the second request.
async fn retries_after_retry_after(failure: ResponseTemplate) {
    let server = flaky(failure, 1).await;
    // The backoff alone would wait ten minutes: only honouring `retry-after` finishes.
    let ten_minutes = Duration::from_secs(600);
    let model = provider(&server)
        .backoff(ten_minutes)
        .max_backoff(ten_minutes)
        .build()
        .expect("valid config");

    let call = model.chat(ChatRequest::new().user("hi"));
    let response = tokio::time::timeout(HANG, call).await.expect("no hang");
    assert_eq!(response.expect("retried").text, "ok");
    assert_eq!(requests(&server).await, 2);
}

#[tokio::test]
async fn rate_limit_waits_for_retry_after_then_succeeds() {
    let limited = ResponseTemplate::new(429)
        .insert_header("retry-after", "0")
        .set_body_json(error_body(
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit",
        ));
    retries_after_retry_after(limited).await;
}

#[tokio::test]
async fn rate_limit_longer_than_max_backoff_is_returned_not_waited() {
    let limited = ResponseTemplate::new(429)
        .insert_header("retry-after", "120")
        .set_body_json(error_body("rate_limit_error", "slow down"));
    let (server, model) = serve(limited).await;

    let error = model
        .chat(ChatRequest::new().user("hi"))
        .await
        .expect_err("limited");
    assert_secret_free(&error);
    let retry_after = Some(Duration::from_secs(120));
    assert_eq!(
        provider_error(&error).kind(),
        ProviderErrorKind::RateLimited { retry_after }
    );
    assert!(error.is_transient(), "a later step retry may succeed");
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test]
async fn overloaded_529_and_server_errors_are_retried() {
    let overloaded =
        ResponseTemplate::new(529).set_body_json(error_body("overloaded_error", "Overloaded"));
    let internal = ResponseTemplate::new(500).set_body_json(error_body("api_error", "oops"));
    for failure in [overloaded, internal] {
        let server = flaky(failure, 2).await;
        let model = provider(&server).build().expect("valid config");
        let response = model.chat(ChatRequest::new().user("hi")).await;
        assert_eq!(response.expect("retried").text, "ok");
        assert_eq!(requests(&server).await, 3);
    }
}

#[tokio::test]
async fn overloaded_529_waits_for_retry_after_then_succeeds() {
    let overloaded = ResponseTemplate::new(529)
        .insert_header("retry-after", "0")
        .set_body_json(error_body("overloaded_error", "Overloaded"));
    retries_after_retry_after(overloaded).await;
}

#[tokio::test]
async fn overloaded_529_longer_than_max_backoff_is_returned_not_waited() {
    let overloaded = ResponseTemplate::new(529)
        .insert_header("retry-after", "120")
        .set_body_json(error_body("overloaded_error", "Overloaded"));
    let (server, model) = serve(overloaded).await;

    let call = model.chat(ChatRequest::new().user("hi"));
    let error = tokio::time::timeout(HANG, call)
        .await
        .expect("no hang")
        .expect_err("overloaded");
    assert_secret_free(&error);
    let provider_error = provider_error(&error);
    assert_eq!(provider_error.kind(), ProviderErrorKind::Server);
    assert_eq!(provider_error.status(), Some(529));
    assert_eq!(provider_error.retry_after(), Some(Duration::from_secs(120)));
    assert!(error.is_transient(), "a later step retry may succeed");
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test]
async fn overloaded_fails_after_the_last_retry() {
    let overloaded =
        ResponseTemplate::new(529).set_body_json(error_body("overloaded_error", "Overloaded"));
    let server = MockServer::start().await;
    messages().respond_with(overloaded).mount(&server).await;
    let model = provider(&server).retries(1).build().expect("valid config");

    let error = model
        .chat(ChatRequest::new().user("hi"))
        .await
        .expect_err("fails");
    assert_secret_free(&error);
    assert_eq!(
        error.to_string(),
        "anthropic: server error (http 529): Overloaded"
    );
    assert_eq!(provider_error(&error).status(), Some(529));
    assert!(error.is_transient());
    assert_eq!(requests(&server).await, 2);
}

#[tokio::test]
async fn client_errors_and_spent_quotas_are_not_retried() {
    let spend_limit = json!({"type": "error", "error": {
        "type": "rate_limit_error",
        "message": "You have reached your monthly spend limit.",
        "details": {"error_code": "enforced_spend_limit_reached"}
    }});
    let cases = [
        (
            400,
            error_body("invalid_request_error", "messages: field required"),
            ProviderErrorKind::BadRequest,
        ),
        (
            401,
            error_body("authentication_error", "invalid x-api-key"),
            ProviderErrorKind::Unauthorized,
        ),
        (
            402,
            error_body("billing_error", "Your credit balance is too low"),
            ProviderErrorKind::QuotaExhausted,
        ),
        (
            403,
            error_body("permission_error", "not allowed"),
            ProviderErrorKind::Forbidden,
        ),
        (
            404,
            error_body("not_found_error", "model: claude-x"),
            ProviderErrorKind::NotFound,
        ),
        (
            413,
            error_body("request_too_large", "Request exceeds the maximum size"),
            ProviderErrorKind::BadRequest,
        ),
        (429, spend_limit, ProviderErrorKind::QuotaExhausted),
    ];
    for (status, body, kind) in cases {
        let (server, model) = serve(ResponseTemplate::new(status).set_body_json(body)).await;
        let error = model
            .chat(ChatRequest::new().user("hi"))
            .await
            .expect_err("fails");
        assert_secret_free(&error);
        assert_eq!(provider_error(&error).kind(), kind, "http {status}");
        assert_eq!(provider_error(&error).status(), Some(status));
        assert!(!error.is_transient(), "http {status}");
        assert_eq!(requests(&server).await, 1, "http {status} is not retried");
    }
}

#[tokio::test]
async fn timeouts_are_typed_errors() {
    let answer = message(json!([{"type": "text", "text": "late"}]), "end_turn");
    let slow = ResponseTemplate::new(200)
        .set_body_json(answer)
        .set_delay(Duration::from_secs(5));
    let server = MockServer::start().await;
    messages().respond_with(slow).mount(&server).await;
    let model = provider(&server)
        .timeout(Duration::from_millis(100))
        .retries(0)
        .build()
        .expect("valid config");

    let error = model
        .chat(ChatRequest::new().user("hi"))
        .await
        .expect_err("too slow");
    assert_secret_free(&error);
    assert_eq!(provider_error(&error).kind(), ProviderErrorKind::Timeout);
    assert!(error.is_transient());
}
