//! One writer per run: leases, takeovers, stale writes, concurrent resumes.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::Notify;
use workflow_runtime::store::{Cancel, Checkpoint, Lease, RunStatus};
use workflow_runtime::{Error, Outcome, Runner};

use crate::stores::Fixture;
use crate::workflows::Chain;

/// Stops `run` after `after` as a crash would: it is never polled again, and never dropped
/// either (a dropped run gives up its lease), so its lease is left to expire.
pub(crate) async fn crash<F: std::future::Future>(after: Duration, run: F) {
    let mut run = Box::pin(run);
    let stopped = tokio::time::timeout(after, run.as_mut()).await;
    assert!(stopped.is_err(), "the run should still be in its step");
    std::mem::forget(run);
}

/// Runs `run` until `hung` says its step that never finishes has started (what came before
/// it saved), and hands it back, still in that step. Not a fixed time: on a busy machine the
/// steps before may take longer than any.
pub(crate) async fn until_hung<F: std::future::Future>(
    hung: &Notify,
    run: F,
) -> std::pin::Pin<Box<F>> {
    let mut run = Box::pin(run);
    let reached = async {
        tokio::select! {
            () = hung.notified() => {}
            _ = run.as_mut() => panic!("the run should still be in its step"),
        }
    };
    tokio::time::timeout(Duration::from_secs(30), reached)
        .await
        .expect("the run reaches its step that never finishes");
    run
}

/// Runs `run` until its step that never finishes has started ([`until_hung`]), then
/// "crashes" it as [`crash`] does.
pub(crate) async fn crash_when<F: std::future::Future>(hung: &Notify, run: F) {
    std::mem::forget(until_hung(hung, run).await);
}

fn owned_by(error: &Error, who: &str) -> bool {
    matches!(error, Error::RunOwned { owner, .. } if owner == who)
}

pub(crate) async fn a_crashed_run_runs_no_completed_step_again(fixture: Fixture) {
    // Live still for the two reads after the crash, on a busy machine.
    let lease = Duration::from_secs(1);
    let runner = Runner::new(fixture.store.clone())
        .owner("first")
        .lease(lease);
    let id = runner.create::<Chain>(1).await.expect("created");
    let crashed = Chain::<1>::hanging_at(1);
    crash_when(&crashed.hung, runner.resume(&crashed, id)).await;
    assert_eq!(crashed.runs(), [1, 1, 0]);
    let info = runner.status(id).await.expect("status");
    assert_eq!(
        (info.status, info.step.as_str(), info.version),
        (RunStatus::Running, "second", 1)
    );
    assert_eq!(info.owner.as_deref(), Some("first"));
    assert!(info.is_owned(SystemTime::now()));

    let other = Runner::new(fixture.store).owner("second").lease(lease);
    let fresh = Chain::<1>::default();
    let refused = other
        .resume(&fresh, id)
        .await
        .expect_err("the lease is live");
    assert!(owned_by(&refused, "first"), "{refused:?}");
    assert!(
        refused.to_string().contains("owned by worker `first`"),
        "{refused}"
    );
    assert_eq!(fresh.runs(), [0, 0, 0]);

    tokio::time::sleep(lease + Duration::from_millis(100)).await;
    let run = other.resume(&fresh, id).await.expect("the lease expired");
    assert_eq!(run.into_output().expect("finished"), 27);
    assert_eq!(
        fresh.runs(),
        [0, 1, 1],
        "only the step in flight runs again"
    );
}

pub(crate) async fn a_long_step_keeps_its_lease(fixture: Fixture) {
    // Renewed every 200 ms: a renewal a busy machine delays by less than the lease keeps it.
    let lease = Duration::from_millis(600);
    let slow = Runner::new(fixture.store.clone())
        .owner("slow")
        .lease(lease);
    let id = slow.create::<Chain>(1).await.expect("created");
    let chain = Arc::new(Chain::<1>::sleeping(Duration::from_millis(900)));
    let task = tokio::spawn({
        let (slow, chain) = (slow.clone(), Arc::clone(&chain));
        async move { slow.resume(&*chain, id).await }
    });
    let other = Runner::new(fixture.store).owner("other").lease(lease);
    let idle = Chain::<1>::default();
    let mut refusals = 0;
    while !task.is_finished() {
        tokio::time::sleep(Duration::from_millis(100)).await;
        match other.resume(&idle, id).await {
            Err(error) if owned_by(&error, "slow") => refusals += 1,
            Ok(run) => assert!(run.outcome.output().is_some(), "only once finished"),
            Err(error) => panic!("{error:?}"),
        }
    }
    let run = task.await.expect("no panic").expect("resumes");
    assert_eq!(run.into_output().expect("finished"), 27);
    assert_eq!(chain.runs(), [1, 1, 1]);
    assert_eq!(idle.runs(), [0, 0, 0], "never two writers");
    assert!(
        refusals >= 8,
        "steps of 900 ms outlive a 600 ms lease: {refusals} refusals"
    );
}

pub(crate) async fn expired_leases_are_taken_over_and_stale_writes_rejected(fixture: Fixture) {
    let store = fixture.store;
    let id = Runner::new(store.clone())
        .create::<Chain>(1)
        .await
        .expect("created");
    // Long enough to be held still at the next claim on a busy machine.
    let short = Duration::from_secs(1);
    let a = Lease::new("a", short);
    let (info, latest) = store.claim(id, &a).await.expect("claims");
    assert_eq!(
        (info.owner.as_deref(), info.version, latest.seq),
        (Some("a"), 0, 0)
    );

    let b = Lease::new("b", Duration::from_secs(30));
    match store.claim(id, &b).await {
        Err(Error::RunOwned {
            run,
            owner,
            expires_in,
        }) => {
            assert_eq!((run, owner.as_str()), (id, "a"));
            assert!(expires_in <= short, "{expires_in:?}");
        }
        other => panic!("{other:?}"),
    }
    tokio::time::sleep(short + Duration::from_millis(100)).await;
    let (info, _) = store
        .claim(id, &b)
        .await
        .expect("takes the expired lease over");
    assert_eq!(info.owner.as_deref(), Some("b"));

    let next = |seq| Checkpoint {
        seq,
        created_at: SystemTime::now(),
        ..latest.clone()
    };
    let lost = |error: Error| matches!(error, Error::LeaseLost { run } if run == id);
    assert!(lost(store.save(&a, next(1)).await.expect_err("stale")));
    assert!(lost(store.renew(id, &a).await.expect_err("stale")));
    assert!(lost(store.release(id, &a, None).await.expect_err("stale")));
    store.save(&b, next(1)).await.expect("the owner writes");
    match store.save(&b, next(1)).await {
        Err(Error::VersionConflict {
            run,
            expected: 0,
            found: 1,
        }) if run == id => {}
        other => panic!("{other:?}"),
    }
    match store.save(&b, next(5)).await {
        Err(Error::VersionConflict {
            expected: 4,
            found: 1,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    store.renew(id, &b).await.expect("renews");
    assert_eq!(store.history(id).await.expect("history").len(), 2);
    store.release(id, &b, None).await.expect("releases");
    let info = store.run(id).await.expect("run");
    assert_eq!(
        (info.owner, info.lease_expires, info.status),
        (None, None, RunStatus::Running)
    );
    assert!(lost(
        store.release(id, &b, None).await.expect_err("released")
    ));
}

/// Writes to a run between two of its saves through the same store (a release and another
/// claim, a cancel) are seen by the next save, however fast the store makes a save that
/// follows its own save of the checkpoint before.
pub(crate) async fn a_write_between_saves_is_seen_by_the_next_save(fixture: Fixture) {
    let store = fixture.store;
    let id = Runner::new(store.clone())
        .create::<Chain>(1)
        .await
        .expect("created");
    let a = Lease::new("a", Duration::from_secs(30));
    let (_, latest) = store.claim(id, &a).await.expect("claims");
    let next = |seq| Checkpoint {
        seq,
        created_at: SystemTime::now(),
        ..latest.clone()
    };
    store.save(&a, next(1)).await.expect("saves");
    store.save(&a, next(2)).await.expect("saves");
    store.release(id, &a, None).await.expect("releases");
    let b = Lease::new("b", Duration::from_secs(30));
    store.claim(id, &b).await.expect("claims again");
    match store.save(&a, next(3)).await {
        Err(Error::LeaseLost { run }) if run == id => {}
        other => panic!("a save under the lease given up: {other:?}"),
    }
    store.save(&b, next(3)).await.expect("the owner saves");
    store.save(&b, next(4)).await.expect("the owner saves");
    let cancel = store.cancel(id).await.expect("cancels");
    assert!(matches!(cancel, Cancel::Requested), "{cancel:?}");
    match store.save(&b, next(5)).await {
        Err(Error::RunCancelled { run }) if run == id => {}
        other => panic!("a save after a cancel request: {other:?}"),
    }
    assert_eq!(store.history(id).await.expect("history").len(), 5);
}

/// A step that blocks its thread (no `.await`) cannot renew its lease: another worker takes
/// the run over, and the blocked worker's write after the step is rejected.
pub(crate) async fn a_stale_owner_s_late_write_is_rejected(fixture: Fixture) {
    let lease = Duration::from_millis(200);
    let stale = Runner::new(fixture.store.clone())
        .owner("stale")
        .lease(lease);
    let id = stale.create::<Chain>(1).await.expect("created");
    let blocking = Arc::new(Chain::<1> {
        block: Duration::from_millis(700),
        ..Chain::default()
    });
    let blocked = std::thread::spawn({
        let chain = Arc::clone(&blocking);
        move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            let run = runtime
                .expect("a runtime")
                .block_on(stale.resume(&*chain, id));
            (run, chain.runs())
        }
    });
    // The lease was taken before the step started: it has expired 250 ms after that (timed
    // from the step's start, not the thread's: on a busy machine the thread may start late).
    let deadline = Instant::now() + Duration::from_secs(30);
    while blocking.runs()[0] == 0 {
        assert!(Instant::now() < deadline, "the blocked step never started");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    tokio::time::sleep(lease + Duration::from_millis(250)).await;
    let taker = Runner::new(fixture.store.clone())
        .owner("taker")
        .lease(lease);
    let chain = Chain::<1>::default();
    let run = taker.resume(&chain, id).await.expect("takes the run over");
    assert_eq!(run.into_output().expect("finished"), 27);
    assert_eq!(chain.runs(), [1, 1, 1]);

    let (late, runs) = blocked.join().expect("no panic");
    assert_eq!(runs, [1, 0, 0]);
    match late.expect("claimed").outcome {
        Outcome::Failed(Error::LeaseLost { run }) => assert_eq!(run, id),
        other => panic!("{other:?}"),
    }
    let info = fixture.store.run(id).await.expect("run");
    assert_eq!(
        (info.status, info.version, info.error),
        (RunStatus::Finished, 3, None)
    );
    assert_eq!(fixture.store.history(id).await.expect("history").len(), 4);
}

pub(crate) async fn concurrent_resumes_do_not_fork(fixture: Fixture) {
    let id = Runner::new(fixture.store.clone())
        .create::<Chain>(1)
        .await
        .expect("created");
    let chain = Arc::new(Chain::<1>::sleeping(Duration::from_millis(20)));
    let workers = (0..8).map(|worker| {
        let runner = Runner::new(fixture.store.clone()).owner(format!("worker {worker}"));
        let chain = Arc::clone(&chain);
        tokio::spawn(async move {
            loop {
                match runner.resume(&*chain, id).await {
                    Ok(run) => return run.into_output(),
                    Err(Error::RunOwned { .. }) => {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    Err(error) => return Err(error),
                }
            }
        })
    });
    for worker in workers.collect::<Vec<_>>() {
        assert_eq!(worker.await.expect("no panic").expect("finished"), 27);
    }
    assert_eq!(
        chain.runs(),
        [1, 1, 1],
        "each step ran once: one writer at a time"
    );
    let history = fixture.store.history(id).await.expect("history");
    assert_eq!(
        history.iter().map(|c| c.seq).collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
}
