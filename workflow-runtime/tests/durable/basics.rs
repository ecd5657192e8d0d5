//! Runs, checkpoints, history, fork, listing.

use serde_json::json;
use workflow_runtime::store::{RunFilter, RunId, RunStatus, FORMAT_VERSION};
use workflow_runtime::{Error, Outcome, PauseToken, Runner};

use crate::stores::Fixture;
use crate::workflows::{Approval, Chain};

fn states(history: &[workflow_runtime::store::Checkpoint]) -> Vec<serde_json::Value> {
    let parse = |text: &str| serde_json::from_str(text).expect("JSON");
    history
        .iter()
        .map(|checkpoint| parse(&checkpoint.state))
        .collect()
}

pub(crate) async fn a_checkpoint_after_every_step(fixture: Fixture) {
    let runner = Runner::new(fixture.store).owner("test");
    let chain = Chain::<1>::default();
    let run = runner.start(&chain, 1).await.expect("created");
    assert!(matches!(run.outcome, Outcome::Finished(27)), "{run:?}");
    assert_eq!(chain.runs(), [1, 1, 1]);

    let history = runner.history(run.id).await.expect("history");
    let steps: Vec<&str> = history.iter().map(|c| c.step.as_ref()).collect();
    assert_eq!(steps, ["first", "second", "third", "end"]);
    let seqs: Vec<u64> = history.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, [0, 1, 2, 3]);
    let statuses: Vec<RunStatus> = history.iter().map(|c| c.status).collect();
    assert_eq!(statuses[..3], [RunStatus::Running; 3]);
    assert_eq!(statuses[3], RunStatus::Finished);
    let expected = [
        json!({"first": 1}),
        json!({"second": 2}),
        json!({"third": 20}),
        json!({"end": 27}),
    ];
    assert_eq!(states(&history), expected);
    for checkpoint in &history {
        assert_eq!(
            (checkpoint.run, checkpoint.workflow.as_ref()),
            (run.id, "Chain")
        );
        assert_eq!(
            (checkpoint.fingerprint, checkpoint.format),
            (1, FORMAT_VERSION)
        );
        assert_eq!(checkpoint.loops, "[]");
    }
    let (state, _) = history[2].decode::<Chain>().expect("decodes");
    assert!(matches!(state, crate::workflows::ChainState::Third(20)));

    let info = runner.status(run.id).await.expect("status");
    assert_eq!(
        (info.id, info.workflow.as_str(), info.fingerprint),
        (run.id, "Chain", 1)
    );
    assert_eq!(
        (info.status, info.step.as_str(), info.version),
        (RunStatus::Finished, "end", 3)
    );
    assert_eq!(
        (info.owner, info.lease_expires, info.error),
        (None, None, None)
    );
    assert_eq!(info.parent, None);
    assert!(info.updated_at >= info.created_at);
    assert_eq!(
        runner.output::<Chain>(run.id).await.expect("reads"),
        Some(27)
    );
    assert_eq!(runner.pending::<Chain>(run.id).await.expect("reads"), None);
}

pub(crate) async fn a_created_run_waits_for_resume(fixture: Fixture) {
    let runner = Runner::new(fixture.store).owner("test");
    let id = runner.create::<Chain>(1).await.expect("created");
    let info = runner.status(id).await.expect("status");
    assert_eq!(
        (info.status, info.step.as_str(), info.version),
        (RunStatus::Running, "first", 0)
    );
    assert_eq!(info.owner, None, "nobody runs it yet");
    assert_eq!(runner.output::<Chain>(id).await.expect("reads"), None);

    let chain = Chain::<1>::default();
    let run = runner.resume(&chain, id).await.expect("resumes");
    assert_eq!((run.id, run.into_output().expect("finished")), (id, 27));
    assert_eq!(chain.runs(), [1, 1, 1]);

    // A finished run gives its output again, running nothing.
    let again = runner.resume(&chain, id).await.expect("resumes");
    assert_eq!(again.into_output().expect("finished"), 27);
    assert_eq!(chain.runs(), [1, 1, 1]);
    assert_eq!(runner.history(id).await.expect("history").len(), 4);
    assert_eq!(runner.status(id).await.expect("status").owner, None);
}

pub(crate) async fn fork_starts_a_new_run_from_a_checkpoint(fixture: Fixture) {
    let runner = Runner::new(fixture.store).owner("test");
    let original = runner
        .start(&Chain::<1>::default(), 1)
        .await
        .expect("created");
    let before = runner.history(original.id).await.expect("history");

    let chain = Chain::<1>::default();
    let fork = runner.fork(&chain, original.id, 1).await.expect("forks");
    assert_ne!(fork.id, original.id);
    assert_eq!(fork.into_output().expect("finished"), 27);
    assert_eq!(chain.runs(), [0, 1, 1], "only the steps after checkpoint 1");

    let forks = runner
        .list(RunFilter::new().after(original.id))
        .await
        .expect("lists");
    let info = forks.runs.first().expect("the fork");
    assert_eq!(info.parent, Some((original.id, 1)));
    let history = runner.history(info.id).await.expect("history");
    assert_eq!(history.iter().map(|c| c.seq).collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(states(&history)[0], states(&before)[1]);
    assert_eq!(
        runner.history(original.id).await.expect("history"),
        before,
        "untouched"
    );

    let missing = runner
        .fork(&chain, original.id, 9)
        .await
        .expect_err("no checkpoint 9");
    assert!(
        matches!(missing, Error::CheckpointNotFound { run, seq: 9 } if run == original.id),
        "{missing:?}"
    );
    let from_end = runner.fork(&chain, original.id, 3).await.expect("forks");
    assert_eq!(from_end.into_output().expect("finished"), 27);
    assert_eq!(chain.runs(), [0, 1, 1], "nothing left to run");
}

pub(crate) async fn list_filters_and_pages(fixture: Fixture) {
    let runner = Runner::new(fixture.store).owner("test");
    let mut chains = Vec::new();
    for input in 0..3 {
        chains.push(runner.create::<Chain>(input).await.expect("created"));
    }
    let approval = runner
        .start(&Approval::default(), "x".into())
        .await
        .expect("created");
    let finished = runner
        .start(&Chain::<1>::default(), 1)
        .await
        .expect("created");
    let ids = |runs: workflow_runtime::store::RunList| {
        let runs = runs.into_runs().expect("no corrupt row");
        runs.into_iter().map(|run| run.id).collect::<Vec<_>>()
    };

    let all = ids(runner.list(RunFilter::new()).await.expect("lists"));
    assert_eq!(
        all,
        [chains.clone(), vec![approval.id, finished.id]].concat(),
        "oldest first"
    );
    let of_chain = ids(runner
        .list(RunFilter::new().workflow("Chain"))
        .await
        .expect("lists"));
    assert_eq!(of_chain, [chains.clone(), vec![finished.id]].concat());
    let suspended = ids(runner
        .list(RunFilter::new().status(RunStatus::Suspended))
        .await
        .expect("lists"));
    assert_eq!(suspended, [approval.id]);
    let done = RunFilter::new()
        .workflow("Chain")
        .status(RunStatus::Finished);
    assert_eq!(ids(runner.list(done).await.expect("lists")), [finished.id]);
    assert!(runner
        .list(RunFilter::new().workflow("None"))
        .await
        .expect("lists")
        .is_empty());

    let first = ids(runner.list(RunFilter::new().limit(2)).await.expect("lists"));
    assert_eq!(first, all[..2]);
    let second = ids(runner
        .list(RunFilter::new().after(first[1]).limit(2))
        .await
        .expect("lists"));
    assert_eq!(second, all[2..4]);
    let last = ids(runner
        .list(RunFilter::new().after(all[3]).limit(2))
        .await
        .expect("lists"));
    assert_eq!(last, all[4..]);
}

pub(crate) async fn unknown_runs_are_typed_errors(fixture: Fixture) {
    let runner = Runner::new(fixture.store).owner("test");
    let nobody = RunId::new();
    let not_found = |error: Error| matches!(error, Error::RunNotFound { run } if run == nobody);
    assert!(not_found(runner.status(nobody).await.expect_err("unknown")));
    assert!(not_found(
        runner.history(nobody).await.expect_err("unknown")
    ));
    assert!(not_found(
        runner
            .resume(&Chain::<1>::default(), nobody)
            .await
            .expect_err("unknown")
    ));
    assert!(not_found(
        runner.pending::<Chain>(nobody).await.expect_err("unknown")
    ));
    assert!(not_found(
        runner.output::<Chain>(nobody).await.expect_err("unknown")
    ));
    assert!(not_found(
        runner
            .fork(&Chain::<1>::default(), nobody, 0)
            .await
            .expect_err("unknown")
    ));
    let decision = crate::workflows::Decision {
        approved: true,
        note: String::new(),
    };
    let error = runner
        .answer(&Approval::default(), PauseToken::new(nobody, 1), decision)
        .await
        .expect_err("unknown");
    assert!(not_found(error));
    let message = runner
        .status(nobody)
        .await
        .expect_err("unknown")
        .to_string();
    assert!(
        message.contains(&nobody.to_string()) && message.contains("check the run id"),
        "{message}"
    );
}

pub(crate) async fn the_step_limit_counts_per_call(fixture: Fixture) {
    let limited = Runner::new(fixture.store.clone())
        .owner("test")
        .max_steps(2);
    let chain = Chain::<1>::default();
    let run = limited.start(&chain, 1).await.expect("created");
    assert!(
        matches!(
            run.outcome,
            Outcome::Failed(Error::StepLimit { max: 2, .. })
        ),
        "{run:?}"
    );
    let info = limited.status(run.id).await.expect("status");
    assert_eq!(
        (info.status, info.version, &info.owner),
        (RunStatus::Failed, 2, &None)
    );
    assert!(
        info.error
            .as_deref()
            .is_some_and(|e| e.contains("step limit of 2")),
        "{info:?}"
    );

    let resumed = limited.resume(&chain, run.id).await.expect("resumes");
    assert_eq!(
        resumed.into_output().expect("finished"),
        27,
        "the limit counts per call"
    );
    assert_eq!(chain.runs(), [1, 1, 1]);
}
