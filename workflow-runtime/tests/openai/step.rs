//! One retry budget per call: a model call made in a step whose policy retries is tried once
//! per attempt of the step, and the step waits what the server asks for (`Retry-After`, in
//! seconds or as a date), or fails at once if that is longer than its `max_backoff`. The
//! requests a provider sends on its own show as the attempts of the call, in its usage and its
//! event.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::TryStreamExt;
use serde_json::json;
use wiremock::{MockServer, ResponseTemplate};
use workflow_macros::workflow;
use workflow_runtime::event::EventKind;
use workflow_runtime::provider::{OpenAi, ProviderError, ProviderErrorKind};
use workflow_runtime::usage::{Ledger, UsageReport, UsageTotals};
use workflow_runtime::{Agent, Error, Run, Workflow};

use crate::support::*;

/// Asks its agent once, in a step retried three times.
struct Ask {
    agent: Agent,
}

#[workflow(crate = workflow_runtime)]
impl Ask {
    #[step(retry = 3, backoff = "1ms")]
    async fn ask(&self, prompt: String) -> Result<String, Error> {
        self.agent.prompt(&prompt).await
    }

    flow! {
        start -> ask -> end;
    }
}

/// Asks its agent once, in a step that does not retry.
struct Once {
    agent: Agent,
}

#[workflow(crate = workflow_runtime)]
impl Once {
    async fn ask(&self, prompt: String) -> Result<String, Error> {
        self.agent.prompt(&prompt).await
    }

    flow! {
        start -> ask -> end;
    }
}

/// The error of [`Wrapped`]'s step, which keeps the model's error as its source.
#[derive(Debug)]
struct NoAnswer(Error);

impl std::fmt::Display for NoAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("no answer")
    }
}

impl std::error::Error for NoAnswer {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// Asks its agent in a step retried three times, waiting at most half a second, whose error
/// wraps the model's.
struct Wrapped {
    agent: Agent,
}

#[workflow(crate = workflow_runtime)]
impl Wrapped {
    #[step(retry = 3, backoff = "1ms", max_backoff = "500ms")]
    async fn ask(&self, prompt: String) -> Result<String, NoAnswer> {
        self.agent.prompt(&prompt).await.map_err(NoAnswer)
    }

    flow! {
        start -> ask -> end;
    }
}

/// An agent over the default OpenAI provider (two retries of its own) at `server`.
fn agent(server: &MockServer) -> Agent {
    let model: OpenAi = provider(server).build().expect("valid config");
    Agent::builder(Arc::new(model)).build()
}

/// What a run of [`Ask`] over `server` returns.
async fn ask(server: &MockServer) -> Result<String, Error> {
    let workflow = Ask {
        agent: agent(server),
    };
    let run = workflow.run("hi".into());
    tokio::time::timeout(HANG, run).await.expect("no hang")
}

/// A 429 asking to wait `retry_after`.
fn limited(retry_after: &str) -> ResponseTemplate {
    ResponseTemplate::new(429).insert_header("retry-after", retry_after)
}

fn answer() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(completion(text_message("ok"), "stop"))
}

#[tokio::test]
async fn a_call_in_a_retried_step_is_sent_once_per_attempt() {
    let server = MockServer::start().await;
    let (respond, arrivals) = timed(|_| ResponseTemplate::new(500));
    completions().respond_with(respond).mount(&server).await;

    let error = ask(&server).await.expect_err("every attempt fails");
    assert_eq!(provider_error(&error).kind(), ProviderErrorKind::Server);
    // Four attempts of the step, one request each; not the provider's three in each.
    assert_eq!(arrivals.count(), 4);
}

#[tokio::test]
async fn a_retried_step_waits_for_retry_after_in_seconds() {
    let server = MockServer::start().await;
    let (respond, arrivals) = timed(|n| if n < 3 { limited("1") } else { answer() });
    completions().respond_with(respond).mount(&server).await;

    let output = ask(&server).await;
    assert_eq!(output.expect("the fourth attempt succeeds"), "ok");
    let gaps = arrivals.gaps();
    assert_eq!(gaps.len(), 3, "one request per attempt");
    for gap in gaps {
        // Not the step's 1 ms backoff: the second the server asked for.
        assert!(gap >= Duration::from_millis(990), "{gap:?}");
    }
}

#[tokio::test]
async fn a_retried_step_waits_for_retry_after_as_an_http_date() {
    let server = MockServer::start().await;
    // Two seconds ahead when the request arrives: a date has whole seconds, so the wait is at
    // least one second.
    let (respond, arrivals) = timed(|n| match n {
        0 => limited(&httpdate::fmt_http_date(
            SystemTime::now() + Duration::from_secs(2),
        )),
        _ => answer(),
    });
    completions().respond_with(respond).mount(&server).await;

    let output = ask(&server).await;
    assert_eq!(output.expect("the second attempt succeeds"), "ok");
    let gaps = arrivals.gaps();
    assert_eq!(gaps.len(), 1);
    assert!(gaps[0] >= Duration::from_millis(990), "{gaps:?}");
}

#[tokio::test]
async fn a_retry_after_longer_than_max_backoff_fails_the_step_at_once() {
    let server = MockServer::start().await;
    let (respond, arrivals) = timed(|_| limited("100"));
    completions().respond_with(respond).mount(&server).await;

    let error = ask(&server).await.expect_err("not waited for");
    let retry_after = Some(Duration::from_secs(100));
    let kind = ProviderErrorKind::RateLimited { retry_after };
    assert_eq!(provider_error(&error).kind(), kind);
    assert_eq!(arrivals.count(), 1, "the step did not retry");
}

#[tokio::test]
async fn a_retry_after_is_found_in_the_step_s_own_error() {
    let server = MockServer::start().await;
    // Longer than the step's `max_backoff`, shorter than the provider's.
    let (respond, arrivals) = timed(|_| limited("1"));
    completions().respond_with(respond).mount(&server).await;

    let workflow = Wrapped {
        agent: agent(&server),
    };
    let run = workflow.run("hi".into());
    let error = tokio::time::timeout(HANG, run).await.expect("no hang");
    let error = error.expect_err("not waited for");
    assert!(
        matches!(error, Error::Step { attempts: 1, .. }),
        "{error:?}"
    );
    assert!(error.step_error::<NoAnswer>().is_some());
    let waits = error.provider().and_then(ProviderError::retry_after);
    assert_eq!(waits, Some(Duration::from_secs(1)));
    assert_eq!(
        arrivals.count(),
        1,
        "neither the step nor the provider retried"
    );
}

/// How a run of `workflow` ended, what it spent, and what its events tell.
async fn watch<W: Workflow<Input = String>>(
    workflow: &W,
) -> (Result<W::Output, Error>, UsageReport, Vec<EventKind>) {
    let mut run = Run::new(workflow, "hi".into());
    let mut events = run.events();
    let report = tokio::time::timeout(HANG, run.report())
        .await
        .expect("no hang");
    let mut kinds = Vec::new();
    while let Some(event) = events.recv().await {
        kinds.push(event.kind);
    }
    let usage = report.usage.clone();
    (report.into_output(), usage, kinds)
}

/// The attempts of each call `events` tell of, and whether it succeeded.
fn calls(events: &[EventKind]) -> Vec<(u32, bool)> {
    let calls = events.iter().filter_map(|event| match event {
        EventKind::CallFinished { attempts, ok, .. } => Some((*attempts, *ok)),
        _ => None,
    });
    calls.collect()
}

/// Calls, failed calls and attempts.
fn counts(totals: &UsageTotals) -> (u64, u64, u64) {
    (totals.calls, totals.failed_calls, totals.attempts)
}

/// A server that fails twice with 500, then answers.
async fn flaky() -> MockServer {
    let server = MockServer::start().await;
    let (respond, _) = timed(|n| match n {
        0 | 1 => ResponseTemplate::new(500),
        _ => answer(),
    });
    completions().respond_with(respond).mount(&server).await;
    server
}

#[tokio::test]
async fn a_provider_s_own_retries_are_attempts_of_one_call() {
    let server = flaky().await;
    let workflow = Once {
        agent: agent(&server),
    };
    let (output, usage, events) = watch(&workflow).await;
    assert_eq!(output.expect("the provider retried"), "ok");
    assert_eq!(counts(&usage.total), (1, 0, 3));
    assert_eq!(calls(&events), [(3, true)]);
    let finished = events.iter().find_map(|event| match event {
        EventKind::StepFinished { usage, .. } => *usage,
        _ => None,
    });
    assert_eq!(finished.map(|usage| usage.attempts), Some(3));
}

#[tokio::test]
async fn in_a_retried_step_each_attempt_is_a_call_of_one_request() {
    let server = flaky().await;
    let workflow = Ask {
        agent: agent(&server),
    };
    let (output, usage, events) = watch(&workflow).await;
    assert_eq!(output.expect("the step retried"), "ok");
    assert_eq!(counts(&usage.total), (3, 2, 3));
    let step = usage.step("ask").expect("the step made calls");
    assert_eq!(counts(step), (3, 2, 3));
    assert_eq!(calls(&events), [(1, false), (1, false), (1, true)]);
    let retries = events.iter().filter(|event| event.name() == "retrying");
    assert_eq!(retries.count(), 2);
}

#[tokio::test]
async fn the_attempts_of_a_streamed_call_are_counted_outside_a_run_too() {
    let server = MockServer::start().await;
    let body = sse(&[text("ok"), chunk(json!({}), Some("stop")), usage_chunk()]);
    let (respond, _) = timed(move |n| match n {
        0 => ResponseTemplate::new(503),
        _ => ResponseTemplate::new(200).set_body_raw(body.clone(), "text/event-stream"),
    });
    completions().respond_with(respond).mount(&server).await;
    let agent = agent(&server);
    let ledger = Ledger::new("stream");
    let call = async { agent.stream("hi").await?.try_collect::<Vec<_>>().await };
    let deltas = ledger.scope(call).await.expect("the provider retried");
    assert_eq!(deltas.concat(), "ok");
    assert_eq!(counts(&ledger.report().total), (1, 0, 2));
}
