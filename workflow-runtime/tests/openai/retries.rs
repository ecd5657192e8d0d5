//! Retries: transient failures (429 after `Retry-After`, 5xx, timeouts, refused connections)
//! are retried with backoff; client errors are not.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use serde_json::json;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;
use wiremock::{MockServer, ResponseTemplate};
use workflow_runtime::provider::{ChatModel, ChatRequest, ProviderErrorKind};

use crate::support::*;

#[tokio::test]
async fn rate_limit_waits_for_retry_after_then_succeeds() {
    for retry_after in [("retry-after", "0"), ("retry-after-ms", "20")] {
        let server = MockServer::start().await;
        let limited = json!({"error": {"message": "Rate limit reached", "type": "requests",
                                       "param": null, "code": "rate_limit_exceeded"}});
        completions()
            .respond_with(
                ResponseTemplate::new(429)
                    .insert_header(retry_after.0, retry_after.1)
                    .set_body_json(limited),
            )
            .up_to_n_times(1)
            .mount(&server)
            .await;
        let answer = completion(text_message("ok"), "stop");
        completions()
            .respond_with(ResponseTemplate::new(200).set_body_json(answer))
            .mount(&server)
            .await;
        // The backoff alone would wait ten minutes: only honouring `Retry-After` finishes.
        let ten_minutes = Duration::from_secs(600);
        let model = provider(&server)
            .backoff(ten_minutes)
            .max_backoff(ten_minutes);
        let model = model.build().expect("valid config");

        let call = model.chat(ChatRequest::new().user("hi"));
        let response = tokio::time::timeout(HANG, call).await.expect("no hang");
        assert_eq!(response.expect("retried").text, "ok", "{retry_after:?}");
        assert_eq!(requests(&server).await, 2);
    }
}

#[tokio::test]
async fn rate_limit_waits_for_retry_after_as_an_http_date() {
    let server = MockServer::start().await;
    // Two seconds ahead when the request arrives: a date has whole seconds, so the wait is
    // at least one second.
    let (respond, arrivals) = timed(|n| match n {
        0 => {
            let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
            ResponseTemplate::new(429).insert_header("retry-after", date.as_str())
        }
        _ => ResponseTemplate::new(200).set_body_json(completion(text_message("ok"), "stop")),
    });
    completions().respond_with(respond).mount(&server).await;
    // The backoff alone would wait ten minutes: only reading the date finishes.
    let ten_minutes = Duration::from_secs(600);
    let model = provider(&server)
        .backoff(ten_minutes)
        .max_backoff(ten_minutes);
    let model = model.build().expect("valid config");

    let call = model.chat(ChatRequest::new().user("hi"));
    let response = tokio::time::timeout(HANG, call).await.expect("no hang");
    assert_eq!(response.expect("retried").text, "ok");
    let gaps = arrivals.gaps();
    assert_eq!(gaps.len(), 1);
    assert!(gaps[0] >= Duration::from_millis(990), "{gaps:?}");
}

#[tokio::test]
async fn rate_limit_longer_than_max_backoff_is_returned_not_waited() {
    let server = MockServer::start().await;
    completions()
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "120"))
        .mount(&server)
        .await;
    let model = provider(&server).build().expect("valid config");

    let error = model
        .chat(ChatRequest::new().user("hi"))
        .await
        .expect_err("limited");
    assert_secret_free(&error);
    let provider_error = provider_error(&error);
    let retry_after = Some(Duration::from_secs(120));
    assert_eq!(
        provider_error.kind(),
        ProviderErrorKind::RateLimited { retry_after }
    );
    assert_eq!(provider_error.status(), Some(429));
    assert!(error.is_transient(), "a later step retry may succeed");
    assert_eq!(requests(&server).await, 1);
}

/// A server that fails twice with `failure`, then answers `text`.
async fn fails_twice_then_answers(failure: ResponseTemplate, text: &str) -> MockServer {
    let server = MockServer::start().await;
    completions()
        .respond_with(failure)
        .up_to_n_times(2)
        .mount(&server)
        .await;
    let answer = completion(text_message(text), "stop");
    completions()
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn server_errors_are_retried() {
    let failure = ResponseTemplate::new(500).set_body_string("internal error");
    let server = fails_twice_then_answers(failure, "recovered").await;
    let model = provider(&server).build().expect("valid config");

    let response = model
        .chat(ChatRequest::new().user("hi"))
        .await
        .expect("retried");
    assert_eq!(response.text, "recovered");
    assert_eq!(requests(&server).await, 3);
}

#[tokio::test]
async fn server_errors_fail_after_the_last_retry() {
    let server = MockServer::start().await;
    let overloaded =
        json!({"error": {"message": "The server is overloaded", "type": "server_error"}});
    completions()
        .respond_with(ResponseTemplate::new(503).set_body_json(overloaded))
        .mount(&server)
        .await;
    let model = provider(&server).retries(1).build().expect("valid config");

    let error = model
        .chat(ChatRequest::new().user("hi"))
        .await
        .expect_err("fails");
    assert_secret_free(&error);
    assert_eq!(
        error.to_string(),
        "openai: server error (http 503): The server is overloaded"
    );
    assert!(error.is_transient());
    assert_eq!(requests(&server).await, 2);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let quota = json!({"error": {"message": "You exceeded your current quota",
                                 "type": "insufficient_quota", "code": "insufficient_quota"}});
    let cases = [
        (
            400,
            json!({"error": {"message": "bad", "type": "invalid_request_error"}}),
            ProviderErrorKind::BadRequest,
        ),
        (
            401,
            json!({"error": {"message": format!("Incorrect API key provided: {CANARY}"),
                               "type": "invalid_request_error", "code": "invalid_api_key"}}),
            ProviderErrorKind::Unauthorized,
        ),
        (
            403,
            json!({"error": "forbidden"}),
            ProviderErrorKind::Forbidden,
        ),
        (
            404,
            json!({"error": {"message": "The model `x` does not exist"}}),
            ProviderErrorKind::NotFound,
        ),
        (429, quota, ProviderErrorKind::QuotaExhausted),
        (
            402,
            json!({"error": {"message": "Insufficient credits", "code": 402}}),
            ProviderErrorKind::QuotaExhausted,
        ),
    ];
    for (status, body, kind) in cases {
        let server = MockServer::start().await;
        completions()
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .mount(&server)
            .await;
        let model = provider(&server).build().expect("valid config");

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
    let server = MockServer::start().await;
    let answer = completion(text_message("late"), "stop");
    completions()
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(answer)
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&server)
        .await;
    let model = provider(&server)
        .timeout(Duration::from_millis(100))
        .retries(0);
    let model = model.build().expect("valid config");

    let error = model
        .chat(ChatRequest::new().user("hi"))
        .await
        .expect_err("too slow");
    assert_secret_free(&error);
    assert_eq!(provider_error(&error).kind(), ProviderErrorKind::Timeout);
    assert!(error.is_transient());
}

#[tokio::test]
async fn a_refused_connection_is_a_transient_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let address = listener.local_addr().expect("an address");
    drop(listener);
    let model = provider_at(&format!("http://{address}/v1")).retries(1);
    let model = model.build().expect("valid config");

    let error = model
        .chat(ChatRequest::new().user("hi"))
        .await
        .expect_err("refused");
    assert_secret_free(&error);
    assert_eq!(provider_error(&error).kind(), ProviderErrorKind::Connection);
    assert!(error.is_transient());
}

/// The fields of each `tracing` event.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<Fields>>>);

/// The fields of one `tracing` event, as text.
#[derive(Debug, Clone)]
struct Fields(Vec<(String, String)>);

impl Fields {
    fn get(&self, name: &str) -> Option<&str> {
        let field = self.0.iter().find(|(key, _)| key == name);
        field.map(|(_, value)| value.as_str())
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }
}

impl<S: tracing::Subscriber> Layer<S> for Logs {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut fields = Fields(Vec::new());
        event.record(&mut fields);
        let mut logs = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        logs.push(fields);
    }
}

/// Makes `logs` this thread's subscriber. tracing caches, per callsite and for the whole
/// process, whether anyone listens, from the thread that first reaches it: another test of
/// this binary reaching the retry's event first with no subscriber would cache "nobody",
/// and this test would see no retry. A global subscriber that listens to everything (and
/// keeps nothing) means no thread ever has nobody; rebuilding the cache undoes what was
/// cached before it was set.
fn capture(logs: &Logs) -> tracing::subscriber::DefaultGuard {
    static GLOBAL: std::sync::Once = std::sync::Once::new();
    GLOBAL.call_once(|| {
        let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry());
    });
    let guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(logs.clone()));
    tracing::callsite::rebuild_interest_cache();
    guard
}

#[tokio::test]
async fn each_retry_is_a_tracing_event() {
    let failure = ResponseTemplate::new(503).set_body_string("busy");
    let server = fails_twice_then_answers(failure, "ok").await;
    let model = provider(&server).build().expect("valid config");
    let logs = Logs::default();
    let _default = capture(&logs);

    let response = model.chat(ChatRequest::new().user("hi")).await;
    assert_eq!(response.expect("retried").text, "ok");
    let logs = logs
        .0
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let retries: Vec<&Fields> = logs
        .iter()
        .filter(|fields| fields.get("message") == Some("retrying the model call"))
        .collect();
    assert_eq!(retries.len(), 2, "{logs:?}");
    for fields in retries {
        assert_eq!(fields.get("provider"), Some("openai"));
        let error = fields.get("error");
        assert_eq!(error, Some("openai: server error (http 503): busy"));
        assert!(fields.get("delay_ms").is_some());
    }
}
