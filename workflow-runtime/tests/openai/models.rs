//! `GET /models`: the models a server serves, and a cheap check that it is up.

use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use workflow_runtime::provider::ProviderErrorKind;

use crate::support::*;

fn models_mock() -> wiremock::MockBuilder {
    Mock::given(method("GET")).and(path("/v1/models"))
}

#[tokio::test]
async fn lists_the_served_models_with_the_key() {
    let server = MockServer::start().await;
    // As OpenAI documents it; llama-cpp-python answers the same shape.
    let list = json!({"object": "list", "data": [
        {"id": "gpt-4o-mini", "object": "model", "created": 1686935002, "owned_by": "openai"},
        {"id": "o4-mini", "object": "model", "created": 1686935002, "owned_by": "openai"}
    ]});
    models_mock()
        .and(header("authorization", format!("Bearer {CANARY}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(list))
        .expect(1)
        .mount(&server)
        .await;
    let model = provider(&server).build().expect("valid config");

    let models = model.models().await.expect("a list");
    assert_eq!(models, ["gpt-4o-mini", "o4-mini"]);
}

#[tokio::test]
async fn a_body_that_is_not_a_list_is_malformed() {
    for body in [
        json!({"object": "list"}),
        json!({"data": [{"object": "model"}]}),
        json!({"data": "gpt-4o-mini"}),
    ] {
        let server = MockServer::start().await;
        models_mock()
            .respond_with(ResponseTemplate::new(200).set_body_json(&body))
            .mount(&server)
            .await;
        let model = provider(&server).build().expect("valid config");

        let error = model.models().await.expect_err("malformed");
        let kind = provider_error(&error).kind();
        assert_eq!(kind, ProviderErrorKind::MalformedResponse, "{body}");
    }
}

#[tokio::test]
async fn failures_are_typed_and_transient_ones_retried() {
    let server = MockServer::start().await;
    models_mock()
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    models_mock()
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "bad key"})))
        .mount(&server)
        .await;
    let model = provider(&server).build().expect("valid config");

    let error = model.models().await.expect_err("unauthorized");
    assert_secret_free(&error);
    assert_eq!(
        provider_error(&error).kind(),
        ProviderErrorKind::Unauthorized
    );
    assert_eq!(requests(&server).await, 2, "the 503 was retried");

    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let address = listener.local_addr().expect("an address");
    drop(listener);
    let model = provider_at(&format!("http://{address}/v1")).retries(0);
    let error = model
        .build()
        .expect("valid")
        .models()
        .await
        .expect_err("down");
    assert_eq!(provider_error(&error).kind(), ProviderErrorKind::Connection);
}
