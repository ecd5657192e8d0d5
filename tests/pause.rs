//! Pause steps: a run stops before them until it is given the value they wait for, typed or as
//! JSON; nothing before the pause runs again.

use std::sync::atomic::{AtomicU32, Ordering};

use workflow::prelude::*;
use workflow::state::Loops;
use workflow::Answer;

/// What a human decides about a draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Decision {
    Approve,
    Reject { reason: String },
}

#[derive(Default)]
struct Approval {
    drafts: AtomicU32,
}

#[workflow]
impl Approval {
    async fn draft(&self, topic: String) -> String {
        self.drafts.fetch_add(1, Ordering::SeqCst);
        format!("a post about {topic}")
    }

    /// Waits for a `Decision` about the draft.
    async fn review(&self, draft: String, decision: Decision) -> Result<String> {
        match decision {
            Decision::Approve => Ok(format!("published: {draft}")),
            Decision::Reject { reason } => Ok(format!("rejected ({reason}): {draft}")),
        }
    }

    flow! {
        start -> draft -> pause review -> end;
    }
}

#[tokio::test]
async fn an_in_memory_run_stops_at_the_pause() {
    let error = Approval::default()
        .run("rust".into())
        .await
        .expect_err("it pauses");
    assert!(
        matches!(
            error,
            Error::Suspended {
                workflow: "Approval",
                step: "review"
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_paused_state_shows_its_payload_and_resumes_with_a_typed_value() {
    let approval = Approval::default();
    let mut cx = workflow::Context::new(<Approval as Workflow>::NAME);
    let state = Approval::start("rust".into());
    assert!(Approval::pause(&state).is_none());
    let state = approval
        .transition(state, &mut cx)
        .await
        .expect("draft runs");
    let pause = Approval::pause(&state).expect("it waits at the pause");
    assert_eq!(pause.step, "review");
    assert_eq!(pause.payload, serde_json::json!("a post about rust"));
    let saved = serde_json::to_value(&state).expect("serializes");
    assert_eq!(
        saved,
        serde_json::json!({ "review": ["a post about rust", "waiting"] })
    );

    let state =
        <Approval as Answer<Decision>>::answer(state, Decision::Approve).expect("it was waiting");
    assert!(Approval::pause(&state).is_none());
    assert_eq!(
        serde_json::to_value(&state).expect("serializes"),
        serde_json::json!({ "review": ["a post about rust", { "given": "Approve" }] })
    );
    let out = Executor::new()
        .start_from(&approval, state, cx.into_loops())
        .await
        .expect("the run finishes");
    assert_eq!(out, "published: a post about rust");
    assert_eq!(
        approval.drafts.load(Ordering::SeqCst),
        1,
        "the draft ran again"
    );
}

#[tokio::test]
async fn a_value_from_json_is_checked() {
    let state: ApprovalState =
        serde_json::from_value(serde_json::json!({ "review": ["a post", "waiting"] }))
            .expect("a saved pause deserializes");
    let again = serde_json::from_value(serde_json::json!({ "review": ["a post", "waiting"] }))
        .expect("deserializes");
    let Err(error) = Approval::answer_json(again, serde_json::json!({ "Maybe": null })) else {
        panic!("not a decision, but accepted");
    };
    match &error {
        Error::AnswerValue {
            workflow,
            step,
            expected,
            ..
        } => {
            assert_eq!((*workflow, *step), ("Approval", "review"));
            assert!(expected.ends_with("Decision"), "{expected}");
        }
        other => panic!("{other:?}"),
    }
    let state = Approval::answer_json(
        state,
        serde_json::json!({ "Reject": { "reason": "too short" } }),
    )
    .expect("a decision");
    let out = Executor::new()
        .start_from(&Approval::default(), state, Loops::new())
        .await
        .expect("the run finishes");
    assert_eq!(out, "rejected (too short): a post");
}

#[test]
fn only_a_waiting_run_takes_a_value() {
    let state = Approval::start("rust".into());
    let Err(error) = Approval::answer_json(state, serde_json::json!("Approve")) else {
        panic!("not paused, but accepted");
    };
    assert!(
        matches!(error, Error::NotPaused { step: "draft", .. }),
        "{error:?}"
    );
    let given: ApprovalState =
        serde_json::from_value(serde_json::json!({ "review": ["a post", { "given": "Approve" }] }))
            .expect("deserializes");
    let Err(error) = <Approval as Answer<Decision>>::answer(given, Decision::Approve) else {
        panic!("already given, but accepted");
    };
    assert!(
        matches!(error, Error::NotPaused { step: "review", .. }),
        "{error:?}"
    );
}

#[test]
fn pauses_are_part_of_the_definition() {
    assert!(
        Approval::MERMAID.contains("review[/\"pause, then review\"/]"),
        "{}",
        Approval::MERMAID
    );
    assert_eq!(Approval::STEPS, ["draft", "review"]);
}

#[tokio::test]
async fn a_durable_run_suspends_and_resumes_with_its_events() {
    use std::sync::Arc;
    use workflow::{MemoryStore, Outcome, Runner};

    let runner = Runner::new(Arc::new(MemoryStore::new()));
    let mut events = runner.subscribe();
    let approval = Approval::default();
    let run = runner
        .start(&approval, "rust".into())
        .await
        .expect("created");
    let Outcome::Suspended(pause) = &run.outcome else {
        panic!("not suspended: {:?}", run.outcome);
    };
    assert_eq!(pause.payload, serde_json::json!("a post about rust"));
    assert_eq!(
        runner
            .pending::<Approval>(run.id)
            .await
            .expect("readable")
            .map(|p| p.step),
        Some("review")
    );

    let done = runner
        .answer(&approval, run.id, Decision::Approve)
        .await
        .expect("resumed");
    assert_eq!(
        done.into_output().expect("finished"),
        "published: a post about rust"
    );
    assert_eq!(
        approval.drafts.load(Ordering::SeqCst),
        1,
        "the draft ran again"
    );

    let mut kinds = Vec::new();
    while let Some(event) = events.try_recv() {
        assert_eq!(event.run, run.id);
        kinds.push(event.kind.name());
    }
    assert_eq!(
        kinds,
        [
            "run_started",
            "step_started",
            "step_finished",
            "suspended",
            "resumed",
            "step_started",
            "step_finished",
            "completed"
        ],
        "{kinds:?}"
    );
}
