//! What a durable run refuses or records: changed definitions, hand-made checkpoints,
//! failures, cancellation.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use workflow_runtime::store::{Checkpoint, NewRun, RunId, RunStatus, FORMAT_VERSION};
use workflow_runtime::usage::SavedUsage;
use workflow_runtime::{CancellationToken, Error, Outcome, Runner};

use crate::stores::Fixture;
use crate::workflows::{Approval, Chain};

pub(crate) async fn a_changed_definition_is_refused(fixture: Fixture) {
    let runner = Runner::new(fixture.store).owner("test");
    let id = runner.create::<Chain<1>>(1).await.expect("created");

    let changed = Chain::<2>::default();
    let error = runner
        .resume(&changed, id)
        .await
        .expect_err("another definition");
    match &error {
        Error::DefinitionMismatch {
            run,
            workflow: "Chain",
            fingerprint: 2,
            stored_workflow,
            stored_fingerprint: 1,
        } => {
            assert_eq!((*run, stored_workflow.as_str()), (id, "Chain"));
        }
        other => panic!("{other:?}"),
    }
    let message = error.to_string();
    assert!(
        message.contains("0x0000000000000001") && message.contains("0x0000000000000002"),
        "{message}"
    );
    assert_eq!(changed.runs(), [0, 0, 0]);
    let fork = runner
        .fork(&changed, id, 0)
        .await
        .expect_err("another definition");
    assert!(matches!(fork, Error::DefinitionMismatch { .. }), "{fork:?}");

    let other = runner
        .resume(&Approval::default(), id)
        .await
        .expect_err("another workflow");
    assert!(
        matches!(&other, Error::DefinitionMismatch { workflow: "Approval", stored_workflow, .. } if stored_workflow == "Chain"),
        "{other:?}"
    );
    let info = runner.status(id).await.expect("status");
    assert_eq!(
        (info.status, info.owner, info.version),
        (RunStatus::Running, None, 0),
        "left as it was"
    );
    let run = runner
        .resume(&Chain::<1>::default(), id)
        .await
        .expect("the right definition");
    assert_eq!(run.into_output().expect("finished"), 27);
}

pub(crate) async fn a_failed_step_is_recorded_and_resumed(fixture: Fixture) {
    let runner = Runner::new(fixture.store).owner("test");
    let chain = Chain::<1>::failing_at(1, 1);
    let run = runner.start(&chain, 1).await.expect("created");
    match &run.outcome {
        Outcome::Failed(error @ Error::Step { step: "second", .. }) => {
            assert!(error.step_error::<crate::workflows::Flake>().is_some());
        }
        other => panic!("{other:?}"),
    }
    let info = runner.status(run.id).await.expect("status");
    assert_eq!(
        (info.status, info.step.as_str(), info.version),
        (RunStatus::Failed, "second", 1)
    );
    assert_eq!(info.owner, None);
    let error = info.error.expect("recorded");
    assert!(
        error.contains("step `second` failed") && error.contains("the step flaked"),
        "{error}"
    );

    let again = runner.resume(&chain, run.id).await.expect("resumes");
    assert_eq!(again.into_output().expect("finished"), 27);
    assert_eq!(
        chain.runs(),
        [1, 2, 1],
        "the failed step runs again, the one before does not"
    );
    let info = runner.status(run.id).await.expect("status");
    assert_eq!((info.status, info.error), (RunStatus::Finished, None));
}

/// Regression (issue #14): a panicking step left its run leased for the whole lease (30 s by
/// default) with nothing recorded. It is now the step's recorded failure, and another worker
/// can resume the run at once.
pub(crate) async fn a_panicking_step_is_a_recorded_failure(fixture: Fixture) {
    let runner = Runner::new(fixture.store.clone()).owner("test");
    let chain = Chain::<1>::panicking_at(1, 1);
    let run = runner.start(&chain, 1).await.expect("created");
    match &run.outcome {
        Outcome::Failed(Error::Panicked {
            workflow: "Chain",
            step: "second",
            message,
        }) => assert_eq!(message, "step 1 panics on 2"),
        other => panic!("{other:?}"),
    }
    let info = runner.status(run.id).await.expect("status");
    assert_eq!(
        (
            info.status,
            info.step.as_str(),
            info.owner,
            info.lease_expires
        ),
        (RunStatus::Failed, "second", None, None)
    );
    let error = info.error.expect("recorded");
    assert!(
        error.contains("step `second` panicked: step 1 panics on 2"),
        "{error}"
    );

    let other = Runner::new(fixture.store).owner("other");
    let again = other.resume(&chain, run.id).await.expect("not leased");
    assert_eq!(again.into_output().expect("finished"), 27);
    assert_eq!(chain.runs(), [1, 2, 1]);
}

/// Regression (issue #14): a run whose future was dropped (a timeout, a `select!`) kept its
/// lease, and even the same process got `RunOwned` until it expired. Its lease is now given
/// up as it is dropped.
pub(crate) async fn a_dropped_run_gives_up_its_lease(fixture: Fixture) {
    let runner = Runner::new(fixture.store).owner("test");
    let id = runner.create::<Chain>(1).await.expect("created");
    let hanging = Chain::<1>::hanging_at(1);
    // Dropped once step 1 hangs (a fixed time could come before, on a busy machine).
    drop(crate::leases::until_hung(&hanging.hung, runner.resume(&hanging, id)).await);

    // The lease is given up by a task of its own: wait for it, far less than the 30 s lease.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let info = runner.status(id).await.expect("status");
        if info.owner.is_none() {
            assert_eq!(
                (info.status, info.step.as_str(), info.lease_expires),
                (RunStatus::Running, "second", None)
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still leased: {info:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let chain = Chain::<1>::default();
    let done = runner.resume(&chain, id).await.expect("not leased");
    assert_eq!(done.into_output().expect("finished"), 27);
    assert_eq!(chain.runs(), [0, 1, 1], "the first step is not run again");
}

pub(crate) async fn cancellation_fails_the_run_and_it_resumes(fixture: Fixture) {
    let token = CancellationToken::new();
    let runner = Runner::new(fixture.store.clone())
        .owner("test")
        .cancellation(token.clone());
    let chain = Chain::<1>::hanging_at(1);
    // Cancelled once step 1 hangs (a fixed time could come before, on a busy machine).
    let hung = Arc::clone(&chain.hung);
    let canceller = tokio::spawn(async move {
        hung.notified().await;
        token.cancel();
    });
    let run = runner.start(&chain, 1).await.expect("created");
    canceller.await.expect("no panic");
    assert!(
        matches!(
            run.outcome,
            Outcome::Failed(Error::Cancelled {
                step: Some("second"),
                ..
            })
        ),
        "{:?}",
        run.outcome
    );
    let info = runner.status(run.id).await.expect("status");
    assert_eq!((info.status, &info.owner), (RunStatus::Failed, &None));
    assert!(
        info.error
            .as_deref()
            .is_some_and(|e| e.contains("cancelled")),
        "{info:?}"
    );

    let chain = Chain::<1>::default();
    let resumed = Runner::new(fixture.store)
        .resume(&chain, run.id)
        .await
        .expect("resumes");
    assert_eq!(resumed.into_output().expect("finished"), 27);
    assert_eq!(chain.runs(), [0, 1, 1]);
}

/// Checkpoints written by hand through the store: every way they can be wrong is a typed
/// error, on every read, and leaves the run as it was.
pub(crate) async fn hand_made_checkpoints_are_typed_errors(fixture: Fixture) {
    let runner = Runner::new(fixture.store.clone()).owner("test");
    let good = Checkpoint {
        run: RunId::new(),
        seq: 0,
        workflow: "Chain".into(),
        fingerprint: 1,
        format: FORMAT_VERSION,
        step: "first".into(),
        status: RunStatus::Running,
        state: r#"{"first":1}"#.into(),
        loops: "[]".into(),
        created_at: SystemTime::now(),
        usage: SavedUsage::default(),
        branches: Vec::new(),
        child: None,
    };
    let corrupt = |reason: &'static str| move |error: &Error| matches!(error, Error::CorruptCheckpoint { seq: Some(0), reason: r, .. } if r.contains(reason));
    type Check = Box<dyn Fn(&Error) -> bool>;
    let cases: Vec<(Checkpoint, Check)> = vec![
        (
            Checkpoint {
                state: "{not json".into(),
                ..good.clone()
            },
            Box::new(corrupt("not a state of workflow `Chain`")),
        ),
        (
            Checkpoint {
                state: r#"{"fourth":1}"#.into(),
                ..good.clone()
            },
            Box::new(corrupt("not a state")),
        ),
        (
            Checkpoint {
                state: r#"{"first":"one"}"#.into(),
                ..good.clone()
            },
            Box::new(corrupt("not a state")),
        ),
        (
            Checkpoint {
                state: "null".into(),
                ..good.clone()
            },
            Box::new(corrupt("not a state")),
        ),
        (
            Checkpoint {
                step: "second".into(),
                ..good.clone()
            },
            Box::new(corrupt("at step `second`")),
        ),
        (
            Checkpoint {
                step: "nope".into(),
                ..good.clone()
            },
            Box::new(corrupt("at step `nope`")),
        ),
        (
            Checkpoint {
                status: RunStatus::Finished,
                ..good.clone()
            },
            Box::new(corrupt("status is `finished`")),
        ),
        (
            Checkpoint {
                loops: "{}".into(),
                ..good.clone()
            },
            Box::new(corrupt("loop counters")),
        ),
        (
            Checkpoint {
                format: 2,
                ..good.clone()
            },
            Box::new(|e: &Error| {
                matches!(
                    e,
                    Error::UnsupportedFormat {
                        format: 2,
                        supported: 1,
                        seq: 0,
                        ..
                    }
                )
            }),
        ),
        (
            Checkpoint {
                fingerprint: 99,
                ..good.clone()
            },
            Box::new(|e: &Error| {
                matches!(
                    e,
                    Error::DefinitionMismatch {
                        stored_fingerprint: 99,
                        fingerprint: 1,
                        ..
                    }
                )
            }),
        ),
        (
            Checkpoint {
                workflow: "Other".into(),
                ..good.clone()
            },
            Box::new(
                |e: &Error| matches!(e, Error::DefinitionMismatch { stored_workflow, .. } if stored_workflow == "Other"),
            ),
        ),
    ];
    for (mut checkpoint, check) in cases {
        checkpoint.run = RunId::new();
        let id = checkpoint.run;
        let run = NewRun {
            first: checkpoint,
            parent: None,
            lease: None,
        };
        fixture.store.create(run).await.expect("created");
        let chain = Chain::<1>::default();
        let errors = [
            runner.resume(&chain, id).await.expect_err("refused"),
            runner.pending::<Chain>(id).await.expect_err("refused"),
            runner.output::<Chain>(id).await.expect_err("refused"),
            runner.fork(&chain, id, 0).await.expect_err("refused"),
        ];
        for error in &errors {
            assert!(check(error), "{error:?}");
            assert!(!error.to_string().is_empty());
        }
        assert_eq!(chain.runs(), [0, 0, 0]);
        let info = runner.status(id).await.expect("status");
        assert_eq!((info.owner, info.version), (None, 0), "released, untouched");
    }
    let good_run = NewRun {
        first: good.clone(),
        parent: None,
        lease: None,
    };
    fixture.store.create(good_run).await.expect("created");
    let run = runner
        .resume(&Chain::<1>::default(), good.run)
        .await
        .expect("resumes");
    assert_eq!(run.into_output().expect("finished"), 27);
}
