//! The Postgres server the end-to-end tests run against, from `WORKFLOW_POSTGRES_URL` (see the
//! README): a test that needs it includes this file (`#[path = "support/postgres.rs"] mod
//! postgres;`). Without the variable a test is skipped with a note, except under CI, where it
//! fails: CI starts a server, and a Postgres test that did not run must not pass there.
#![allow(dead_code)]

use std::sync::Arc;

use workflow::store::CheckpointStore;

/// The server's URL; `None` (with a note) to skip the test.
///
/// # Panics
///
/// Under CI (`CI` set) without `WORKFLOW_POSTGRES_URL`.
pub(crate) fn url() -> Option<String> {
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

/// A new schema name, `{prefix}_` and a fresh id: no other test sees its runs.
pub(crate) fn schema(prefix: &str) -> String {
    format!("{prefix}_{}", workflow::RunId::new().as_uuid().simple())
}

/// A store in schema `schema` of the server at `url`.
#[cfg(feature = "postgres")]
pub(crate) async fn connect(url: &str, schema: &str) -> Arc<dyn CheckpointStore> {
    use workflow::store::{PostgresOptions, PostgresStore};

    let options = PostgresOptions::new().schema(schema);
    let store = PostgresStore::connect_with(url, options)
        .await
        .expect("connects");
    Arc::new(store)
}

/// A store in a new schema named after `prefix`, if there is a server.
#[cfg(feature = "postgres")]
pub(crate) async fn store(prefix: &str) -> Option<Arc<dyn CheckpointStore>> {
    let url = url()?;
    Some(connect(&url, &schema(prefix)).await)
}

/// Built without the `postgres` feature: no Postgres store.
#[cfg(not(feature = "postgres"))]
pub(crate) async fn store(_prefix: &str) -> Option<Arc<dyn CheckpointStore>> {
    None
}
