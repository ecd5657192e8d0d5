//! The tokens of a failed call count: the usage the server reported before the call failed is
//! in the ledger, and in the budget, so a broken stream cannot spend past it.

use std::sync::Arc;

use serde_json::json;
use wiremock::{MockServer, ResponseTemplate};
use workflow_runtime::provider::{ProviderErrorKind, Usage};
use workflow_runtime::usage::{Budget, Ledger};
use workflow_runtime::{Agent, Error};

use crate::common::raw;
use crate::support::*;

/// What `usage_chunk` reports.
const SPENT: Usage = Usage::new(12, 5);

#[tokio::test]
async fn a_stream_cut_after_its_usage_counts_it() {
    let finish = chunk(json!({}), Some("stop"));
    let bodies = [
        // Cut mid-body, after the finish and the usage but before `[DONE]`.
        format!(
            "data: {}\n\ndata: {finish}\n\ndata: {}\n\n",
            text("Hel"),
            usage_chunk()
        ),
        // Cut before the finish.
        format!("data: {}\n\ndata: {}\n\n", text("Hel"), usage_chunk()),
    ];
    for body in bodies {
        let model = provider_at(&cut_after(body).await)
            .build()
            .expect("valid config");
        let (totals, error) = spent(model, true).await;
        assert!(error.is_transient(), "{error:?}");
        assert_eq!(provider_error(&error).usage(), Some(SPENT));
        assert_eq!(
            (totals.calls, totals.failed_calls, totals.usage),
            (1, 1, SPENT)
        );
    }
}

#[tokio::test]
async fn a_stream_that_ends_early_after_its_usage_counts_it() {
    let body = format!("data: {}\n\ndata: {}\n\n", text("Hel"), usage_chunk());
    let parts = vec![raw::SSE_HEAD.to_vec(), body.into_bytes()];
    let model = provider_at(&raw::serve(parts, HANG / 30).await);
    let (totals, error) = spent(model.build().expect("valid config"), true).await;
    assert_eq!(provider_error(&error).kind(), ProviderErrorKind::Stream);
    assert_eq!((totals.failed_calls, totals.usage), (1, SPENT));
}

#[tokio::test]
async fn a_200_with_usage_and_no_answer_counts_it() {
    let server = MockServer::start().await;
    let mut body = usage_chunk();
    body["object"] = json!("chat.completion");
    body.as_object_mut().expect("an object").remove("choices");
    completions()
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;
    let model = provider(&server).build().expect("valid config");
    let (totals, error) = spent(model, false).await;
    let error = provider_error(&error);
    assert_eq!(error.kind(), ProviderErrorKind::MalformedResponse);
    assert_eq!(error.usage(), Some(SPENT));
    assert_eq!((totals.failed_calls, totals.usage), (1, SPENT));
}

#[tokio::test]
async fn a_budget_counts_the_tokens_of_a_broken_stream() {
    let body = format!("data: {}\n\ndata: {}\n\n", text("Hel"), usage_chunk());
    let model = provider_at(&cut_after(body).await)
        .build()
        .expect("valid config");
    let agent = Agent::builder(Arc::new(model)).build();
    let ledger = Ledger::new("budget").budget(Budget::new().max_tokens(SPENT.total_tokens()));
    let calls = async {
        let mut stream = agent.stream("hi").await?;
        while futures_util::StreamExt::next(&mut stream).await.is_some() {}
        agent.prompt("again").await
    };
    let error = ledger.scope(calls).await.expect_err("over the budget");
    assert!(matches!(error, Error::BudgetExceeded { .. }), "{error:?}");
    assert_eq!(ledger.report().total.usage, SPENT);
}
