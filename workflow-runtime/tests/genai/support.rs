//! What the `genai` tests share: providers pointed at a mock server, with the
//! provider-independent helpers of `common`.

use std::time::Duration;

use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};
use workflow_runtime::provider::{Genai, GenaiBuilder};

pub(crate) use crate::common::*;

/// Which API a test speaks.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Api {
    /// OpenAI's chat completions (`openai::gpt-4o-mini`).
    OpenAi,
    /// Gemini's `generateContent` (`gemini-2.0-flash`).
    Gemini,
}

impl Api {
    /// Both APIs.
    pub(crate) const ALL: [Api; 2] = [Api::OpenAi, Api::Gemini];

    /// A provider for `server`, with the canary key and near-instant backoff.
    pub(crate) fn provider(self, server: &MockServer) -> GenaiBuilder {
        let (model, base) = match self {
            Api::OpenAi => ("openai::gpt-4o-mini", "/v1"),
            Api::Gemini => ("gemini-2.0-flash", "/v1beta"),
        };
        Genai::builder(model)
            .base_url(format!("{}{base}", server.uri()))
            .api_key(CANARY)
            .backoff(Duration::from_millis(1))
            .timeout(HANG)
    }

    /// A mock of the endpoint of a call, streamed or not.
    pub(crate) fn endpoint(self, stream: bool) -> MockBuilder {
        let endpoint = match (self, stream) {
            (Api::OpenAi, _) => "/v1/chat/completions",
            (Api::Gemini, false) => "/v1beta/models/gemini-2.0-flash:generateContent",
            (Api::Gemini, true) => "/v1beta/models/gemini-2.0-flash:streamGenerateContent",
        };
        Mock::given(method("POST")).and(path(endpoint))
    }

    /// A mock server answering every call (streamed if `stream`) with `response`, and a
    /// provider for it that does not retry.
    pub(crate) async fn serve(
        self,
        stream: bool,
        response: ResponseTemplate,
    ) -> (MockServer, Genai) {
        let server = MockServer::start().await;
        self.endpoint(stream)
            .respond_with(response)
            .mount(&server)
            .await;
        let model = self
            .provider(&server)
            .retries(0)
            .build()
            .expect("valid config");
        (server, model)
    }
}

/// The bodies of the requests `server` received, in order.
pub(crate) async fn sent_bodies(server: &MockServer) -> Vec<Value> {
    let requests = server.received_requests().await.expect("recorded");
    let body = |request: &wiremock::Request| serde_json::from_slice(&request.body).expect("JSON");
    requests.iter().map(body).collect()
}

/// The value of header `name` of the first request `server` received.
pub(crate) async fn sent_header(server: &MockServer, name: &str) -> String {
    let requests = server.received_requests().await.expect("recorded");
    let value = requests[0].headers.get(name).expect("the header is sent");
    value.to_str().expect("text").to_owned()
}

/// `events` as an SSE body of `data:` lines.
pub(crate) fn sse(events: &[Value]) -> String {
    events
        .iter()
        .map(|event| format!("data: {event}\n\n"))
        .collect()
}

/// A 200 response with SSE `body`.
pub(crate) fn sse_response(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body, "text/event-stream")
}
