//! Subscribers of an executor: every run started after they subscribed, none before; what a
//! subscriber that never reads loses; the JSON of an event; a run that stops at a pause.

use std::time::Duration;

use serde_json::json;
use workflow::prelude::*;
use workflow::{Context, Pause};

use super::{shown, watch};

struct Pipeline;

#[workflow]
impl Pipeline {
    async fn fetch(&self, url: String) -> String {
        format!("page at {url}")
    }

    async fn summarize(&self, page: String) -> usize {
        page.len()
    }

    flow! {
        start -> fetch -> summarize -> end;
    }
}

const RUN: [&str; 6] = [
    "run_started",
    "start fetch#1",
    "finish fetch",
    "start summarize#1",
    "finish summarize",
    "completed",
];

#[tokio::test]
async fn a_subscriber_gets_every_run_started_after_it_subscribed() {
    let executor = Executor::new();
    executor
        .start(&Pipeline, "before".into())
        .await
        .expect("ok");
    let mut events = executor.subscribe();
    let clone = executor.clone();
    executor.start(&Pipeline, "one".into()).await.expect("ok");
    clone.start(&Pipeline, "two".into()).await.expect("ok");
    drop((executor, clone));

    let mut all = Vec::new();
    while let Some(event) = events.recv().await {
        all.push(event);
    }
    assert_eq!(all.len(), 12, "two runs, none from before");
    let (one, two) = all.split_at(6);
    assert_eq!(shown(one), RUN);
    assert_eq!(shown(two), RUN);
    assert_ne!(one[0].run, two[0].run);
    assert!(one.iter().all(|event| event.run == one[0].run));
    assert_eq!(events.missed(), 0);
}

#[tokio::test]
async fn a_subscriber_that_never_reads_loses_the_oldest_events_only() {
    let executor = Executor::new().event_capacity(4);
    let mut idle = executor.subscribe();
    // The run does not wait for the subscriber: it completes with nobody reading.
    let result = executor.start(&Pipeline, "x".into()).await;
    assert_eq!(result.expect("ok"), 9);

    // The idle subscriber finds the newest four; the two oldest are gone.
    let mut kept = Vec::new();
    while let Some(event) = idle.try_recv() {
        kept.push(event);
    }
    assert_eq!(idle.missed(), 2);
    assert_eq!(shown(&kept), RUN[2..]);
    let seqs: Vec<u64> = kept.iter().map(|event| event.seq).collect();
    assert_eq!(seqs, [2, 3, 4, 5], "the gap shows which were lost");
}

#[tokio::test]
async fn events_serialize_flat_with_their_kind_under_type() {
    let (_, events) = watch(&Executor::new(), &Pipeline, "x".into()).await;
    let started = serde_json::to_value(&events[1]).expect("events serialize");
    assert_eq!(
        started,
        json!({
            "run": events[1].run.to_string(),
            "workflow": "Pipeline",
            "seq": 1,
            "type": "step_started",
            "step": "fetch",
            "attempt": 1,
        })
    );
    let finished = serde_json::to_value(&events[2]).expect("events serialize");
    assert_eq!(finished["type"], "step_finished");
    // A step that made no model call spent nothing: its usage is left out.
    assert_eq!(finished.get("usage"), None);
    assert!(finished["elapsed"]["nanos"].is_u64());
    let done = serde_json::to_value(&events[5]).expect("events serialize");
    assert_eq!(done["type"], "completed");
}

#[tokio::test]
async fn the_plain_run_sends_nothing() {
    let executor = Executor::new();
    let mut events = executor.subscribe();
    // The generated `run` does not go through the executor.
    Pipeline.run("x".into()).await.expect("ok");
    assert!(events.try_recv().is_none());
    tokio::time::timeout(Duration::from_millis(1), events.recv())
        .await
        .expect_err("nothing comes");
}

// ---- a pause, by hand ------------------------------------------------------------------------

/// `ask -> (pause) approve -> end`: the run stops before `approve`.
struct Approval;

#[derive(Serialize, Deserialize)]
enum ApprovalState {
    Ask(String),
    Approve(String),
    Done(String),
}

impl Workflow for Approval {
    type Input = String;
    type Output = String;
    type State = ApprovalState;
    const NAME: &'static str = "Approval";
    const FINGERPRINT: u64 = 1;
    const STEPS: &'static [&'static str] = &["ask", "approve"];

    fn start(input: String) -> ApprovalState {
        ApprovalState::Ask(input)
    }

    fn finish(state: ApprovalState) -> Result<String, ApprovalState> {
        match state {
            ApprovalState::Done(out) => Ok(out),
            other => Err(other),
        }
    }

    fn step_name(state: &ApprovalState) -> &'static str {
        match state {
            ApprovalState::Ask(_) => "ask",
            ApprovalState::Approve(_) => "approve",
            ApprovalState::Done(_) => "end",
        }
    }

    fn pause(state: &ApprovalState) -> Option<Pause> {
        match state {
            ApprovalState::Approve(draft) => Some(Pause::new("approve", json!(draft))),
            _ => None,
        }
    }

    async fn transition(
        &self,
        state: ApprovalState,
        _cx: &mut Context,
    ) -> Result<ApprovalState, Error> {
        Ok(match state {
            ApprovalState::Ask(text) => ApprovalState::Approve(text),
            ApprovalState::Approve(text) => ApprovalState::Done(text),
            done @ ApprovalState::Done(_) => done,
        })
    }
}

#[tokio::test]
async fn a_run_that_reaches_a_pause_is_suspended() {
    let (result, events) = watch(&Executor::new(), &Approval, "draft".into()).await;
    assert!(matches!(
        result,
        Err(Error::Suspended {
            step: "approve",
            ..
        })
    ));
    assert_eq!(
        shown(&events),
        [
            "run_started",
            "start ask#1",
            "finish ask",
            "suspended approve"
        ]
    );
    assert!(events.last().is_some_and(|event| event.kind.is_end()));
    assert_eq!(events.iter().filter(|e| e.kind.is_end()).count(), 1);
}
