//! Keeping history small: a run's checkpoints pruned to its last ones, its history read a page
//! at a time, and old ended runs deleted.

use std::time::{Duration, SystemTime};

use workflow_runtime::store::{
    BranchRecord, Checkpoint, Lease, Retention, RunFilter, RunId, RunStatus, WorkflowType,
};
use workflow_runtime::usage::SavedUsage;
use workflow_runtime::{Error, Outcome, Runner};

use crate::stores::Fixture;
use crate::workflows::{Approval, Chain};

fn seqs(history: &[Checkpoint]) -> Vec<u64> {
    history.iter().map(|checkpoint| checkpoint.seq).collect()
}

fn not_found(error: &Error, id: RunId) -> bool {
    matches!(error, Error::RunNotFound { run } if *run == id)
}

pub(crate) async fn prune_keeps_the_last_checkpoints(fixture: Fixture) {
    let store = fixture.store;
    let runner = Runner::new(store.clone());
    // A running run with checkpoints 0 to 5, written under a lease.
    let id = runner.create::<Chain>(1).await.expect("created");
    let lease = Lease::new("worker", Duration::from_secs(30));
    let (_, first) = store.claim(id, &lease).await.expect("claims");
    let next = |seq| Checkpoint {
        seq,
        ..first.clone()
    };
    for seq in 1..=5 {
        store.save(&lease, next(seq)).await.expect("saves");
    }

    assert_eq!(store.prune(id, 2).await.expect("prunes"), 4);
    assert_eq!(seqs(&store.history(id).await.expect("history")), [4, 5]);
    match store.checkpoint(id, Some(3)).await {
        Err(Error::CheckpointNotFound { run, seq: 3 }) if run == id => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(store.checkpoint(id, None).await.expect("latest").seq, 5);

    // The numbering goes on from the latest.
    store.save(&lease, next(6)).await.expect("saves");
    match store.save(&lease, next(6)).await {
        Err(Error::VersionConflict {
            expected: 5,
            found: 6,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(store.run(id).await.expect("run").version, 6);
    assert_eq!(seqs(&store.history(id).await.expect("history")), [4, 5, 6]);

    // The latest is never deleted.
    assert_eq!(store.prune(id, 0).await.expect("prunes"), 2);
    assert_eq!(store.prune(id, 0).await.expect("prunes"), 0);
    assert_eq!(store.prune(id, u64::MAX).await.expect("prunes"), 0);
    assert_eq!(seqs(&store.history(id).await.expect("history")), [6]);

    let unknown = RunId::new();
    let error = store.prune(unknown, 1).await.expect_err("no such run");
    assert!(not_found(&error, unknown), "{error:?}");

    // A finished run keeps its output, and forks from what is kept.
    let run = runner.start(&Chain::<1>::default(), 1).await.expect("runs");
    assert_eq!(runner.prune_history(run.id, 1).await.expect("prunes"), 3);
    assert_eq!(
        runner.output::<Chain>(run.id).await.expect("reads"),
        Some(27)
    );
    let forked = runner.fork(&Chain::<1>::default(), run.id, 3).await;
    assert_eq!(forked.expect("forks").into_output().expect("finished"), 27);
    let gone = runner.fork(&Chain::<1>::default(), run.id, 1).await;
    assert!(matches!(
        gone,
        Err(Error::CheckpointNotFound { seq: 1, .. })
    ));
}

pub(crate) async fn history_is_read_a_page_at_a_time(fixture: Fixture) {
    let runner = Runner::new(fixture.store);
    let id = runner
        .start(&Chain::<1>::default(), 1)
        .await
        .expect("runs")
        .id;
    let page = |from, limit| {
        let runner = runner.clone();
        async move { seqs(&runner.history_page(id, from, limit).await.expect("a page")) }
    };
    assert_eq!(page(0, 2).await, [0, 1]);
    assert_eq!(page(2, 2).await, [2, 3]);
    assert_eq!(page(1, 2).await, [1, 2]);
    assert_eq!(page(4, 2).await, Vec::<u64>::new());
    assert_eq!(page(0, 0).await, Vec::<u64>::new());
    assert_eq!(page(u64::MAX, 9).await, Vec::<u64>::new());

    // Page by page, the whole history.
    let (mut all, mut from) = (Vec::new(), 0);
    loop {
        let page = runner.history_page(id, from, 3).await.expect("a page");
        all.extend(seqs(&page));
        match page.last() {
            Some(last) if page.len() == 3 => from = last.seq + 1,
            _ => break,
        }
    }
    assert_eq!(all, seqs(&runner.history(id).await.expect("history")));
    assert_eq!(all, [0, 1, 2, 3]);

    // After a prune, the first page starts at the first checkpoint kept.
    runner.prune_history(id, 2).await.expect("prunes");
    assert_eq!(page(0, 10).await, [2, 3]);

    let unknown = RunId::new();
    let error = runner
        .history_page(unknown, 0, 1)
        .await
        .expect_err("no run");
    assert!(not_found(&error, unknown), "{error:?}");
}

pub(crate) async fn a_page_of_history_has_its_own_branches(fixture: Fixture) {
    let store = fixture.store;
    let id = Runner::new(store.clone())
        .create::<Chain>(1)
        .await
        .expect("created");
    let lease = Lease::new("worker", Duration::from_secs(30));
    let (_, first) = store.claim(id, &lease).await.expect("claims");
    let branch = |index| BranchRecord {
        index,
        value: format!("[{index}]"),
        usage: Default::default(),
    };
    // Branches at checkpoints 1 (two) and 3 (one).
    for seq in 1..=4 {
        let checkpoint = Checkpoint {
            seq,
            ..first.clone()
        };
        store.save(&lease, checkpoint).await.expect("saves");
        let indexes: &[u32] = match seq {
            1 => &[0, 1],
            3 => &[0],
            _ => &[],
        };
        for &index in indexes {
            let saved = store.save_branch(&lease, id, seq, branch(index)).await;
            saved.expect("saves the branch");
        }
    }
    let branches = |page: Vec<Checkpoint>| -> Vec<(u64, Vec<u32>)> {
        page.iter()
            .map(|checkpoint| {
                let indexes = checkpoint.branches.iter().map(|b| b.index).collect();
                (checkpoint.seq, indexes)
            })
            .collect()
    };
    let page = |from, limit| store.history_page(id, from, limit);
    assert_eq!(
        branches(page(0, 2).await.expect("a page")),
        [(0, vec![]), (1, vec![0, 1])]
    );
    assert_eq!(
        branches(page(2, 2).await.expect("a page")),
        [(2, vec![]), (3, vec![0])]
    );
    assert_eq!(
        branches(page(3, 9).await.expect("a page")),
        [(3, vec![0]), (4, vec![])]
    );
    assert_eq!(branches(page(5, 9).await.expect("a page")), []);
    let one = store.checkpoint(id, Some(1)).await.expect("checkpoint 1");
    assert_eq!(one.branches, [branch(0), branch(1)]);
    let latest = store.checkpoint(id, None).await.expect("the latest");
    assert_eq!(latest.branches, []);
}

pub(crate) async fn old_ended_runs_are_deleted(fixture: Fixture) {
    let store = fixture.store;
    let runner = Runner::new(store.clone());
    let finished = runner.start(&Chain::<1>::default(), 1).await.expect("runs");
    let failed = runner
        .start(&Chain::<1>::failing_at(1, 9), 1)
        .await
        .expect("runs");
    assert!(matches!(failed.outcome, Outcome::Failed(_)));
    let leased = runner
        .start(&Chain::<1>::failing_at(1, 9), 1)
        .await
        .expect("runs");
    let lease = Lease::new("resuming", Duration::from_secs(30));
    store.claim(leased.id, &lease).await.expect("claims");
    let suspended = runner.start(&Approval::default(), "x".into()).await;
    let suspended = suspended.expect("runs").id;
    let running = runner.create::<Chain>(1).await.expect("created");

    let hour = Duration::from_secs(3600);
    let (past, future) = (SystemTime::now() - hour, SystemTime::now() + hour);
    assert_eq!(
        runner
            .delete_runs(Retention::before(past))
            .await
            .expect("deletes"),
        0
    );
    let old = Retention::older_than(hour).and_failed();
    assert_eq!(runner.delete_runs(old).await.expect("deletes"), 0);

    assert_eq!(
        runner
            .delete_runs(Retention::before(future))
            .await
            .expect("deletes"),
        1
    );
    let error = runner.status(finished.id).await.expect_err("deleted");
    assert!(not_found(&error, finished.id), "{error:?}");
    let error = runner.history(finished.id).await.expect_err("deleted");
    assert!(not_found(&error, finished.id), "{error:?}");

    let and_failed = Retention::before(future).and_failed();
    assert_eq!(runner.delete_runs(and_failed).await.expect("deletes"), 1);
    assert!(runner.status(failed.id).await.is_err());

    // A failed run being resumed is kept until its lease is let go.
    assert_eq!(
        runner.status(leased.id).await.expect("kept").status,
        RunStatus::Failed
    );
    store
        .release(leased.id, &lease, Some("again".into()))
        .await
        .expect("releases");
    assert_eq!(runner.delete_runs(and_failed).await.expect("deletes"), 1);

    let left = runner.list(RunFilter::new()).await.expect("lists");
    let left: Vec<RunId> = left.runs.iter().map(|run| run.id).collect();
    assert_eq!(left, [suspended, running]);
}

/// A worker's retention job deletes ended runs once they are old enough, pass after pass,
/// and leaves a suspended run and the runs not old enough yet.
pub(crate) async fn a_worker_deletes_old_runs_on_an_interval(fixture: Fixture) {
    use std::time::Instant;
    use workflow_runtime::Worker;

    let runner = Runner::new(fixture.store);
    let chain = Chain::<1>::default();
    let old = runner.start(&chain, 1).await.expect("runs").id;
    let paused = runner.start(&Approval::default(), "keep".into()).await;
    let paused = paused.expect("starts").id;
    // The young run is a second from its age when the old one has passed it: time for the
    // first pass to find them on a busy machine, and for this test to look.
    let age = Duration::from_millis(1_200);
    tokio::time::sleep(age + Duration::from_millis(100)).await;
    let young = runner.start(&chain, 2).await.expect("runs").id;
    let worker = Worker::new(runner.clone())
        .retention(Retention::older_than(age), Duration::from_millis(20))
        .spawn();
    let gone = |id| {
        let runner = runner.clone();
        async move { matches!(runner.status(id).await, Err(Error::RunNotFound { .. })) }
    };
    let started = Instant::now();
    while !gone(old).await {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the old run stays"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The first pass took the old run only: the young one is a second from its age.
    assert!(!gone(young).await, "the young run went at once");
    while !gone(young).await {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the young run stays"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let report = worker.stop().await;
    assert_eq!(report.deleted, 2);
    let kept = runner
        .status(paused)
        .await
        .expect("a suspended run is kept");
    assert_eq!(kept.status, RunStatus::Suspended);
}

/// A run claimed again (by id, and as the next run of its type) comes back with its latest
/// checkpoint and the branches saved at it, their usage included, not an older one's.
pub(crate) async fn a_claimed_run_comes_back_with_its_latest_branches(fixture: Fixture) {
    let store = fixture.store;
    let id = Runner::new(store.clone())
        .submit::<Chain>(1)
        .await
        .expect("submits")
        .id();
    let first_lease = Lease::new("first", Duration::from_secs(30));
    let (_, first) = store.claim(id, &first_lease).await.expect("claims");
    let branch = |index: u32, calls: u64| {
        let mut usage = SavedUsage::default();
        usage.total.calls = calls;
        BranchRecord {
            index,
            value: format!("[{index}]"),
            usage,
        }
    };
    // Branches at checkpoint 1 (one) and at checkpoint 2, the latest (three, saved out of
    // order, one of them without usage), each saved while its checkpoint is the latest.
    let saved = [
        vec![branch(0, 7)],
        vec![branch(2, 3), branch(0, 0), branch(1, 5)],
    ];
    for (seq, records) in (1..).zip(saved) {
        let checkpoint = Checkpoint {
            seq,
            state: format!("{seq}"),
            ..first.clone()
        };
        store.save(&first_lease, checkpoint).await.expect("saves");
        for record in records {
            let at = store.save_branch(&first_lease, id, seq, record).await;
            at.expect("saves the branch");
        }
    }
    let latest = vec![branch(0, 0), branch(1, 5), branch(2, 3)];
    // The stores that keep the order of saving (memory) and those that sort (SQL) agree by
    // index.
    let by_index = |checkpoint: &Checkpoint| {
        let mut records = checkpoint.branches.clone();
        records.sort_by_key(|record| record.index);
        records
    };
    store
        .release(id, &first_lease, None)
        .await
        .expect("releases");

    let by_id = Lease::new("by id", Duration::from_secs(30));
    let (info, claimed) = store.claim(id, &by_id).await.expect("claims by id");
    assert_eq!(
        (info.version, claimed.seq, claimed.state.as_str()),
        (2, 2, "2")
    );
    assert_eq!(by_index(&claimed), latest);
    store.release(id, &by_id, None).await.expect("releases");

    let types = [WorkflowType::new("Chain", 1)];
    let next = Lease::new("next", Duration::from_secs(30));
    let (info, claimed) = store
        .claim_next(&types, &next)
        .await
        .expect("claims")
        .expect("the run is free");
    assert_eq!(info.id, id);
    assert_eq!(
        (info.version, claimed.seq, claimed.state.as_str()),
        (2, 2, "2")
    );
    assert_eq!(by_index(&claimed), latest);
    assert_eq!(
        claimed,
        store.checkpoint(id, None).await.expect("the latest")
    );
}
