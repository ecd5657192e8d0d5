//! Pause steps: a run stops before them until it is given the value they wait for, typed or as
//! JSON; nothing before the pause runs again.

use std::sync::atomic::{AtomicU32, Ordering};

use workflow::prelude::*;
use workflow::state::Loops;
use workflow::Answer;

/// What a human decides about a draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
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

/// Regression (issue #14): a pause in an in-memory run was a dead end; its report now holds
/// the pause to go on from, with no store.
#[tokio::test]
async fn an_in_memory_run_goes_on_from_its_pause() {
    use workflow::{Outcome, Run};

    let approval = Approval::default();
    let report = Run::new(&approval, "rust".into()).report().await;
    let Outcome::Suspended(pause) = report.outcome else {
        panic!("not suspended: {:?}", report.outcome);
    };
    assert_eq!(pause.step, "review");
    assert_eq!(pause.payload, serde_json::json!("a post about rust"));
    assert!(pause.in_memory());

    // Typed, without options; the pause can be answered again (each answer is a run of its own).
    let published = Run::answer(&approval, &pause, Decision::Approve)
        .expect("an in-memory pause")
        .await
        .expect("finishes");
    assert_eq!(published, "published: a post about rust");
    // As JSON, through an executor; the steps before the pause do not run again.
    let rejected = Executor::new()
        .answer_json(
            &approval,
            &pause,
            serde_json::json!({ "Reject": { "reason": "too short" } }),
        )
        .expect("an in-memory pause")
        .await
        .expect("finishes");
    assert_eq!(rejected, "rejected (too short): a post about rust");
    assert_eq!(approval.drafts.load(Ordering::SeqCst), 1);

    // A value of the wrong shape leaves the pause as it was.
    let error = Executor::new()
        .answer_json(&approval, &pause, serde_json::json!("Maybe"))
        .expect_err("not a decision");
    assert!(
        matches!(error, Error::AnswerValue { step: "review", .. }),
        "{error:?}"
    );
}

/// Waits at a pause of the same step name and value type as `Approval`'s: another workflow.
struct Other;

#[workflow]
impl Other {
    async fn draft(&self, topic: String) -> String {
        topic
    }

    async fn review(&self, draft: String, _decision: Decision) -> String {
        draft
    }

    flow! {
        start -> draft -> pause review -> end;
    }
}

#[tokio::test]
async fn a_pause_goes_on_only_in_the_run_it_came_from() {
    use std::sync::Arc;
    use workflow::{MemoryStore, Outcome, Run, Runner};

    let report = Run::new(&Other, "rust".into()).report().await;
    let Outcome::Suspended(pause) = report.outcome else {
        panic!("not suspended: {:?}", report.outcome);
    };
    let approval = Approval::default();
    let Err(error) = Run::answer(&approval, &pause, Decision::Approve) else {
        panic!("another workflow's pause was answered");
    };
    assert!(
        matches!(&error, Error::NotResumable { workflow: "Approval", step: "review", reason } if reason.contains("`Other`")),
        "{error:?}"
    );

    // A durable run's pause holds no state: it is answered through its runner.
    let runner = Runner::new(Arc::new(MemoryStore::new()));
    let run = runner
        .start(&approval, "rust".into())
        .await
        .expect("created");
    let Outcome::Suspended(pause) = run.outcome else {
        panic!("not suspended: {:?}", run.outcome);
    };
    assert!(!pause.in_memory());
    let Err(error) = Run::answer(&approval, &pause, Decision::Approve) else {
        panic!("a durable pause was answered in memory");
    };
    assert!(
        matches!(&error, Error::NotResumable { reason, .. } if reason.contains("Runner::answer")),
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

#[test]
fn the_definition_a_store_records_has_the_graph_and_what_each_pause_takes() {
    let definition = workflow::WorkflowDefinition::of::<Approval>();
    assert_eq!(definition.mermaid, Approval::MERMAID);
    assert_eq!(definition.pauses.len(), 1);
    let review = definition
        .pause("review")
        .expect("the pause before `review`");
    assert!(
        review.value_type.ends_with("Decision"),
        "{}",
        review.value_type
    );
    let schema = review.schema.as_ref().expect("`Decision` has a schema");
    let text = schema.to_string();
    assert!(
        text.contains("Approve") && text.contains("reason"),
        "{text}"
    );
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

    let token = pause.token().expect("a durable run's pause has a token");
    let done = runner
        .answer(&approval, token, Decision::Approve)
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

/// Two pauses in a row that wait for the same type: a sign-off by legal, then by an editor.
struct SignOff;

#[workflow]
impl SignOff {
    async fn draft(&self, topic: String) -> String {
        format!("a post about {topic}")
    }

    /// Legal's sign-off.
    async fn legal(&self, draft: String, approved: bool) -> (String, bool) {
        (draft, approved)
    }

    /// The editor's, after legal's.
    async fn editor(&self, (draft, legal): (String, bool), approved: bool) -> String {
        format!("{draft}: legal {legal}, editor {approved}")
    }

    flow! {
        start -> draft -> pause legal -> pause editor -> end;
    }
}

/// A new run of `SignOff`, and the token of the pause it waits at: legal's.
async fn waiting_for_legal(runner: &workflow::Runner) -> (workflow::RunId, workflow::PauseToken) {
    let run = runner
        .start(&SignOff, "rust".into())
        .await
        .expect("created");
    let legal = run.outcome.pause().and_then(|pause| pause.token());
    (run.id, legal.expect("waits for legal"))
}

/// Regression (issue #14): legal's approval sent twice finished the run with an editor's
/// approval nobody gave. Each answer now names its pause; on a real SQLite file.
#[tokio::test]
async fn an_answer_sent_twice_does_not_answer_the_next_pause() {
    use std::sync::Arc;
    use workflow::{Outcome, Runner, SqliteStore};

    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(dir.path().join("runs.sqlite3")).expect("opens");
    let runner = Runner::new(Arc::new(store));
    let (run, legal) = waiting_for_legal(&runner).await;

    // The second request (a double click) is refused, and says it repeats the first.
    let first = runner
        .answer(&SignOff, legal, true)
        .await
        .expect("legal signs");
    let Outcome::Suspended(editor) = &first.outcome else {
        panic!("{:?}", first.outcome)
    };
    assert_eq!(editor.step, "editor");
    let again = runner
        .answer(&SignOff, legal, true)
        .await
        .expect_err("a repeat");
    assert!(
        matches!(again, Error::AlreadyAnswered { repeated: true, seq, .. } if seq == legal.seq),
        "{again:?}"
    );
    // A late "no" from legal is refused too, as not a repeat.
    let late = runner
        .answer(&SignOff, legal, false)
        .await
        .expect_err("stale");
    assert!(
        matches!(
            late,
            Error::AlreadyAnswered {
                repeated: false,
                ..
            }
        ),
        "{late:?}"
    );
    let waiting = runner.pending::<SignOff>(run).await.expect("reads");
    assert_eq!(
        waiting.as_ref().map(|pause| pause.step),
        Some("editor"),
        "still the editor's"
    );

    // The token survives text (a form, a link); the editor's answer ends the run.
    let token: workflow::PauseToken = editor
        .token()
        .expect("a token")
        .to_string()
        .parse()
        .expect("parses");
    let done = runner
        .answer(&SignOff, token, false)
        .await
        .expect("the editor answers");
    assert_eq!(
        done.into_output().expect("finished"),
        "a post about rust: legal true, editor false"
    );
}

/// Two answers to one pause at the same time, from two threads: one lands, the other is
/// refused, and neither reaches the pause after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_answers_at_once_give_one_value() {
    use std::sync::Arc;
    use workflow::{MemoryStore, Runner};

    for _ in 0..50 {
        let runner = Runner::new(Arc::new(MemoryStore::new()));
        let (run, legal) = waiting_for_legal(&runner).await;
        let answer = |value: bool| {
            let runner = runner.clone();
            tokio::spawn(async move { runner.answer(&SignOff, legal, value).await })
        };
        let (a, b) = (answer(true), answer(false));
        let (a, b) = (a.await.expect("no panic"), b.await.expect("no panic"));
        let given = match (&a, &b) {
            (Ok(_), Err(_)) => true,
            (Err(_), Ok(_)) => false,
            _ => panic!("one answer lands: {a:?}, {b:?}"),
        };
        let refused = a.err().or(b.err()).expect("one refused");
        assert!(
            matches!(
                refused,
                Error::AlreadyAnswered {
                    repeated: false,
                    ..
                } | Error::RunOwned { .. }
            ),
            "{refused:?}"
        );
        let waiting = runner.pending::<SignOff>(run).await.expect("reads");
        assert_eq!(
            waiting.map(|pause| pause.payload),
            Some(serde_json::json!(["a post about rust", given]))
        );
    }
}
