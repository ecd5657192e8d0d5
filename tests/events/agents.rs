//! Agents inside a run: each call is a `CallFinished` tagged with its step (and branch), with
//! its tokens and cost; streamed text is a `TextDelta` per piece; steps, branches and the run
//! add up what their calls spent.

use std::sync::Arc;

use futures_util::TryStreamExt;
use workflow::event::EventKind;
use workflow::prelude::*;
use workflow::provider::{Scripted, Usage};
use workflow::usage::{Price, Pricing, UsageTotals};

use super::{assert_one_run, shown, watch};

struct Writer {
    agent: Agent,
}

#[workflow]
impl Writer {
    async fn outline(&self, topic: String) -> Result<String> {
        self.agent.prompt(&format!("Outline {topic}")).await
    }

    async fn write(&self, outline: String) -> Result<String> {
        let pieces: Vec<String> = self.agent.stream(&outline).await?.try_collect().await?;
        Ok(pieces.concat())
    }

    flow! {
        start -> outline -> write -> end;
    }
}

fn answer(text: &str, input: u64, output: u64) -> ChatResponse {
    ChatResponse::new(text)
        .with_usage(Usage::new(input, output))
        .with_model("m-1")
}

fn executor() -> Executor {
    // $1 per million input tokens, $2 per million output tokens.
    Executor::new().pricing(Pricing::new().model("m-1", Price::new(1.0, 2.0)))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[tokio::test]
async fn calls_and_streamed_text_are_tagged_with_their_step() {
    let model = Scripted::new()
        .reply(answer("a plan", 100, 10))
        .reply(answer("two words", 50, 20));
    let writer = Writer {
        agent: Agent::builder(Arc::new(model)).build(),
    };
    let (result, events) = watch(&executor(), &writer, "Rust".into()).await;
    assert_eq!(result.expect("the run succeeds"), "two words");
    assert_eq!(
        shown(&events),
        [
            "run_started",
            "start outline#1",
            "call outline",
            "finish outline",
            "start write#1",
            "text write: two ",
            "text write: words",
            "call write",
            "finish write",
            "completed",
        ]
    );
    assert_one_run(&events, "Writer");

    let EventKind::CallFinished {
        model,
        usage,
        cost_usd,
        ok,
        ..
    } = &events[2].kind
    else {
        panic!("the call of outline");
    };
    assert_eq!(
        (model.as_str(), *usage, *ok),
        ("m-1", Some(Usage::new(100, 10)), true)
    );
    assert!(close(*cost_usd, 120e-6), "{cost_usd}");

    let step_usage = |index: usize| match &events[index].kind {
        EventKind::StepFinished { usage, .. } => usage.expect("the run has a ledger"),
        other => panic!("not a finished step: {other:?}"),
    };
    let (outline, write) = (step_usage(3), step_usage(8));
    assert_eq!((outline.calls, outline.usage), (1, Usage::new(100, 10)));
    assert_eq!((write.calls, write.usage), (1, Usage::new(50, 20)));
    assert!(close(write.cost_usd, 90e-6), "{}", write.cost_usd);

    let EventKind::Completed { usage, .. } = &events[9].kind else {
        panic!("the run completes");
    };
    let total: UsageTotals = usage.expect("the run has a ledger");
    assert_eq!((total.calls, total.usage), (2, Usage::new(150, 30)));
    assert!(close(total.cost_usd, 210e-6));
}

#[tokio::test]
async fn a_failed_call_is_a_failed_call_event() {
    let model = Scripted::new().reply(answer("a plan", 1, 1));
    let writer = Writer {
        agent: Agent::builder(Arc::new(model)).build(),
    };
    // The script has one answer: the stream of `write` fails.
    let (result, events) = watch(&executor(), &writer, "Rust".into()).await;
    assert!(result.is_err());
    let calls: Vec<_> = events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::CallFinished { step, ok, .. } => Some((*step, *ok)),
            _ => None,
        })
        .collect();
    assert_eq!(calls, [(Some("outline"), true), (Some("write"), false)]);
    assert!(matches!(
        events.last().map(|e| &e.kind),
        Some(EventKind::Failed { step: Some("write"), usage: Some(usage), .. }) if usage.failed_calls == 1
    ));
}

struct Translate {
    agent: Agent,
}

#[workflow]
impl Translate {
    async fn split(&self, text: String) -> Vec<String> {
        text.split('.').map(str::to_owned).collect()
    }

    async fn translate(&self, sentence: String) -> Result<String> {
        self.agent.prompt(&sentence).await
    }

    async fn join(&self, sentences: Vec<String>) -> String {
        sentences.join(".")
    }

    flow! {
        start -> split -> each translate [concurrency 2] -> join -> end;
    }
}

#[tokio::test]
async fn each_branch_adds_up_its_own_calls() {
    let model = Scripted::new().replies((0..3).map(|n| answer(&format!("t{n}"), 10, n + 1)));
    let translate = Translate {
        agent: Agent::builder(Arc::new(model)).build(),
    };
    let (result, events) = watch(&executor(), &translate, "a.b.c".into()).await;
    assert_eq!(result.expect("the run succeeds").split('.').count(), 3);
    let mut calls = Vec::new();
    let mut branches = Vec::new();
    for event in &events {
        match &event.kind {
            EventKind::CallFinished {
                step,
                branch,
                usage,
                ..
            } => calls.push((*step, *branch, usage.map(|u| u.output_tokens))),
            EventKind::BranchFinished {
                index,
                usage,
                error,
                ..
            } => {
                assert!(error.is_none());
                let usage = usage.expect("the run has a ledger");
                branches.push((*index, usage.calls, usage.usage.output_tokens));
            }
            _ => {}
        }
    }
    // Each element made one call; its branch counts that call and no other.
    calls.sort_by_key(|(_, branch, _)| *branch);
    let tokens: Vec<u64> = calls.iter().filter_map(|(_, _, tokens)| *tokens).collect();
    assert!(calls
        .iter()
        .all(|(step, branch, _)| *step == Some("translate") && branch.is_some()));
    branches.sort_unstable();
    for (index, calls, output) in &branches {
        assert_eq!(*calls, 1);
        assert_eq!(*output, tokens[*index]);
    }
    assert_eq!(branches.len(), 3);
}
