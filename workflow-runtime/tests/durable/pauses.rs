//! Pauses (typed and JSON values) and checkpoints in the middle of a fan-out.

use std::time::Duration;

use serde_json::json;
use workflow_runtime::store::RunStatus;
use workflow_runtime::{Error, Outcome, PauseToken, Runner};

use crate::stores::Fixture;
use crate::workflows::{Approval, Decision, Fan};

pub(crate) async fn a_pause_suspends_and_a_typed_value_resumes(fixture: Fixture) {
    let runner = Runner::new(fixture.store).owner("test");
    let approval = Approval::default();
    let run = runner
        .start(&approval, "rust".into())
        .await
        .expect("created");
    let id = run.id;
    let Outcome::Suspended(pause) = run.outcome else {
        panic!("{:?}", run.outcome)
    };
    assert_eq!(pause.step, "approve");
    assert_eq!(pause.payload, json!({"draft": "a draft on rust"}));
    let info = runner.status(id).await.expect("status");
    assert_eq!(
        (info.status, info.step.as_str(), info.owner),
        (RunStatus::Suspended, "approve", None)
    );
    assert_eq!(
        runner.pending::<Approval>(id).await.expect("reads"),
        Some(pause.clone())
    );

    // Resuming without a value runs nothing and suspends again.
    let again = runner.resume(&approval, id).await.expect("resumes");
    assert_eq!(again.outcome.pause(), Some(&pause));
    let error = again.into_output().expect_err("suspended");
    assert!(
        matches!(
            error,
            Error::Suspended {
                workflow: "Approval",
                step: "approve"
            }
        ),
        "{error:?}"
    );

    let decision = Decision {
        approved: true,
        note: "ok".into(),
    };
    let token = pause.token().expect("a durable pause has a token");
    assert_eq!(token, PauseToken::new(id, 1));
    let done = runner
        .answer(&approval, token, decision.clone())
        .await
        .expect("resumes");
    assert_eq!(
        done.into_output().expect("finished"),
        "published: a draft on rust (ok)"
    );
    assert_eq!(
        approval.drafts.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "nothing before the pause ran again"
    );
    assert_eq!(
        approval.publishes.load(std::sync::atomic::Ordering::SeqCst),
        1
    );

    // The same answer again (a retried request) is refused, and said to be a repeat.
    let late = runner
        .answer(&approval, token, decision)
        .await
        .expect_err("answered already");
    assert!(
        matches!(late, Error::AlreadyAnswered { run, seq: 1, repeated: true } if run == id),
        "{late:?}"
    );
    // Another answer to the same pause is refused too, and is not a repeat.
    let other = Decision {
        approved: false,
        note: "no".into(),
    };
    let stale = runner
        .answer(&approval, token, other.clone())
        .await
        .expect_err("answered already");
    assert!(
        matches!(
            stale,
            Error::AlreadyAnswered {
                repeated: false,
                ..
            }
        ),
        "{stale:?}"
    );
    // A token naming the finished run's last checkpoint names no pause.
    let end = runner
        .answer(&approval, PauseToken::new(id, 3), other)
        .await
        .expect_err("finished");
    assert!(
        matches!(end, Error::NotPaused { step: "end", .. }),
        "{end:?}"
    );
    let history = runner.history(id).await.expect("history");
    let steps: Vec<&str> = history.iter().map(|c| c.step.as_ref()).collect();
    assert_eq!(steps, ["draft", "approve", "publish", "end"]);
    assert_eq!(history[1].status, RunStatus::Suspended);
    assert_eq!(runner.pending::<Approval>(id).await.expect("reads"), None);
}

pub(crate) async fn a_json_value_is_checked(fixture: Fixture) {
    let runner = Runner::new(fixture.store).owner("test");
    let approval = Approval::default();
    let id = runner
        .start(&approval, "rust".into())
        .await
        .expect("created")
        .id;
    let pause = runner.pending::<Approval>(id).await.expect("reads");
    let token = pause.and_then(|pause| pause.token()).expect("waits");

    let wrong = runner
        .answer_json(&approval, token, json!({"approved": "yes"}))
        .await;
    match wrong.expect_err("not a Decision") {
        Error::AnswerValue {
            workflow: "Approval",
            step: "approve",
            expected: "Decision",
            source,
        } => {
            assert!(source.to_string().contains("invalid type"), "{source}");
        }
        other => panic!("{other:?}"),
    }
    let info = runner.status(id).await.expect("status");
    assert_eq!(
        (info.status, info.version, info.owner),
        (RunStatus::Suspended, 1, None),
        "left as it was"
    );

    let value = json!({"approved": false, "note": "too short"});
    let done = runner
        .answer_json(&approval, token, value.clone())
        .await
        .expect("resumes");
    assert_eq!(done.into_output().expect("finished"), "rejected: too short");
    let again = runner
        .answer_json(&approval, token, value)
        .await
        .expect_err("answered already");
    assert!(
        matches!(again, Error::AlreadyAnswered { repeated: true, .. }),
        "{again:?}"
    );
    let wrong = runner
        .answer_json(&approval, token, json!({}))
        .await
        .expect_err("answered already");
    assert!(
        matches!(
            wrong,
            Error::AlreadyAnswered {
                repeated: false,
                ..
            }
        ),
        "{wrong:?}"
    );
}

pub(crate) async fn a_fan_out_checkpoints_each_finished_branch(fixture: Fixture) {
    let lease = Duration::from_millis(300);
    let runner = Runner::new(fixture.store).owner("test").lease(lease);
    let id = runner.create::<Fan>(5).await.expect("created");
    let crashed = Fan {
        hang: vec![2],
        ..Fan::default()
    };
    // Branch 2 hangs; the process "crashes" there, once the others had time to finish and
    // be saved (a second: long enough on a busy machine).
    crate::leases::crash(Duration::from_secs(1), runner.resume(&crashed, id)).await;
    assert_eq!(crashed.runs(), [1, 1, 1]);

    // One checkpoint, at the fan-out, and each branch saved beside it as it finished.
    let history = runner.history(id).await.expect("history");
    assert_eq!(history.len(), 1);
    let saved: Vec<(u32, serde_json::Value)> = history[0]
        .branches
        .iter()
        .map(|branch| {
            (
                branch.index,
                serde_json::from_str(&branch.value).expect("JSON"),
            )
        })
        .collect();
    assert_eq!(saved, [(0, json!(6)), (1, json!(10))]);
    let (state, _) = history[0].decode::<Fan>().expect("it reads back");
    assert_eq!(
        serde_json::to_value(&state).expect("serializes"),
        json!({"fan": [5, [{"done": 6}, {"done": 10}, "pending"]]})
    );
    assert!(history
        .iter()
        .all(|c| c.step == "fan" && c.status == RunStatus::Running));

    tokio::time::sleep(lease + Duration::from_millis(100)).await;
    let fresh = Fan::default();
    let run = runner.resume(&fresh, id).await.expect("resumes");
    assert_eq!(run.into_output().expect("finished"), 6 + 10 + 25);
    assert_eq!(
        fresh.runs(),
        [0, 0, 1],
        "finished branches do not run again"
    );
    let history = runner.history(id).await.expect("history");
    assert_eq!(history.len(), 2, "the fan-out, then the end");
    assert_eq!(history[0].branches.len(), 3);
}
