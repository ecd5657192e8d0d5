//! Statuses, bodies and `Retry-After` headers into errors.

use super::*;
use reqwest::header::HeaderValue;

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(*name, HeaderValue::from_static(value));
    }
    map
}

#[test]
fn retry_after_forms() {
    let secs = |s| retry_after(&headers(&[("retry-after", s)]));
    assert_eq!(secs("3"), Some(Duration::from_secs(3)));
    assert_eq!(secs(" 1.5 "), Some(Duration::from_millis(1500)));
    assert_eq!(secs("-1"), None);
    assert_eq!(secs("soon"), None);
    let both = headers(&[("retry-after", "9"), ("retry-after-ms", "250")]);
    assert_eq!(retry_after(&both), Some(Duration::from_millis(250)));
    assert_eq!(retry_after(&HeaderMap::new()), None);
}

#[test]
fn retry_after_as_an_http_date() {
    // 2015-10-21 07:28:00 UTC.
    let date = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
    let at = |value, now| retry_after_at(&headers(&[("retry-after", value)]), now);
    let value = "Wed, 21 Oct 2015 07:28:00 GMT";
    let before = date - Duration::from_secs(90);
    assert_eq!(at(value, before), Some(Duration::from_secs(90)));
    // The obsolete forms RFC 9110 still asks recipients to read.
    let rfc850 = "Wednesday, 21-Oct-15 07:28:00 GMT";
    assert_eq!(at(rfc850, before), Some(Duration::from_secs(90)));
    assert_eq!(
        at("Wed Oct 21 07:28:00 2015", before),
        Some(Duration::from_secs(90))
    );
    // A date already past asks for no wait; a date that is not one for none either.
    let after = date + Duration::from_secs(5);
    assert_eq!(at(value, after), Some(Duration::ZERO));
    assert_eq!(at("Wed, 32 Oct 2015 07:28:00 GMT", before), None);
    // `retry-after-ms` still wins.
    let both = headers(&[("retry-after", value), ("retry-after-ms", "250")]);
    assert_eq!(
        retry_after_at(&both, before),
        Some(Duration::from_millis(250))
    );
}

#[test]
fn statuses_and_bodies() {
    let caller = Caller::new("test".into(), Some(ApiKey::new("sk-canary")));
    let quota = br#"{"error":{"message":"You exceeded your quota","type":"insufficient_quota","code":"insufficient_quota"}}"#;
    let error = caller.status_error(429, &HeaderMap::new(), quota);
    assert_eq!(error.kind(), ProviderErrorKind::QuotaExhausted);
    assert_eq!(error.message(), "You exceeded your quota");
    let echoed = br#"{"error":"bad key sk-canary"}"#;
    let error = caller.status_error(401, &HeaderMap::new(), echoed);
    assert_eq!(
        error.to_string(),
        "test: unauthorized (http 401): bad key [redacted]"
    );
    let error = caller.status_error(502, &HeaderMap::new(), b"<html>bad gateway</html>");
    assert_eq!(
        (error.kind(), error.message()),
        (ProviderErrorKind::Server, "<html>bad gateway</html>")
    );
    let llama = serde_json::json!({"error": {"code": 500, "message": "oops"}});
    assert_eq!(
        caller
            .payload_error(&llama, ProviderErrorKind::Stream)
            .kind(),
        ProviderErrorKind::Server
    );
    let unknown = serde_json::json!({"error": {"message": "?"}});
    assert_eq!(
        caller
            .payload_error(&unknown, ProviderErrorKind::Stream)
            .kind(),
        ProviderErrorKind::Stream
    );
}

#[test]
fn anthropic_error_types() {
    let caller = Caller::new("anthropic".into(), None);
    let kind = |error_type: &str| {
        let body = serde_json::json!({"type": "error",
                                      "error": {"type": error_type, "message": "m"}});
        caller
            .payload_error(&body, ProviderErrorKind::Stream)
            .kind()
    };
    assert_eq!(kind("overloaded_error"), ProviderErrorKind::Server);
    assert_eq!(kind("api_error"), ProviderErrorKind::Server);
    assert_eq!(kind("billing_error"), ProviderErrorKind::QuotaExhausted);
    assert_eq!(kind("timeout_error"), ProviderErrorKind::Timeout);
    assert_eq!(kind("request_too_large"), ProviderErrorKind::BadRequest);
    assert_eq!(
        kind("rate_limit_error"),
        ProviderErrorKind::RateLimited { retry_after: None }
    );
    let spend = br#"{"type":"error","error":{"type":"rate_limit_error","message":"m","details":{"error_code":"enforced_spend_limit_reached"}}}"#;
    let headers = headers(&[("retry-after", "5")]);
    let error = caller.status_error(429, &headers, spend);
    assert_eq!(error.kind(), ProviderErrorKind::QuotaExhausted);
    let limited = br#"{"type":"error","error":{"type":"rate_limit_error","message":"m"}}"#;
    let error = caller.status_error(429, &headers, limited);
    let retry_after = Some(Duration::from_secs(5));
    assert_eq!(error.kind(), ProviderErrorKind::RateLimited { retry_after });
}

#[test]
fn retry_after_of_server_errors_and_validation_errors_of_llama_cpp_python() {
    let caller = Caller::new("test".into(), None);
    let wait = headers(&[("retry-after", "7")]);
    let overloaded =
        br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
    let error = caller.status_error(529, &wait, overloaded);
    assert_eq!(error.kind(), ProviderErrorKind::Server);
    assert_eq!(error.retry_after(), Some(Duration::from_secs(7)));
    let error = caller.status_error(503, &HeaderMap::new(), b"busy");
    assert_eq!(
        (error.kind(), error.retry_after()),
        (ProviderErrorKind::Server, None)
    );
    let error = caller.status_error(400, &wait, b"no");
    assert_eq!(
        error.retry_after(),
        None,
        "only transient errors are waited for"
    );

    // What `llama-cpp-python` 0.3.36 answers to `response_format: {"type": "json_schema"}`.
    let validation = br#"{"error":{"message":"1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), 'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema'}\n\n  File \"app.py\", line 376, in create_chat_completion\n    POST /v1/chat/completions","type":"internal_server_error","param":null,"code":null}}"#;
    let error = caller.status_error(500, &HeaderMap::new(), validation);
    assert_eq!(error.kind(), ProviderErrorKind::BadRequest);
    assert!(!error.is_transient());
    assert_eq!(error.status(), Some(500));
    for other in [
        r#"{"error":{"message":"CUDA out of memory","type":"internal_server_error"}}"#,
        r#"{"error":{"message":"2 validation errors for Response: 'loc': ('response',)"}}"#,
        r#"{"error":{"message":"x validation error: 'loc': ('body', 'a')"}}"#,
    ] {
        let error = caller.status_error(500, &HeaderMap::new(), other.as_bytes());
        assert_eq!(error.kind(), ProviderErrorKind::Server, "{other}");
    }
}
