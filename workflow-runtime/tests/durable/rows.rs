//! Rows edited in the database behind the store's back: each is a typed error, never a panic.

use std::sync::Arc;

use workflow_runtime::store::{RunFilter, RunId, SqliteStore};
use workflow_runtime::{Error, Runner};

use crate::workflows::Chain;

/// Whether `error` is a corrupt record whose reason contains `reason`.
fn corrupt(error: &Error, reason: &str) -> bool {
    matches!(error, Error::CorruptCheckpoint { reason: r, .. } if r.contains(reason))
}

/// What a row edit breaks, and how reading the run back must fail.
enum Read {
    Resume(fn(&Error) -> bool),
    Status(fn(&Error) -> bool),
    List(fn(&Error) -> bool),
}

async fn check(runner: &Runner, id: RunId, read: &Read) {
    let chain = Chain::<1>::default();
    let (error, check) = match read {
        Read::Resume(check) => (runner.resume(&chain, id).await.expect_err("refused"), check),
        Read::Status(check) => (runner.status(id).await.expect_err("refused"), check),
        Read::List(check) => {
            let mut listed = runner.list(RunFilter::new()).await.expect("lists");
            assert!(listed.runs.is_empty(), "{listed:?}");
            assert_eq!(listed.corrupt.len(), 1, "{listed:?}");
            (listed.corrupt.remove(0), check)
        }
    };
    assert!(check(&error), "{error:?}");
    assert_eq!(chain.runs(), [0, 0, 0]);
}

/// Edits to the SQLite file, each with `?1` bound to the run's id.
const SQLITE_EDITS: &[(&str, Read)] = &[
    (
        "UPDATE workflow_checkpoints SET status = 'paused' WHERE run = ?1",
        Read::Resume(|e| corrupt(e, "status `paused`")),
    ),
    (
        "UPDATE workflow_checkpoints SET state = X'FF00' WHERE run = ?1",
        Read::Resume(|e| corrupt(e, "column `state`")),
    ),
    (
        "UPDATE workflow_checkpoints SET state = 42 WHERE run = ?1",
        Read::Resume(|e| corrupt(e, "not a state")),
    ),
    (
        "UPDATE workflow_checkpoints SET format = 99999999999 WHERE run = ?1",
        Read::Resume(|e| {
            matches!(
                e,
                Error::UnsupportedFormat {
                    format: u32::MAX,
                    ..
                }
            )
        }),
    ),
    (
        "DELETE FROM workflow_checkpoints WHERE run = ?1",
        Read::Resume(|e| corrupt(e, "latest checkpoint is missing")),
    ),
    (
        "UPDATE workflow_runs SET version = -1 WHERE id = ?1",
        Read::Status(|e| corrupt(e, "`version` is negative")),
    ),
    (
        "UPDATE workflow_runs SET fingerprint = 'abc' WHERE id = ?1",
        Read::Status(|e| corrupt(e, "column `fingerprint`")),
    ),
    (
        "UPDATE workflow_runs SET status = 7 WHERE id = ?1",
        Read::Status(|e| corrupt(e, "status `7`")),
    ),
    (
        "UPDATE workflow_runs SET id = 'not-a-uuid' WHERE id = ?1",
        Read::List(
            |e| matches!(e, Error::CorruptCheckpoint { run: None, reason, .. } if reason.contains("not a run id")),
        ),
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_rows_that_do_not_read_back() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("runs.db");
    let runner = Runner::new(Arc::new(SqliteStore::open(&path).expect("opens")));
    let db = rusqlite::Connection::open(&path).expect("opens");
    for (edit, read) in SQLITE_EDITS {
        let id = runner.create::<Chain>(1).await.expect("created");
        db.execute(edit, [id.to_string()]).expect("edits");
        check(&runner, id, read).await;
        db.execute("DELETE FROM workflow_runs", []).expect("clears");
    }
}

#[test]
fn sqlite_files_that_are_not_stores() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let text = dir.path().join("text.db");
    std::fs::write(
        &text,
        "not a database, but long enough to have a header of 100 bytes: ".repeat(4),
    )
    .expect("writes");
    let error = SqliteStore::open(&text).expect_err("not SQLite");
    assert!(
        matches!(
            error,
            Error::Store {
                store: "sqlite",
                ..
            }
        ),
        "{error:?}"
    );

    let newer = dir.path().join("newer.db");
    drop(SqliteStore::open(&newer).expect("opens"));
    let db = rusqlite::Connection::open(&newer).expect("opens");
    db.execute_batch("PRAGMA user_version = 99").expect("edits");
    let error = SqliteStore::open(&newer).expect_err("a newer schema");
    let source = std::error::Error::source(&error)
        .expect("a source")
        .to_string();
    assert!(
        source.contains("schema version 99") && source.contains("upgrade"),
        "{source}"
    );
}

#[cfg(feature = "postgres")]
mod postgres {

    use std::time::Duration;

    use workflow_runtime::store::{PostgresOptions, PostgresStore};
    use workflow_runtime::Error;

    use super::{check, corrupt, Read};
    use crate::stores::postgres_url;
    use crate::workflows::Chain;

    /// Edits to the tables, each with `$1` bound to the run's id.
    const EDITS: &[(&str, Read)] = &[
        (
            "UPDATE workflow_checkpoints SET status = 'paused' WHERE run = $1",
            Read::Resume(|e| corrupt(e, "status `paused`")),
        ),
        (
            "UPDATE workflow_checkpoints SET state = 'not json' WHERE run = $1",
            Read::Resume(|e| corrupt(e, "not a state")),
        ),
        (
            "UPDATE workflow_checkpoints SET format = -1 WHERE run = $1",
            Read::Resume(|e| {
                matches!(
                    e,
                    Error::UnsupportedFormat {
                        format: u32::MAX,
                        ..
                    }
                )
            }),
        ),
        (
            "DELETE FROM workflow_checkpoints WHERE run = $1",
            Read::Resume(|e| corrupt(e, "latest checkpoint is missing")),
        ),
        (
            "UPDATE workflow_runs SET version = -1 WHERE id = $1",
            Read::Status(|e| corrupt(e, "`version` is negative")),
        ),
        (
            "UPDATE workflow_runs SET status = 'gone' WHERE id = $1",
            Read::List(|e| corrupt(e, "status `gone`")),
        ),
    ];

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_rows_that_do_not_read_back() {
        let Some(url) = postgres_url() else { return };
        let (runner, client, _) = crate::stores::postgres_schema(&url).await;
        for (edit, read) in EDITS {
            let id = runner.create::<Chain>(1).await.expect("created");
            client.execute(*edit, &[id.as_uuid()]).await.expect("edits");
            check(&runner, id, read).await;
            client
                .execute("DELETE FROM workflow_runs", &[])
                .await
                .expect("clears");
        }
    }

    /// A claim of a run whose checkpoint does not read back fails, and gives the lease up at
    /// once rather than holding the run until the lease expires.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_a_claim_that_does_not_read_back_gives_its_lease_up() {
        let Some(url) = postgres_url() else { return };
        let (runner, client, _) = crate::stores::postgres_schema(&url).await;
        let id = runner.create::<Chain>(1).await.expect("created");
        client
            .execute(
                "UPDATE workflow_checkpoints SET status = 'paused' WHERE run = $1",
                &[id.as_uuid()],
            )
            .await
            .expect("edits");
        let lease = workflow_runtime::store::Lease::new("claimer", Duration::from_secs(60));
        let error = runner
            .store()
            .claim(id, &lease)
            .await
            .expect_err("does not read back");
        assert!(corrupt(&error, "status `paused`"), "{error:?}");
        let row = client
            .query_one(
                "SELECT lease_id IS NULL, owner IS NULL FROM workflow_runs WHERE id = $1",
                &[id.as_uuid()],
            )
            .await
            .expect("reads");
        let released: (bool, bool) = (row.get(0), row.get(1));
        assert_eq!(released, (true, true), "the lease is given up");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_schemas_that_are_not_stores() {
        let Some(url) = postgres_url() else { return };
        let bad = PostgresOptions::new().schema("x; DROP TABLE y");
        let error = PostgresStore::connect_with(&url, bad)
            .await
            .expect_err("not a name");
        assert!(error.source_text().contains("not valid"), "{error:?}");

        let (_, client, schema) = crate::stores::postgres_schema(&url).await;
        client
            .execute("UPDATE workflow_schema SET version = 99", &[])
            .await
            .expect("edits");
        let newer = PostgresOptions::new().schema(schema);
        let error = PostgresStore::connect_with(&url, newer)
            .await
            .expect_err("a newer schema");
        assert!(
            error.source_text().contains("schema version 99"),
            "{error:?}"
        );

        let error = PostgresStore::connect("postgresql://nobody@127.0.0.1:1/none")
            .await
            .expect_err("no server");
        assert!(
            matches!(
                error,
                Error::Store {
                    store: "postgres",
                    ..
                }
            ),
            "{error:?}"
        );
    }

    trait SourceText {
        fn source_text(&self) -> String;
    }

    impl SourceText for Error {
        fn source_text(&self) -> String {
            std::error::Error::source(self)
                .map(ToString::to_string)
                .unwrap_or_default()
        }
    }
}
