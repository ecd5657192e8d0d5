//! The tokens of a failed call count: the usage the API reported before the call failed
//! (`message_start`'s prompt tokens, `message_delta`'s output tokens) is in the ledger.

use serde_json::json;
use wiremock::ResponseTemplate;
use workflow_runtime::provider::{ProviderErrorKind, Usage};

use crate::support::*;

/// `message_start`'s usage: 25 input tokens, 10 read from the cache, 1 output token.
const STARTED: Usage = Usage::new(35, 1).with_cached(10);

#[tokio::test]
async fn a_stream_cut_after_message_start_counts_its_prompt() {
    let body = sse(&[message_start(), text_start(0), text_delta(0, "Hel")]);
    let model = provider_at(&cut_after(body).await)
        .build()
        .expect("valid config");
    let (totals, error) = spent(model, true).await;
    assert_eq!(provider_error(&error).kind(), ProviderErrorKind::Connection);
    assert_eq!(provider_error(&error).usage(), Some(STARTED));
    assert_eq!(
        (totals.calls, totals.failed_calls, totals.usage),
        (1, 1, STARTED)
    );
}

#[tokio::test]
async fn a_stream_cut_after_message_delta_counts_its_output() {
    let events = [
        message_start(),
        text_start(0),
        text_delta(0, "Hel"),
        block_stop(0),
        message_delta("end_turn", 15),
    ];
    let model = provider_at(&cut_after(sse(&events)).await);
    let (totals, error) = spent(model.build().expect("valid config"), true).await;
    assert!(error.is_transient(), "{error:?}");
    assert_eq!(
        (totals.failed_calls, totals.usage),
        (1, Usage::new(35, 15).with_cached(10))
    );
}

#[tokio::test]
async fn a_stream_that_fails_after_message_start_counts_its_prompt() {
    let error = error_body("overloaded_error", "Overloaded");
    let body = format!("{}event: error\ndata: {error}\n\n", sse(&[message_start()]));
    let response = ResponseTemplate::new(200).set_body_raw(body, "text/event-stream");
    let (_server, model) = serve(response).await;
    let (totals, error) = spent(model, true).await;
    assert_eq!(provider_error(&error).kind(), ProviderErrorKind::Server);
    assert_eq!((totals.failed_calls, totals.usage), (1, STARTED));
}

#[tokio::test]
async fn a_200_with_usage_and_no_content_counts_it() {
    let body = json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 40, "output_tokens": 7}
    });
    let (_server, model) = serve(ResponseTemplate::new(200).set_body_json(body)).await;
    let (totals, error) = spent(model, false).await;
    assert_eq!(
        provider_error(&error).kind(),
        ProviderErrorKind::MalformedResponse
    );
    assert_eq!((totals.failed_calls, totals.usage), (1, Usage::new(40, 7)));
}
