//! The scripted model: replies in order or by prompt, tool calls, usage, streaming, scripted
//! errors, running out of script; and its errors under a step's retry policy.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;
use workflow_runtime::provider::{
    ChatModel, ChatRequest, ChatResponse, FinishReason, Message, ProviderError, ProviderErrorKind,
    Scripted, StreamEvent, ToolCall, Usage,
};
use workflow_runtime::{BoxError, Context, Error, StepPolicy};

fn ask(prompt: &str) -> ChatRequest {
    ChatRequest::new().system("be brief").user(prompt)
}

fn kind(error: &Error) -> ProviderErrorKind {
    match error.provider() {
        Some(provider) => provider.kind(),
        None => panic!("expected a provider error, got {error:?}"),
    }
}

#[tokio::test]
async fn replies_in_order_then_a_clear_error() {
    let model = Scripted::new().reply("one").replies(["two", "three"]);
    for expected in ["one", "two", "three"] {
        let response = model.chat(ask("next")).await.expect("scripted");
        assert_eq!(
            (response.text.as_str(), response.model.as_str()),
            (expected, "scripted")
        );
    }
    assert_eq!(model.remaining(), 0);
    let error = model
        .chat(ask("one more"))
        .await
        .expect_err("out of script");
    assert_eq!(kind(&error), ProviderErrorKind::ScriptExhausted);
    assert!(!error.is_transient());
    assert_eq!(
        error.to_string(),
        "scripted: script exhausted: no reply left for request 4 (last user message: \
         `one more`); add one with `Scripted::reply` or `Scripted::when`"
    );
}

#[tokio::test]
async fn rules_match_the_last_user_message_every_time_and_come_first() {
    let model = Scripted::new()
        .when("capital", "Paris")
        .when(
            "weather",
            ChatResponse::new("").with_tool_call(ToolCall::new(
                "call_1",
                "weather",
                json!({"city": "Paris"}),
            )),
        )
        .reply("in order");
    assert_eq!(
        model.chat(ask("the capital?")).await.expect("rule").text,
        "Paris"
    );
    assert_eq!(
        model.chat(ask("capital again?")).await.expect("rule").text,
        "Paris"
    );
    let call = model.chat(ask("weather?")).await.expect("rule");
    assert_eq!(call.tool_calls[0].arguments, json!({"city": "Paris"}));
    // Only the last user message is matched, not earlier ones.
    let follow_up = ask("the capital?")
        .message(Message::assistant("Paris"))
        .user("thanks");
    assert_eq!(model.chat(follow_up).await.expect("queue").text, "in order");
    assert!(model.chat(ask("thanks")).await.is_err());
}

#[tokio::test]
async fn responses_keep_their_usage_model_and_finish_reason() {
    let response = ChatResponse::new("done")
        .with_usage(Usage::new(10, 2).with_cached(4))
        .with_finish_reason(FinishReason::Length)
        .with_model("tiny");
    let model = Scripted::new().reply(response.clone()).reply("plain");
    assert_eq!(model.chat(ask("a")).await.expect("scripted"), response);
    let plain = model
        .chat(ask("b").model("requested"))
        .await
        .expect("scripted");
    assert_eq!((plain.model.as_str(), plain.usage), ("requested", None));
}

#[tokio::test]
async fn scripted_errors_keep_their_kind() {
    let retry_after = Some(Duration::from_secs(2));
    let model = Scripted::new()
        .reply(
            ProviderError::new(
                "fake",
                ProviderErrorKind::RateLimited { retry_after },
                "slow down",
            )
            .with_status(429),
        )
        .reply(ProviderError::new(
            "fake",
            ProviderErrorKind::Unauthorized,
            "no key",
        ));
    let error = model.chat(ask("a")).await.expect_err("scripted error");
    assert_eq!(kind(&error), ProviderErrorKind::RateLimited { retry_after });
    assert!(error.is_transient());
    assert_eq!(
        error.to_string(),
        "fake: rate limited (http 429): slow down"
    );
    let error = model.chat(ask("b")).await.expect_err("scripted error");
    assert!(!error.is_transient());
}

#[tokio::test]
async fn streams_word_by_word_then_tool_calls_usage_and_done() {
    let call = ToolCall::new("call_1", "search", json!({"q": "rust"}));
    let response = ChatResponse::new("Let me  look\nthat up.")
        .with_tool_call(call.clone())
        .with_usage(Usage::new(5, 6));
    let model: Arc<dyn ChatModel> = Arc::new(Scripted::new().reply(response));
    let stream = model.stream(ask("search")).await.expect("scripted");
    let events: Vec<_> = stream.map(|event| event.expect("no error")).collect().await;
    let deltas: Vec<_> = events
        .iter()
        .filter_map(|event| match event {
            StreamEvent::TextDelta(delta) => Some(delta.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(deltas, ["Let ", "me ", " ", "look\n", "that ", "up."]);
    let tail = &events[deltas.len()..];
    assert_eq!(tail[0], StreamEvent::ToolCall(call));
    assert_eq!(tail[1], StreamEvent::Usage(Usage::new(5, 6)));
    assert!(matches!(&tail[2], StreamEvent::Done(done) if done.text == "Let me  look\nthat up."));
    assert_eq!(tail.len(), 3);
}

#[tokio::test]
async fn a_stream_with_no_reply_fails_before_it_starts() {
    let model = Scripted::new();
    let Err(error) = model.stream(ask("a")).await else {
        panic!("an empty script cannot stream");
    };
    assert_eq!(kind(&error), ProviderErrorKind::ScriptExhausted);
}

#[tokio::test]
async fn requests_are_recorded() {
    let model = Scripted::new().replies(["a", "b"]);
    let _ = model.chat(ask("first")).await;
    let _ = model.chat(ask("second").temperature(0.0)).await;
    let requests = model.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].last_user_message(), Some("second"));
    assert_eq!(requests[1].temperature, Some(0.0));
}

/// One attempt of a step that calls `model`.
async fn step(model: &Scripted) -> Result<String, BoxError> {
    let response = model.chat(ask("draft")).await?;
    Ok(response.text)
}

#[tokio::test]
async fn a_step_retries_transient_provider_errors_only() {
    let policy = StepPolicy::new().retry(3).backoff(Duration::from_millis(1));
    let cx = Context::new("article");
    let server_error = ProviderError::new("fake", ProviderErrorKind::Server, "overloaded");

    let flaky = Scripted::new().reply(server_error.clone()).reply("draft");
    let text = cx.step_with_retry("draft", &policy, || step(&flaky)).await;
    assert_eq!(text.expect("retried"), "draft");
    assert_eq!(flaky.requests().len(), 2);

    let unauthorized = ProviderError::new("fake", ProviderErrorKind::Unauthorized, "no key");
    let fatal = Scripted::new().reply(unauthorized).reply("never");
    let error = cx.step_with_retry("draft", &policy, || step(&fatal)).await;
    assert_eq!(
        kind(&error.expect_err("fatal")),
        ProviderErrorKind::Unauthorized
    );
    assert_eq!(fatal.remaining(), 1, "not retried");

    // A provider error wrapped as a step's own error is classified the same way.
    let wrapped = Error::Step {
        workflow: "article",
        step: "draft",
        attempts: 1,
        source: Box::new(server_error),
    };
    assert!(wrapped.is_transient());
}

#[test]
fn usages_add_up() {
    let mut total = Usage::default();
    total += Usage::new(100, 20).with_cached(30);
    total += Usage::new(50, 10).with_reasoning(7);
    assert_eq!(total, Usage::new(150, 30).with_cached(30).with_reasoning(7));
    assert_eq!(
        total + Usage::new(1, 1),
        Usage::new(151, 31).with_cached(30).with_reasoning(7)
    );
    assert_eq!(
        Usage::new(u64::MAX, 1) + Usage::new(1, 1),
        Usage::new(u64::MAX, 2)
    );
}
