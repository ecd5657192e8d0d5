//! Workers: submitted runs are picked up and driven, a caller-chosen id makes a submit
//! idempotent, a run of an unknown workflow is left alone, orphaned runs are recovered, runs
//! are cancelled by id, and a worker that stops gives its runs back.

use std::sync::Arc;
use std::time::{Duration, Instant};

use workflow_runtime::store::{Cancel, Lease, RunFilter, RunId, RunStatus, WorkflowType};
use workflow_runtime::{Error, PauseToken, Runner, Worker, WorkflowDefinition};

use crate::stores::Fixture;
use crate::workflows::{Approval, Chain, Decision};

/// What `Chain` gives for `x`.
fn chain(x: u64) -> u64 {
    (x + 1) * 10 + 7
}

/// Waits until `check` holds, for at most 10 s.
async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !check().await {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn a_worker(runner: &Runner) -> Worker {
    Worker::new(runner.clone()).poll_interval(Duration::from_millis(10))
}

pub(crate) async fn submitted_runs_are_driven_by_workers(fixture: Fixture) {
    let runner = Runner::new(fixture.store).owner("test");
    let mut handles = Vec::new();
    for x in 0..20 {
        handles.push(runner.submit::<Chain>(x).await.expect("submitted"));
    }
    // Nothing ran yet: every run waits, unowned, at its first step.
    let waiting = runner.list(RunFilter::new()).await.expect("lists");
    let waiting = waiting.into_runs().expect("reads");
    assert_eq!(waiting.len(), 20);
    assert!(waiting
        .iter()
        .all(|run| run.status == RunStatus::Running && run.owner.is_none() && run.version == 0));

    let one = a_worker(&runner)
        .register(Chain::<1>::default())
        .concurrency(3);
    let two = a_worker(&runner)
        .register(Chain::<1>::default())
        .concurrency(3);
    let (one, two) = (one.spawn(), two.spawn());
    for (x, handle) in (0..).zip(&handles) {
        let output = handle.result().await.expect("finishes");
        assert_eq!(output, chain(x));
        let history = runner.history(handle.id()).await.expect("history");
        let steps: Vec<&str> = history.iter().map(|c| c.step.as_ref()).collect();
        assert_eq!(steps, ["first", "second", "third", "end"], "each step once");
    }
    let (one, two) = (one.stop().await, two.stop().await);
    assert_eq!(one.finished + two.finished, 20, "{one:?} {two:?}");
    assert_eq!(one.failed + two.failed + one.released + two.released, 0);
}

pub(crate) async fn a_submit_with_the_same_id_is_the_same_run(fixture: Fixture) {
    let runner = Runner::new(fixture.store).owner("test");
    let id = RunId::new();
    let first = runner
        .submit_with_id::<Chain>(id, 4)
        .await
        .expect("submits");
    let again = runner
        .submit_with_id::<Chain>(id, 4)
        .await
        .expect("same run");
    assert_eq!((first.id(), again.id()), (id, id));
    let other_input = runner.submit_with_id::<Chain>(id, 5).await;
    assert!(
        matches!(other_input, Err(Error::RunExists { run }) if run == id),
        "{other_input:?}"
    );
    let other_definition = runner.submit_with_id::<Chain<2>>(id, 4).await;
    assert!(matches!(other_definition, Err(Error::RunExists { .. })));
    let runs = runner.list(RunFilter::new()).await.expect("lists");
    assert_eq!(runs.into_runs().expect("reads").len(), 1);

    // Once it has run, the same submit still returns it, and its result.
    let worker = a_worker(&runner).register(Chain::<1>::default()).spawn();
    assert_eq!(first.result().await.expect("finishes"), chain(4));
    worker.stop().await;
    let late = runner
        .submit_with_id::<Chain>(id, 4)
        .await
        .expect("same run");
    assert_eq!(late.try_result().await.expect("reads"), Some(chain(4)));
    assert_eq!(runner.history(id).await.expect("history").len(), 4);
}

pub(crate) async fn a_run_of_an_unknown_workflow_is_left_alone(fixture: Fixture) {
    let runner = Runner::new(fixture.store).owner("test");
    let other = runner.submit::<Chain<2>>(1).await.expect("submits");
    let known = runner.submit::<Chain<1>>(2).await.expect("submits");
    let worker = a_worker(&runner).register(Chain::<1>::default()).spawn();
    assert_eq!(known.result().await.expect("finishes"), chain(2));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let left = other.status().await.expect("reads");
    assert_eq!((left.status, left.version), (RunStatus::Running, 0));
    assert!(left.owner.is_none() && left.error.is_none(), "{left:?}");
    assert_eq!(worker.stop().await.finished, 1);

    let serving = a_worker(&runner).register(Chain::<2>::default()).spawn();
    assert_eq!(other.result().await.expect("finishes"), chain(1));
    serving.stop().await;
}

pub(crate) async fn orphaned_runs_are_recovered(fixture: Fixture) {
    let store = Arc::clone(&fixture.store);
    let runner = Runner::new(fixture.store).owner("test");
    let run = runner.submit::<Chain>(3).await.expect("submits");
    // A worker that took the run and died: its lease is never renewed or given up.
    let dead = Lease::new("dead", Duration::from_millis(300));
    store.claim(run.id(), &dead).await.expect("claims");
    let started = Instant::now();
    let worker = a_worker(&runner).register(Chain::<1>::default()).spawn();
    assert_eq!(run.result().await.expect("finishes"), chain(3));
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "not before the lease expired"
    );
    assert_eq!(worker.stop().await.finished, 1);
    let late = store.renew(run.id(), &dead).await;
    assert!(matches!(late, Err(Error::LeaseLost { .. })), "{late:?}");
}

pub(crate) async fn runs_are_cancelled_by_id(fixture: Fixture) {
    // Renewed every 200 ms, where the cancel request is seen; long enough that a renewal a
    // busy machine delays does not lose it.
    let runner = Runner::new(fixture.store)
        .owner("test")
        .lease(Duration::from_millis(600));
    // Waiting for a worker: cancelled at once, and never picked up.
    let waiting = runner.submit::<Chain>(1).await.expect("submits");
    assert_eq!(
        runner.cancel(waiting.id()).await.expect("cancels"),
        Cancel::Cancelled
    );
    let result = waiting.result().await;
    assert!(
        matches!(result, Err(Error::RunCancelled { .. })),
        "{result:?}"
    );

    // Running, in the middle of a step that never ends: stopped at the next renewal.
    let hanging = runner.submit::<Chain>(2).await.expect("submits");
    let worker = a_worker(&runner)
        .register(Chain::<1>::hanging_at(1))
        .spawn();
    until("the run hangs in its second step", async || {
        let info = hanging.status().await.expect("reads");
        info.step == "second" && info.owner.is_some()
    })
    .await;
    assert_eq!(
        runner.cancel(hanging.id()).await.expect("cancels"),
        Cancel::Requested
    );
    let result = hanging.result().await;
    assert!(
        matches!(result, Err(Error::RunCancelled { .. })),
        "{result:?}"
    );
    let info = hanging.status().await.expect("reads");
    assert_eq!((info.status, info.owner), (RunStatus::Cancelled, None));
    let report = worker.stop().await;
    assert_eq!((report.failed, report.released), (1, 0), "{report:?}");

    // A cancelled run does not run again; cancelling an ended run changes nothing.
    let resumed = runner.resume(&Chain::<1>::default(), hanging.id()).await;
    assert!(
        matches!(resumed, Err(Error::RunCancelled { .. })),
        "{resumed:?}"
    );
    assert_eq!(
        runner.cancel(hanging.id()).await.expect("a no-op"),
        Cancel::Ended(RunStatus::Cancelled)
    );
    let done = runner.start(&Chain::<1>::default(), 5).await.expect("runs");
    let again = runner.cancel(done.id).await.expect("a no-op");
    assert_eq!(again, Cancel::Ended(RunStatus::Finished));
    let unknown = runner.cancel(RunId::new()).await;
    assert!(
        matches!(unknown, Err(Error::RunNotFound { .. })),
        "{unknown:?}"
    );
}

pub(crate) async fn a_stopping_worker_gives_its_runs_back(fixture: Fixture) {
    let runner = Runner::new(fixture.store).owner("test");
    let run = runner.submit::<Chain>(6).await.expect("submits");
    let stuck = a_worker(&runner)
        .register(Chain::<1>::hanging_at(2))
        .grace(Duration::from_millis(50))
        .spawn();
    until("the run hangs in its third step", async || {
        let info = run.status().await.expect("reads");
        info.step == "third" && info.owner.is_some()
    })
    .await;
    let report = stuck.stop().await;
    assert_eq!(report.released, 1, "{report:?}");
    let info = run.status().await.expect("reads");
    assert_eq!((info.status, info.owner), (RunStatus::Running, None));

    // Another worker takes it over at once, from its third step.
    let started = Instant::now();
    let next = a_worker(&runner).register(Chain::<1>::default()).spawn();
    assert_eq!(run.result().await.expect("finishes"), chain(6));
    assert!(started.elapsed() < Duration::from_secs(5));
    let steps = runner.history(run.id()).await.expect("history");
    assert_eq!(steps.len(), 4);
    next.stop().await;
}

pub(crate) async fn an_answered_pause_is_driven_by_a_worker(fixture: Fixture) {
    let runner = Runner::new(fixture.store).owner("test");
    let paused = runner
        .start(&Approval::default(), "workers".into())
        .await
        .expect("starts");
    let token = paused.outcome.pause().and_then(|pause| pause.token());
    let token = token.expect("a durable pause has a token");
    let wrong = runner
        .submit_answer_json::<Approval>(token, serde_json::json!("yes"))
        .await;
    assert!(matches!(wrong, Err(Error::AnswerValue { .. })), "{wrong:?}");
    let decision = Decision {
        approved: true,
        note: "ok".into(),
    };
    let handle = runner
        .submit_answer::<Approval, _>(token, decision.clone())
        .await
        .expect("answers");
    // Saved, not driven: it waits for a worker.
    let info = handle.status().await.expect("reads");
    assert_eq!((info.status, info.owner), (RunStatus::Running, None));
    assert_eq!(handle.try_result().await.expect("reads"), None);
    let again = runner.submit_answer::<Approval, _>(token, decision).await;
    assert!(
        matches!(again, Err(Error::AlreadyAnswered { repeated: true, .. })),
        "{again:?}"
    );

    let worker = a_worker(&runner).register(Approval::default()).spawn();
    let published = handle.result().await.expect("finishes");
    assert_eq!(published, "published: a draft on workers (ok)");
    assert_eq!(worker.stop().await.finished, 1);
}

pub(crate) async fn an_answer_recorded_without_the_code_is_given_by_a_worker(fixture: Fixture) {
    let runner = Runner::new(fixture.store).owner("test");
    let paused = runner
        .start(&Approval::default(), "tools".into())
        .await
        .expect("starts");
    let token = paused.outcome.pause().and_then(|pause| pause.token());
    let token = token.expect("a durable pause has a token");
    // Not a `Decision`: recorded (the tool cannot tell), refused by the worker.
    runner
        .record_answer(token, &serde_json::json!("yes"))
        .await
        .expect("records");
    let twice = runner.record_answer(token, &serde_json::json!("yes")).await;
    assert!(
        matches!(twice, Err(Error::AlreadyAnswered { repeated: true, .. })),
        "{twice:?}"
    );
    let worker = a_worker(&runner).register(Approval::default()).spawn();
    until("the worker refuses the answer", async || {
        let log = runner.events(paused.id, 0, 100).await.expect("reads");
        log.iter()
            .any(|entry| entry.event.contains("answer_rejected"))
    })
    .await;
    let info = runner.status(paused.id).await.expect("reads");
    assert_eq!(
        (info.status, info.version),
        (RunStatus::Suspended, token.seq)
    );
    let log = runner.events(paused.id, 0, 100).await.expect("reads");
    let refused = log
        .iter()
        .find(|entry| entry.event.contains("answer_rejected"));
    let refused = refused.expect("logged").event.clone();
    assert!(refused.contains("Decision"), "{refused}");

    // Another answer can then be recorded, and this one is given.
    let decision = serde_json::json!({"approved": true, "note": "ok"});
    runner
        .record_answer(token, &decision)
        .await
        .expect("records again");
    let handle = runner.handle::<Approval>(paused.id);
    let published = handle.result().await.expect("finishes");
    assert_eq!(published, "published: a draft on tools (ok)");
    let late = runner.record_answer(token, &decision).await;
    assert!(
        matches!(late, Err(Error::AlreadyAnswered { .. })),
        "{late:?}"
    );
    let finished = runner
        .record_answer(
            PauseToken::new(paused.id, handle.status().await.expect("reads").version),
            &decision,
        )
        .await;
    assert!(
        matches!(
            finished,
            Err(Error::RunNotSuspended {
                status: "finished",
                ..
            })
        ),
        "{finished:?}"
    );
    let unknown = runner
        .record_answer(PauseToken::new(RunId::new(), 0), &decision)
        .await;
    assert!(
        matches!(unknown, Err(Error::RunNotFound { .. })),
        "{unknown:?}"
    );
    worker.stop().await;
}

pub(crate) async fn definitions_are_recorded_once(fixture: Fixture) {
    let store = Arc::clone(&fixture.store);
    let runner = Runner::new(fixture.store).owner("test");
    assert_eq!(store.definition("Approval", 7).await.expect("reads"), None);
    runner
        .start(&Approval::default(), "definitions".into())
        .await
        .expect("starts");
    let recorded = store.definition("Approval", 7).await.expect("reads");
    let recorded = recorded.expect("recorded by the run's creator");
    assert_eq!(recorded, WorkflowDefinition::of::<Approval>());
    assert_eq!(recorded.steps, ["draft", "approve", "publish"]);
    assert!(recorded.mermaid.contains("approve --> publish"));
    let pause = recorded.pause("approve").expect("its pause");
    assert_eq!(pause.value_type, "Decision");
    let schema = pause.schema.as_ref().expect("a schema");
    assert_eq!(schema["properties"]["approved"]["type"], "boolean");

    // Once per name and fingerprint: another text under the same key is ignored.
    let mut changed = WorkflowDefinition::of::<Approval>();
    changed.mermaid = "flowchart TD\n  changed\n".into();
    store.save_definition(changed).await.expect("saves");
    let kept = store.definition("Approval", 7).await.expect("reads");
    assert_eq!(kept.expect("kept").mermaid, recorded.mermaid);
    assert_eq!(store.definition("Approval", 8).await.expect("reads"), None);

    // A worker records what it serves when it starts.
    let worker = a_worker(&runner).register(Chain::<1>::default()).spawn();
    until("the worker records `Chain`", async || {
        let name = <Chain as workflow_runtime::Workflow>::NAME;
        let print = <Chain as workflow_runtime::Workflow>::FINGERPRINT;
        store
            .definition(name, print)
            .await
            .expect("reads")
            .is_some()
    })
    .await;
    worker.stop().await;
}

pub(crate) async fn a_cancel_whose_worker_died_is_completed(fixture: Fixture) {
    let store = Arc::clone(&fixture.store);
    let runner = Runner::new(fixture.store).owner("test");
    let run = runner.submit::<Chain>(1).await.expect("submits");
    // Its worker takes it, is asked to stop, and dies before it sees the request.
    // Long enough to be held still when the cancel comes, on a busy machine.
    let short = Duration::from_secs(1);
    let dead = Lease::new("dead", short);
    store.claim(run.id(), &dead).await.expect("claims");
    let cancel = runner.cancel(run.id()).await.expect("cancels");
    assert_eq!(cancel, Cancel::Requested);
    tokio::time::sleep(short + Duration::from_millis(50)).await;
    // The next claim records it as cancelled, rather than pick it up or leave it running.
    let types = [WorkflowType::new("Chain", 1)];
    let lease = Lease::new("worker", Duration::from_secs(5));
    let next = store.claim_next(&types, &lease).await.expect("claims");
    assert!(next.is_none(), "{next:?}");
    let result = run.result().await;
    assert!(
        matches!(result, Err(Error::RunCancelled { .. })),
        "{result:?}"
    );
    let info = run.status().await.expect("reads");
    assert_eq!((info.owner, info.lease_expires), (None, None));
}

/// A worker woken by the announcement of one run claims that run alone: if it is free and
/// of the worker's types; a run of another workflow, or taken already, is none.
pub(crate) async fn an_announced_run_is_claimed_if_free_and_served(fixture: Fixture) {
    let store = Arc::clone(&fixture.store);
    let runner = Runner::new(fixture.store).owner("test");
    let run = runner.submit::<Chain>(1).await.expect("submits").id();
    let lease = Lease::new("worker", Duration::from_secs(5));
    let others = [WorkflowType::new("Other", 1)];
    let none = store.claim_announced(run, &others, &lease).await;
    assert!(none.expect("claims").is_none(), "another workflow's");
    let types = [WorkflowType::new("Chain", 1)];
    let claimed = store.claim_announced(run, &types, &lease).await;
    let (info, latest) = claimed.expect("claims").expect("free and served");
    assert_eq!(
        (info.id, info.owner.as_deref(), latest.seq),
        (run, Some("worker"), 0)
    );
    let late = Lease::new("late", Duration::from_secs(5));
    let taken = store.claim_announced(run, &types, &late).await;
    assert!(taken.expect("claims").is_none(), "taken already");
}

/// A worker that always finds a run ready still takes up a run whose time has come: its
/// claims search the whole queue every so often (on Postgres at least every 100 ms; the other
/// stores at every claim), not only for the oldest ready run.
pub(crate) async fn a_busy_worker_s_claims_still_find_a_run_whose_time_has_come(fixture: Fixture) {
    let store = Arc::clone(&fixture.store);
    let runner = Runner::new(fixture.store).owner("test");
    let sleeper = runner.submit::<Chain>(1).await.expect("submits").id();
    let lease = Lease::new("worker", Duration::from_secs(30));
    store.claim(sleeper, &lease).await.expect("claims");
    let wakes = std::time::SystemTime::now() + Duration::from_millis(200);
    store
        .release_until(sleeper, &lease, wakes)
        .await
        .expect("sleeps");
    // More ready runs than a claim every 20 ms gets through before the sleeper's time and a
    // search's interval.
    const READY: usize = 60;
    for _ in 0..READY {
        runner.submit::<Chain>(1).await.expect("submits");
    }
    let types = [WorkflowType::new("Chain", 1)];
    let mut ready = 0;
    loop {
        let next = Lease::new("busy", Duration::from_secs(30));
        let claimed = store.claim_next(&types, &next).await.expect("claims");
        match claimed {
            Some((info, _)) if info.id == sleeper => break,
            Some(_) => ready += 1,
            None => {}
        }
        assert!(ready < READY, "the sleeping run waited for every ready run");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A run whose lease is given up after a later run was taken is taken up again: on Postgres a
/// busy store's claim looks for a ready run after the last it took, and when there is none
/// there it searches the whole queue (as it does at least every 100 ms).
pub(crate) async fn a_run_given_up_behind_the_last_one_taken_is_taken_again(fixture: Fixture) {
    let store = Arc::clone(&fixture.store);
    let runner = Runner::new(fixture.store).owner("test");
    let first = runner.submit::<Chain>(1).await.expect("submits").id();
    let second = runner.submit::<Chain>(1).await.expect("submits").id();
    let types = [WorkflowType::new("Chain", 1)];
    let mut taken = Vec::new();
    for _ in 0..2 {
        let lease = Lease::new("worker", Duration::from_secs(30));
        let claimed = store.claim_next(&types, &lease).await.expect("claims");
        let (info, _) = claimed.expect("a ready run");
        taken.push((info.id, lease));
    }
    let ids: Vec<RunId> = taken.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, [first, second], "oldest first");
    store
        .release(first, &taken[0].1, None)
        .await
        .expect("gives the lease up");
    let lease = Lease::new("worker", Duration::from_secs(30));
    let claimed = store.claim_next(&types, &lease).await.expect("claims");
    let (info, _) = claimed.expect("the run given up");
    assert_eq!(info.id, first);
}
