//! The stores every conformance case runs against: a fresh one per test.

use std::sync::Arc;

use tempfile::TempDir;
use workflow_runtime::store::{
    CheckpointStore, Durability, MemoryStore, SqliteOptions, SqliteStore,
};

/// A store, and what must live as long as it does.
pub(crate) struct Fixture {
    pub(crate) store: Arc<dyn CheckpointStore>,
    /// The SQLite file's directory, removed when the test ends.
    pub(crate) _dir: Option<TempDir>,
}

pub(crate) fn memory() -> Fixture {
    Fixture {
        store: Arc::new(MemoryStore::new()),
        _dir: None,
    }
}

/// A new SQLite file in a temporary directory, with the default options (`synchronous =
/// FULL`).
pub(crate) fn sqlite() -> Fixture {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(dir.path().join("runs.db")).expect("opens");
    Fixture {
        store: Arc::new(store),
        _dir: Some(dir),
    }
}

/// A new SQLite file in a temporary directory, with `synchronous = NORMAL`.
pub(crate) fn sqlite_normal() -> Fixture {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let options = SqliteOptions::new().durability(Durability::Normal);
    let store = SqliteStore::open_with(dir.path().join("runs.db"), options).expect("opens");
    Fixture {
        store: Arc::new(store),
        _dir: Some(dir),
    }
}

/// The Postgres server's URL, from `WORKFLOW_POSTGRES_URL`. Without it the test is skipped
/// with a note, except under CI, where it fails.
#[cfg(feature = "postgres")]
pub(crate) fn postgres_url() -> Option<String> {
    match std::env::var("WORKFLOW_POSTGRES_URL") {
        Ok(url) => Some(url),
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!("WORKFLOW_POSTGRES_URL is not set, but CI is: the Postgres tests must run (.ci/run starts a server)")
        }
        Err(_) => {
            eprintln!(
                "note: WORKFLOW_POSTGRES_URL is not set; Postgres test skipped (see the README)"
            );
            None
        }
    }
}

/// A store in a new schema of the Postgres server, so tests do not see each other's runs.
#[cfg(feature = "postgres")]
pub(crate) async fn postgres() -> Option<Fixture> {
    use workflow_runtime::store::{PostgresOptions, PostgresStore, RunId};

    let url = postgres_url()?;
    let schema = format!("test_{}", RunId::new().as_uuid().simple());
    let options = PostgresOptions::new().schema(schema);
    let store = PostgresStore::connect_with(&url, options)
        .await
        .expect("connects");
    Some(Fixture {
        store: Arc::new(store),
        _dir: None,
    })
}

/// A runner on a store in a new schema of the Postgres server at `url`, a plain client whose
/// search path is that schema (to read or damage the tables underneath), and the schema's name.
#[cfg(feature = "postgres")]
pub(crate) async fn postgres_schema(
    url: &str,
) -> (
    workflow_runtime::Runner,
    workflow_runtime::store::tokio_postgres::Client,
    String,
) {
    use workflow_runtime::store::tokio_postgres::{self, NoTls};
    use workflow_runtime::store::{PostgresOptions, PostgresStore, RunId};

    let schema = format!("test_{}", RunId::new().as_uuid().simple());
    let options = PostgresOptions::new().schema(schema.clone());
    let store = PostgresStore::connect_with(url, options)
        .await
        .expect("connects");
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.expect("connects");
    tokio::spawn(connection);
    client
        .batch_execute(&format!("SET search_path TO {schema}"))
        .await
        .expect("sets");
    (
        workflow_runtime::Runner::new(Arc::new(store)),
        client,
        schema,
    )
}
