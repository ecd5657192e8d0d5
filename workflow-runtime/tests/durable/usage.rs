//! What a durable run spent, across pauses, crashes, failures and workers: its report, its
//! events and its budget count the whole run, from the usage saved with its checkpoints.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use workflow_runtime::event::{EventKind, Events};
use workflow_runtime::store::{CheckpointStore, RunFilter, RunId};
use workflow_runtime::usage::{Budget, BudgetLimit, Price, Pricing, UsageTotals};
use workflow_runtime::{Error, Outcome, PauseToken, Report, Runner};

use crate::spenders::{agent, Spender, SpendingFan};
use crate::stores::Fixture;

/// $1 per million input tokens, $2 per million output tokens.
fn pricing() -> Pricing {
    Pricing::new().default_price(Price::new(1.0, 2.0))
}

/// The cost of `input` and `output` tokens at [`pricing`].
fn cost(input: u64, output: u64) -> f64 {
    (input as f64 + 2.0 * output as f64) / 1_000_000.0
}

/// Tokens, calls and cost of `totals`, the cost checked against `usd`.
#[track_caller]
fn assert_spent(totals: &UsageTotals, tokens: u64, calls: u64, usd: f64) {
    assert_eq!(
        (totals.usage.total_tokens(), totals.calls),
        (tokens, calls),
        "{totals:?}"
    );
    assert!(
        (totals.cost_usd - usd).abs() < 1e-12,
        "{totals:?}, not ${usd}"
    );
}

/// The token of the pause `report`'s run waits at.
#[track_caller]
fn token<O: std::fmt::Debug>(report: &Report<O>) -> PauseToken {
    let pause = report.outcome.pause();
    let token = pause.and_then(|pause| pause.token());
    token.unwrap_or_else(|| panic!("a durable pause: {:?}", report.outcome))
}

/// The usage of the last `Completed` or `Failed` event received so far.
fn last_usage(events: &mut Events) -> Option<UsageTotals> {
    let mut last = None;
    while let Some(event) = events.try_recv() {
        match event.kind {
            EventKind::Completed { usage, .. } | EventKind::Failed { usage, .. } => last = usage,
            _ => {}
        }
    }
    last
}

/// A run that spends before its pause, answered by another runner: its report and its
/// `Completed` event give the whole run's tokens, calls and cost, per step too, and every
/// checkpoint saves what the run had spent by then.
pub(crate) async fn usage_adds_up_across_a_pause_and_runners(fixture: Fixture) {
    let first = Runner::new(fixture.store.clone()).pricing(pricing());
    let drafting = Spender::new(agent(&[(600, 500)]));
    let paused = first.start(&drafting, true).await.expect("starts");
    assert!(paused.outcome.pause().is_some(), "{:?}", paused.outcome);
    assert_spent(&paused.usage.total, 1_100, 1, cost(600, 500));

    let second = Runner::new(fixture.store.clone()).pricing(pricing());
    let mut events = second.subscribe();
    let publishing = Spender::new(agent(&[(100, 100)]));
    let done = second
        .answer(&publishing, token(&paused), "fine".to_owned())
        .await
        .expect("answers");
    assert!(done.outcome.output().is_some(), "{:?}", done.outcome);
    let whole = cost(600, 500) + cost(100, 100);
    assert_spent(&done.usage.total, 1_300, 2, whole);
    let draft = done.usage.step("draft").expect("draft's calls");
    assert_spent(draft, 1_100, 1, cost(600, 500));
    let publish = done.usage.step("publish").expect("publish's calls");
    assert_spent(publish, 200, 1, cost(100, 100));
    let completed = last_usage(&mut events).expect("a completed event with usage");
    assert_spent(&completed, 1_300, 2, whole);
    assert_spent(
        &listed_spent(fixture.store.as_ref(), done.id).await,
        1_300,
        2,
        whole,
    );

    let history = second.history(done.id).await.expect("history");
    let tokens: Vec<u64> = history
        .iter()
        .map(|checkpoint| checkpoint.usage.total.usage.total_tokens())
        .collect();
    // Checkpoints before `draft`, at the pause, after the answer, at the end.
    assert_eq!(tokens, [0, 1_100, 1_100, 1_300]);
    assert!(history[0].usage.is_empty());
    let steps: Vec<&str> = history[3]
        .usage
        .steps
        .iter()
        .map(|(step, _)| step.as_str())
        .collect();
    assert_eq!(steps, ["draft", "publish"]);
}

/// A run resumed after a crash counts what it spent up to its last checkpoint (the step in
/// flight runs again, and what it spent before the crash is lost); a run resumed after a
/// failed step also counts what the failed step spent.
pub(crate) async fn usage_survives_a_crash_and_a_failed_step(fixture: Fixture) {
    let lease = Duration::from_millis(300);
    let first = Runner::new(fixture.store.clone())
        .owner("first")
        .lease(lease);
    let id = first.create::<Spender>(false).await.expect("created");
    let crashing = Spender {
        hang_publish: true,
        ..Spender::new(agent(&[(600, 500), (100, 100)]))
    };
    // Long enough for what comes before the hang to be saved, on a busy machine.
    let crashed = tokio::time::timeout(Duration::from_secs(1), first.resume(&crashing, id));
    assert!(crashed.await.is_err(), "the run should hang in `publish`");
    tokio::time::sleep(lease + Duration::from_millis(100)).await;
    let second = Runner::new(fixture.store.clone()).owner("second");
    let mut events = second.subscribe();
    let resumed = second
        .resume(&Spender::new(agent(&[(100, 100)])), id)
        .await
        .expect("the lease expired");
    assert!(resumed.outcome.output().is_some(), "{:?}", resumed.outcome);
    assert_spent(&resumed.usage.total, 1_300, 2, 0.0);
    let completed = last_usage(&mut events).expect("a completed event with usage");
    assert_spent(&completed, 1_300, 2, 0.0);

    let runner = Runner::new(fixture.store.clone()).pricing(pricing());
    let mut events = runner.subscribe();
    let failing = Spender {
        fail_publish: AtomicU32::new(1),
        ..Spender::new(agent(&[(600, 500), (100, 100)]))
    };
    let failed = runner.start(&failing, false).await.expect("starts");
    assert!(failed.outcome.error().is_some(), "{:?}", failed.outcome);
    let spent = cost(600, 500) + cost(100, 100);
    assert_spent(&failed.usage.total, 1_300, 2, spent);
    let event = last_usage(&mut events).expect("a failed event with usage");
    assert_spent(&event, 1_300, 2, spent);

    let other = Runner::new(fixture.store).pricing(pricing());
    let resumed = other
        .resume(&Spender::new(agent(&[(100, 100)])), failed.id)
        .await
        .expect("resumes");
    assert!(resumed.outcome.output().is_some(), "{:?}", resumed.outcome);
    let whole = spent + cost(100, 100);
    assert_spent(&resumed.usage.total, 1_500, 3, whole);
    let publish = resumed.usage.step("publish").expect("publish's calls");
    assert_spent(publish, 400, 2, 2.0 * cost(100, 100));
}

/// 900 of 1,000 tokens spent before a pause: the answered run goes over the budget with its
/// next call, and a run resumed after that fails before it makes another.
pub(crate) async fn a_budget_holds_across_resumes(fixture: Fixture) {
    let budget = Budget::new().max_tokens(1_000);
    let first = Runner::new(fixture.store.clone()).budget(budget);
    let paused = first
        .start(&Spender::new(agent(&[(500, 400)])), true)
        .await
        .expect("starts");
    assert!(paused.outcome.pause().is_some(), "{:?}", paused.outcome);

    let second = Runner::new(fixture.store.clone()).budget(budget);
    let over = second
        .answer(
            &Spender::new(agent(&[(60, 60)])),
            token(&paused),
            "go".to_owned(),
        )
        .await
        .expect("answers");
    match over.outcome {
        Outcome::Failed(Error::BudgetExceeded { limit, used, .. }) => {
            assert_eq!(
                (limit, used),
                (BudgetLimit::Tokens(1_000), BudgetLimit::Tokens(1_020))
            );
        }
        other => panic!("the budget should hold across the pause: {other:?}"),
    }

    let publishing = Spender::new(agent(&[(1, 1)]));
    let again: Report<String> = Runner::new(fixture.store)
        .budget(budget)
        .resume(&publishing, paused.id)
        .await
        .expect("resumes");
    assert!(
        matches!(again.outcome, Outcome::Failed(Error::BudgetExceeded { .. })),
        "{:?}",
        again.outcome
    );
    assert_spent(&again.usage.total, 1_020, 2, 0.0);
}

/// A fork is a new run: it counts what it spends itself, from zero; the run it was forked
/// from keeps its own.
pub(crate) async fn a_fork_counts_from_zero(fixture: Fixture) {
    let runner = Runner::new(fixture.store);
    let done = runner
        .start(&Spender::new(agent(&[(600, 500), (100, 100)])), false)
        .await
        .expect("starts");
    assert_spent(&done.usage.total, 1_300, 2, 0.0);
    // Checkpoint 1 is before `publish`.
    let fork = runner
        .fork(&Spender::new(agent(&[(10, 10)])), done.id, 1)
        .await
        .expect("forks");
    assert!(fork.outcome.output().is_some(), "{:?}", fork.outcome);
    assert_spent(&fork.usage.total, 20, 1, 0.0);
    let first = runner
        .store()
        .checkpoint(fork.id, Some(0))
        .await
        .expect("reads");
    assert!(first.usage.is_empty(), "{:?}", first.usage);
    let original = runner
        .store()
        .checkpoint(done.id, None)
        .await
        .expect("reads");
    assert_eq!(original.usage.total.usage.total_tokens(), 1_300);
}

/// A fan-out resumed after a crash does not run its finished branches again, and does not
/// lose what they spent: it is saved with each of them.
pub(crate) async fn a_resumed_fan_out_keeps_what_its_finished_branches_spent(fixture: Fixture) {
    let lease = Duration::from_millis(300);
    let first = Runner::new(fixture.store.clone()).lease(lease);
    let id = first.create::<SpendingFan>(10).await.expect("created");
    let crashing = SpendingFan {
        agent: agent(&[(100, 100), (100, 100)]),
        hang: vec![2],
        runs: Default::default(),
    };
    // Long enough for what comes before the hang to be saved, on a busy machine.
    let crashed = tokio::time::timeout(Duration::from_secs(1), first.resume(&crashing, id));
    assert!(crashed.await.is_err(), "the run should hang in branch 2");
    tokio::time::sleep(lease + Duration::from_millis(100)).await;
    // Listed in the middle of its fan-out, the run counts what its finished branches spent.
    assert_spent(&listed_spent(fixture.store.as_ref(), id).await, 400, 2, 0.0);

    let fresh = SpendingFan {
        agent: agent(&[(100, 100)]),
        hang: Vec::new(),
        runs: Default::default(),
    };
    let resumed = Runner::new(fixture.store.clone())
        .resume(&fresh, id)
        .await
        .expect("resumes");
    assert_eq!(resumed.outcome.output(), Some(&33), "{:?}", resumed.outcome);
    let runs = fresh
        .runs
        .each_ref()
        .map(|runs| runs.load(Ordering::SeqCst));
    assert_eq!(runs, [0, 0, 1], "only the branch in flight runs again");
    assert_spent(&resumed.usage.total, 600, 3, 0.0);
    let fan = resumed.usage.step("fan").expect("the branches' calls");
    assert_spent(fan, 600, 3, 0.0);
    assert_spent(&listed_spent(fixture.store.as_ref(), id).await, 600, 3, 0.0);
}

/// What run `run` spent, as a listing reads it with the run; the same as its latest
/// checkpoint says.
async fn listed_spent(store: &dyn CheckpointStore, run: RunId) -> UsageTotals {
    let listed = store.list(RunFilter::new()).await.expect("lists");
    let info = listed.runs.into_iter().find(|info| info.id == run);
    let spent = info
        .and_then(|info| info.spent)
        .expect("listed with what it spent");
    let latest = store
        .checkpoint(run, None)
        .await
        .expect("its latest checkpoint");
    assert_eq!(spent, latest.usage_so_far().total);
    spent
}
