//! Saves of many runs at once on one store, as a worker driving many runs makes them: each
//! is checked and written as it would be alone (a `PostgresStore` writes the saves that come
//! while another is in flight in one statement).

use std::time::{Duration, UNIX_EPOCH};

use futures_util::future::join_all;
use workflow_runtime::store::{Cancel, Checkpoint, CheckpointStore, Lease, NewEvent, RunStatus};
use workflow_runtime::{Error, RunId, Runner};

use crate::stores::Fixture;
use crate::workflows::Chain;

const RUNS: usize = 24;

/// `RUNS` runs of `Chain`, each claimed under a lease of its own, with its first checkpoint.
async fn claimed(store: &std::sync::Arc<dyn CheckpointStore>) -> Vec<(RunId, Lease, Checkpoint)> {
    let runner = Runner::new(store.clone());
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        let id = runner.create::<Chain>(1).await.expect("created");
        let lease = Lease::new("worker", Duration::from_secs(30));
        let (_, first) = store.claim(id, &lease).await.expect("claims");
        runs.push((id, lease, first));
    }
    runs
}

/// Checkpoint `seq` of the run of `first`, its state telling run `index` and `seq` apart.
fn next(first: &Checkpoint, index: usize, seq: u64) -> Checkpoint {
    Checkpoint {
        seq,
        state: format!(r#"{{"first":{}}}"#, index * 100 + seq as usize),
        ..first.clone()
    }
}

/// The events run `index` logs with checkpoint `seq`: two for an even run, none for an odd.
fn events(index: usize, seq: u64) -> Vec<NewEvent> {
    match index % 2 {
        0 => (0..2)
            .map(|n| {
                let at = UNIX_EPOCH + Duration::from_millis(1_000 * seq + n);
                NewEvent::new(at, format!(r#"{{"type":"r{index}s{seq}e{n}"}}"#))
            })
            .collect(),
        _ => Vec::new(),
    }
}

pub(crate) async fn saves_of_many_runs_at_once_are_each_checked(fixture: Fixture) {
    let store = fixture.store;
    let runs = claimed(&store).await;
    // Three saves that must be refused, each for its own reason.
    let (stranger, cancelled, skipping) = (3, 5, 7);
    let other = Lease::new("stranger", Duration::from_secs(30));
    assert_eq!(
        store.cancel(runs[cancelled].0).await.expect("cancels"),
        Cancel::Requested
    );
    let saves = runs.iter().enumerate().map(|(index, (_, lease, first))| {
        let lease = if index == stranger { &other } else { lease };
        let seq = if index == skipping { 2 } else { 1 };
        store.save_logged(lease, next(first, index, seq), events(index, seq))
    });
    let saved = join_all(saves).await;

    for (index, ((id, _, _), saved)) in runs.iter().zip(&saved).enumerate() {
        let id = *id;
        match index {
            i if i == stranger => assert!(
                matches!(saved, Err(Error::LeaseLost { run }) if *run == id),
                "{saved:?}"
            ),
            i if i == cancelled => assert!(
                matches!(saved, Err(Error::RunCancelled { run }) if *run == id),
                "{saved:?}"
            ),
            i if i == skipping => assert!(
                matches!(saved, Err(Error::VersionConflict { run, expected: 1, found: 0 }) if *run == id),
                "{saved:?}"
            ),
            _ => assert!(saved.is_ok(), "run {index}: {saved:?}"),
        }
    }

    // Then every run that saved, its next checkpoint, all at once again: the log goes on.
    let going: Vec<_> = (0..RUNS)
        .filter(|index| ![stranger, cancelled, skipping].contains(index))
        .collect();
    let saves = going.iter().map(|&index| {
        let (_, lease, first) = &runs[index];
        store.save_logged(lease, next(first, index, 2), events(index, 2))
    });
    for saved in join_all(saves).await {
        saved.expect("saved");
    }
    // And every one of them ends, all at once: the lease is given up.
    let ends = going.iter().map(|&index| {
        let (_, lease, first) = &runs[index];
        let end = Checkpoint {
            status: RunStatus::Finished,
            ..next(first, index, 3)
        };
        store.save_logged(lease, end, events(index, 3))
    });
    for saved in join_all(ends).await {
        saved.expect("saved");
    }

    for (index, (id, _, first)) in runs.iter().enumerate() {
        let id = *id;
        let info = store.run(id).await.expect("run");
        let latest = store.checkpoint(id, None).await.expect("latest");
        let log = store.events(id, 0, 10).await.expect("log");
        let logged: Vec<_> = log
            .iter()
            .map(|entry| (entry.seq, entry.event.as_str()))
            .collect();
        if !going.contains(&index) {
            assert_eq!(
                (info.version, latest.state.as_str()),
                (0, first.state.as_str())
            );
            assert!(logged.is_empty(), "{logged:?}");
            continue;
        }
        assert_eq!(
            (info.version, info.status, info.owner),
            (3, RunStatus::Finished, None),
            "run {index}"
        );
        for seq in [1, 2, 3] {
            let checkpoint = store.checkpoint(id, Some(seq)).await.expect("checkpoint");
            assert_eq!(checkpoint.state, next(first, index, seq).state);
            assert_eq!(checkpoint.step, first.step);
        }
        let want: Vec<String> = [1, 2, 3]
            .into_iter()
            .flat_map(|seq| events(index, seq))
            .map(|event| event.event)
            .collect();
        let numbered: Vec<_> = (0..).zip(want.iter().map(String::as_str)).collect();
        assert_eq!(logged, numbered, "run {index}");
    }
}

pub(crate) async fn saves_behind_one_given_up_are_written(fixture: Fixture) {
    let store = fixture.store;
    let runs = claimed(&store).await;
    let (id, lease, first) = &runs[0];
    // The first save is sent, then given up while the others wait behind it.
    let mut given_up = store.save_logged(lease, next(first, 0, 1), events(0, 1));
    let _ = futures_util::poll!(&mut given_up);
    let mut rest = join_all(
        runs[1..]
            .iter()
            .enumerate()
            .map(|(index, (_, lease, first))| {
                store.save_logged(lease, next(first, index + 1, 1), events(index + 1, 1))
            }),
    );
    let _ = futures_util::poll!(&mut rest);
    drop(given_up);
    let saved = tokio::time::timeout(Duration::from_secs(30), rest)
        .await
        .expect("the saves behind the one given up are written");
    for saved in saved {
        saved.expect("saved");
    }
    for (index, (id, _, _)) in runs.iter().enumerate().skip(1) {
        assert_eq!(store.run(*id).await.expect("run").version, 1, "run {index}");
    }
    // The one given up was sent: written or not, as a whole.
    let info = store.run(*id).await.expect("run");
    let log = store.events(*id, 0, 10).await.expect("log");
    match info.version {
        0 => assert!(log.is_empty()),
        1 => assert_eq!(log.len(), 2),
        other => panic!("version {other}"),
    }
}

/// On Postgres the saves that came while the first was in flight went in one statement: the
/// rows of checkpoint 1 were written by two transactions (a save alone writes its own).
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_writes_the_saves_that_come_together_in_one_statement() {
    let Some(url) = crate::stores::postgres_url() else {
        return;
    };
    let (runner, client, _) = crate::stores::postgres_schema(&url).await;
    let store = runner.store().clone();
    let runs = claimed(&store).await;
    let saves = runs.iter().enumerate().map(|(index, (_, lease, first))| {
        store.save_logged(lease, next(first, index, 1), events(index, 1))
    });
    for saved in join_all(saves).await {
        saved.expect("saved");
    }
    let row = client
        .query_one(
            "SELECT count(*), count(DISTINCT xmin::text) FROM workflow_checkpoints WHERE seq = 1",
            &[],
        )
        .await
        .expect("reads");
    let (rows, transactions): (i64, i64) = (row.get(0), row.get(1));
    assert_eq!((rows, transactions), (RUNS as i64, 2));
}

/// On Postgres a run created before version 11, whose row does not know where its log ends,
/// is saved alone when its save comes with others: its new events are numbered after the
/// ones it logged before, and the others still go in one statement.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_run_whose_log_end_is_unknown_goes_on_from_its_old_log() {
    let Some(url) = crate::stores::postgres_url() else {
        return;
    };
    let (runner, client, _) = crate::stores::postgres_schema(&url).await;
    let store = runner.store().clone();
    let runs = claimed(&store).await;
    // Every fourth run logs with its saves (an even run) and has two events logged as
    // versions before 11 logged them: a row each, and no end of the log on its row.
    let old: Vec<uuid::Uuid> = runs
        .iter()
        .step_by(4)
        .map(|(id, _, _)| *id.as_uuid())
        .collect();
    for run in &old {
        for seq in 0..2_i64 {
            let event = format!(r#"{{"type":"old{seq}"}}"#);
            client
                .execute(
                    "INSERT INTO workflow_events (run, seq, at, event) VALUES ($1, $2, $2, $3)",
                    &[run, &seq, &event],
                )
                .await
                .expect("writes an old row");
        }
    }
    client
        .execute(
            "UPDATE workflow_runs SET log_next = NULL WHERE id = ANY($1)",
            &[&old],
        )
        .await
        .expect("forgets where the logs end");

    let saves = runs.iter().enumerate().map(|(index, (_, lease, first))| {
        store.save_logged(lease, next(first, index, 1), events(index, 1))
    });
    for saved in join_all(saves).await {
        saved.expect("saved");
    }

    for (index, (id, _, first)) in runs.iter().enumerate() {
        let log = store.events(*id, 0, 10).await.expect("log");
        let logged: Vec<_> = log
            .iter()
            .map(|entry| (entry.seq, entry.event.as_str()))
            .collect();
        let new: Vec<String> = events(index, 1).into_iter().map(|e| e.event).collect();
        let want: Vec<(u64, &str)> = match old.contains(id.as_uuid()) {
            true => [r#"{"type":"old0"}"#, r#"{"type":"old1"}"#]
                .into_iter()
                .chain(new.iter().map(String::as_str))
                .enumerate()
                .map(|(seq, event)| (seq as u64, event))
                .collect(),
            false => (0..).zip(new.iter().map(String::as_str)).collect(),
        };
        assert_eq!(logged, want, "run {index}");
        let saved = store.checkpoint(*id, Some(1)).await.expect("checkpoint");
        assert_eq!(saved.state, next(first, index, 1).state, "run {index}");
    }
    // The first save went alone, the others together but for the old runs behind it, each
    // of which went again alone.
    let row = client
        .query_one(
            "SELECT count(DISTINCT xmin::text) FROM workflow_checkpoints WHERE seq = 1",
            &[],
        )
        .await
        .expect("reads");
    let transactions: i64 = row.get(0);
    assert_eq!(transactions, 2 + old.len() as i64 - 1);
    let log_ends = client
        .query_one(
            "SELECT count(*) FROM workflow_runs WHERE id = ANY($1) AND log_next = 4",
            &[&old],
        )
        .await
        .expect("reads");
    let known: i64 = log_ends.get(0);
    assert_eq!(
        known,
        old.len() as i64,
        "the old runs' rows now know their log's end"
    );
}
