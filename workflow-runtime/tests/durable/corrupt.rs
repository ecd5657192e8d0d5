//! One cause, one error kind, on every path: a row edited behind the store's back is
//! `CorruptCheckpoint` (naming its run) wherever it is read, or not noticed where it is not
//! read; a database failure is `Store`. Never a lease or version error made up from a value
//! that did not read back.

use std::time::{Duration, SystemTime};

use workflow_runtime::store::{Checkpoint, CheckpointStore, Lease, RunFilter, RunId};
use workflow_runtime::{Error, Runner};

use crate::workflows::Chain;

/// A run of `Chain`, claimed with `lease`, and its checkpoint 0.
pub(crate) async fn claimed(
    store: &dyn CheckpointStore,
    runner: &Runner,
    lease: &Lease,
) -> (RunId, Checkpoint) {
    let id = runner.create::<Chain>(1).await.expect("created");
    let (_, latest) = store.claim(id, lease).await.expect("claims");
    (id, latest)
}

/// What each operation on run `id` answers, reads first, then the writes of `lease`'s holder.
async fn answers(
    store: &dyn CheckpointStore,
    id: RunId,
    lease: &Lease,
    latest: &Checkpoint,
) -> Vec<(&'static str, Result<(), Error>)> {
    let other = Lease::new("other", Duration::from_secs(30));
    let next = Checkpoint {
        seq: latest.seq + 1,
        created_at: SystemTime::now(),
        ..latest.clone()
    };
    vec![
        ("run", store.run(id).await.map(drop)),
        ("history", store.history(id).await.map(drop)),
        ("latest", store.checkpoint(id, None).await.map(drop)),
        (
            "checkpoint 0",
            store.checkpoint(id, Some(0)).await.map(drop),
        ),
        ("claim", store.claim(id, &other).await.map(drop)),
        ("renew", store.renew(id, lease).await),
        ("save", store.save(lease, next).await),
        ("release", store.release(id, lease, None).await),
    ]
}

/// Checks that every answer is `Ok`, the refusal of a claim while the lease is held, or
/// `CorruptCheckpoint` naming `run`; and that those in `corrupt` are `CorruptCheckpoint`.
#[track_caller]
fn assert_corrupt(
    case: &str,
    answers: &[(&'static str, Result<(), Error>)],
    run: Option<RunId>,
    corrupt: &[&str],
) {
    for (path, answer) in answers {
        match answer {
            Err(Error::CorruptCheckpoint { run: named, .. }) => {
                assert_eq!(*named, run, "{case}: {path} names the run: {answer:?}");
            }
            Err(Error::RunOwned { .. }) if *path == "claim" => {}
            Ok(()) if !corrupt.contains(path) => {}
            other => panic!("{case}: {path} should be corrupt or fine: {other:?}"),
        }
    }
}

/// Checks that every answer in `paths` is `Error::Store`.
#[track_caller]
fn assert_store(case: &str, answers: &[(&'static str, Result<(), Error>)], paths: &[&str]) {
    for (path, answer) in answers.iter().filter(|(path, _)| paths.contains(path)) {
        assert!(
            matches!(answer, Err(Error::Store { .. })),
            "{case}: {path} should be a store error: {answer:?}"
        );
    }
}

/// Five runs of `Chain`, oldest first.
pub(crate) async fn five(runner: &Runner) -> Vec<RunId> {
    let mut ids = Vec::new();
    for input in 0..5 {
        ids.push(runner.create::<Chain>(input).await.expect("created"));
    }
    ids
}

/// Checks the listings of five runs `ids` of which runs 1 and 3 were made corrupt: each is
/// reported and the others listed, whole or a page at a time.
pub(crate) async fn assert_listed_around(runner: &Runner, ids: &[RunId]) {
    let named = |errors: &[Error]| -> Vec<Option<RunId>> {
        let run = |error: &Error| match error {
            Error::CorruptCheckpoint { run, .. } => *run,
            other => panic!("not a corrupt row: {other:?}"),
        };
        errors.iter().map(run).collect()
    };
    let all = runner.list(RunFilter::new()).await.expect("lists");
    let runs: Vec<RunId> = all.runs.iter().map(|run| run.id).collect();
    assert_eq!(runs, [ids[0], ids[2], ids[4]]);
    assert_eq!(named(&all.corrupt), [Some(ids[1]), Some(ids[3])]);
    assert_eq!((all.len(), all.last), (5, Some(ids[4])));
    assert!(all.into_runs().is_err(), "all or nothing fails");

    let mut filter = RunFilter::new().limit(2);
    let mut pages = Vec::new();
    loop {
        let page = runner.list(filter.clone()).await.expect("lists");
        let runs: Vec<RunId> = page.runs.iter().map(|run| run.id).collect();
        pages.push((runs, named(&page.corrupt)));
        match page.last {
            Some(last) if page.len() == 2 => filter = filter.after(last),
            _ => break,
        }
    }
    let expected = [
        (vec![ids[0]], vec![Some(ids[1])]),
        (vec![ids[2]], vec![Some(ids[3])]),
        (vec![ids[4]], vec![]),
    ];
    assert_eq!(pages, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_list_reports_corrupt_rows_and_goes_on() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("runs.db");
    let store = workflow_runtime::store::SqliteStore::open(&path).expect("opens");
    let runner = Runner::new(std::sync::Arc::new(store));
    let db = rusqlite::Connection::open(&path).expect("opens");
    let ids = five(&runner).await;
    let edit = |sql: &str, run: RunId| db.execute(sql, [run.to_string()]).expect("edits");
    edit("UPDATE workflow_runs SET status = 7 WHERE id = ?1", ids[1]);
    edit(
        "UPDATE workflow_runs SET version = 'abc' WHERE id = ?1",
        ids[3],
    );
    assert_listed_around(&runner, &ids).await;

    // A row whose id does not read back is reported without an id, after the others.
    let bad = runner.create::<Chain>(9).await.expect("created");
    edit(
        "UPDATE workflow_runs SET id = 'not-a-uuid' WHERE id = ?1",
        bad,
    );
    let all = runner.list(RunFilter::new()).await.expect("lists");
    assert_eq!(
        (all.runs.len(), all.corrupt.len(), all.last),
        (3, 3, Some(ids[4]))
    );
    assert!(matches!(
        all.corrupt[2],
        Error::CorruptCheckpoint { run: None, .. }
    ));
}

/// Edits to a claimed run's rows in the SQLite file (`?1` is its id), and the operations
/// that must find them corrupt.
const SQLITE_EDITS: &[(&str, &[&str])] = &[
    (
        "UPDATE workflow_runs SET version = 'abc' WHERE id = ?1",
        &["run", "history", "latest", "claim", "save"],
    ),
    (
        "UPDATE workflow_runs SET version = -1 WHERE id = ?1",
        &["run", "history", "latest", "claim", "save"],
    ),
    (
        "UPDATE workflow_runs SET lease_expires = 'soon' WHERE id = ?1",
        &["run", "history", "latest", "claim"],
    ),
    (
        "UPDATE workflow_runs SET owner = X'FF00' WHERE id = ?1",
        &["run", "history", "latest", "claim"],
    ),
    (
        "UPDATE workflow_runs SET lease_id = X'00' WHERE id = ?1",
        &["renew", "save", "release"],
    ),
    (
        "UPDATE workflow_runs SET lease_id = CAST(X'FF' AS TEXT) WHERE id = ?1",
        &["renew", "save", "release"],
    ),
    (
        "UPDATE workflow_runs SET parent = 'x', parent_seq = 1 WHERE id = ?1",
        &["run", "history", "latest"],
    ),
    (
        "UPDATE workflow_runs SET status = 7 WHERE id = ?1",
        &["run", "history", "latest"],
    ),
    (
        "UPDATE workflow_checkpoints SET state = X'FF00' WHERE run = ?1",
        &["history", "latest", "checkpoint 0"],
    ),
    (
        "UPDATE workflow_checkpoints SET usage = 'not json' WHERE run = ?1",
        &["history", "latest", "checkpoint 0"],
    ),
    (
        r#"UPDATE workflow_checkpoints SET usage = '{"total": {"calls": -1}}' WHERE run = ?1"#,
        &["history", "latest", "checkpoint 0"],
    ),
    (
        "UPDATE workflow_checkpoints SET usage = 42 WHERE run = ?1",
        &["history", "latest", "checkpoint 0"],
    ),
    (
        "INSERT INTO workflow_branches (run, seq, idx, value, created_at, usage) \
         VALUES (?1, 0, 0, '1', 0, '[\"total\"]')",
        &["history", "latest", "checkpoint 0"],
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_rows_are_corrupt_on_every_path() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("runs.db");
    let store = workflow_runtime::store::SqliteStore::open(&path).expect("opens");
    let runner = Runner::new(std::sync::Arc::new(store));
    let store = runner.store().clone();
    let db = rusqlite::Connection::open(&path).expect("opens");
    for (edit, corrupt) in SQLITE_EDITS {
        let lease = Lease::new("holder", Duration::from_secs(30));
        let (id, latest) = claimed(&*store, &runner, &lease).await;
        db.execute(edit, [id.to_string()]).expect("edits");
        let answers = answers(&*store, id, &lease, &latest).await;
        assert_corrupt(edit, &answers, Some(id), corrupt);
    }

    let lease = Lease::new("holder", Duration::from_secs(30));
    let (id, latest) = claimed(&*store, &runner, &lease).await;
    db.execute_batch("DROP TABLE workflow_checkpoints")
        .expect("drops");
    let answers = answers(&*store, id, &lease, &latest).await;
    let reading = ["history", "latest", "checkpoint 0", "save"];
    assert_store("a dropped table", &answers, &reading);
}

/// On SQLite a checkpoint of a running run, under a lease with most of its time left, does
/// not rewrite the run's row: the run's version and step are read from its latest
/// checkpoint. If that checkpoint does not read back, the run is corrupt; it is never taken
/// back to an older checkpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_corrupt_latest_checkpoint_is_never_skipped() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("runs.db");
    let store = workflow_runtime::store::SqliteStore::open(&path).expect("opens");
    let runner = Runner::new(std::sync::Arc::new(store));
    let store = runner.store().clone();
    let lease = Lease::new("holder", Duration::from_secs(30));
    let (id, latest) = claimed(&*store, &runner, &lease).await;
    for seq in 1..=2 {
        let next = Checkpoint {
            seq,
            created_at: SystemTime::now(),
            ..latest.clone()
        };
        store.save(&lease, next).await.expect("saves");
    }
    let db = rusqlite::Connection::open(&path).expect("opens");
    let row: i64 = db
        .query_row(
            "SELECT version FROM workflow_runs WHERE id = ?1",
            [id.to_string()],
            |row| row.get(0),
        )
        .expect("reads");
    assert_eq!(row, 0, "the run's row was not rewritten");
    let info = store.run(id).await.expect("reads");
    assert_eq!(
        (info.version, info.step.as_str()),
        (2, latest.step.as_ref())
    );
    store.release(id, &lease, None).await.expect("releases");

    db.execute(
        "UPDATE workflow_checkpoints SET step = X'00' WHERE run = ?1 AND seq = 2",
        [id.to_string()],
    )
    .expect("edits");
    let other = Lease::new("other", Duration::from_secs(30));
    let listed = runner.list(RunFilter::new()).await.expect("lists");
    let answers = [
        ("run", store.run(id).await.map(drop)),
        ("claim", store.claim(id, &other).await.map(drop)),
        ("list", listed.into_runs().map(drop)),
    ];
    assert_corrupt(
        "a corrupt latest step",
        &answers,
        Some(id),
        &["run", "claim", "list"],
    );
}

#[cfg(feature = "postgres")]
mod postgres {

    use std::time::Duration;

    use workflow_runtime::store::Lease;

    use super::{answers, assert_corrupt, assert_listed_around, assert_store, claimed, five};
    use crate::stores::postgres_url;

    /// Edits to a claimed run's rows (`$1` is its id), and the operations that must find
    /// them corrupt.
    const EDITS: &[(&str, &[&str])] = &[
        (
            "UPDATE workflow_runs SET version = -1 WHERE id = $1",
            &["run", "history", "latest", "claim", "save"],
        ),
        (
            "UPDATE workflow_runs SET status = 'gone' WHERE id = $1",
            &["run", "history", "latest"],
        ),
        (
            "UPDATE workflow_runs SET parent = id, parent_seq = -5 WHERE id = $1",
            &["run", "history", "latest"],
        ),
        (
            "UPDATE workflow_checkpoints SET status = 'paused' WHERE run = $1",
            &["history", "latest", "checkpoint 0"],
        ),
        (
            r#"UPDATE workflow_checkpoints SET usage = '{"total": 7}' WHERE run = $1"#,
            &["history", "latest", "checkpoint 0"],
        ),
        (
            "INSERT INTO workflow_branches (run, seq, idx, value, created_at, usage) \
             VALUES ($1, 0, 0, '1', 0, 'not json')",
            &["history", "latest", "checkpoint 0"],
        ),
    ];

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_list_reports_corrupt_rows_and_goes_on() {
        let Some(url) = postgres_url() else { return };
        let (runner, client, _) = crate::stores::postgres_schema(&url).await;
        let ids = five(&runner).await;
        let edits = [
            (
                "UPDATE workflow_runs SET status = 'gone' WHERE id = $1",
                ids[1],
            ),
            (
                "UPDATE workflow_runs SET version = -1 WHERE id = $1",
                ids[3],
            ),
        ];
        for (edit, run) in edits {
            client.execute(edit, &[run.as_uuid()]).await.expect("edits");
        }
        assert_listed_around(&runner, &ids).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_rows_are_corrupt_on_every_path() {
        let Some(url) = postgres_url() else { return };
        let (runner, client, _) = crate::stores::postgres_schema(&url).await;
        let store = runner.store().clone();
        for (edit, corrupt) in EDITS {
            let lease = Lease::new("holder", Duration::from_secs(30));
            let (id, latest) = claimed(&*store, &runner, &lease).await;
            client.execute(*edit, &[id.as_uuid()]).await.expect("edits");
            let answers = answers(&*store, id, &lease, &latest).await;
            assert_corrupt(edit, &answers, Some(id), corrupt);
        }

        let lease = Lease::new("holder", Duration::from_secs(30));
        let (id, latest) = claimed(&*store, &runner, &lease).await;
        client
            .batch_execute("DROP TABLE workflow_checkpoints")
            .await
            .expect("drops");
        let answers = answers(&*store, id, &lease, &latest).await;
        let reading = ["history", "latest", "checkpoint 0", "save"];
        assert_store("a dropped table", &answers, &reading);
    }
}
