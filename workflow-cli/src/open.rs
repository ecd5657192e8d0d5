//! Opening the store a `--store` address names.

use std::path::Path;
use std::sync::Arc;

use workflow_runtime::store::CheckpointStore;

use crate::fail::Fail;

/// The store at `address`: `sqlite:PATH` (a file that exists: a typo must not create an empty
/// store) or a PostgreSQL URL.
pub(crate) async fn open(address: Option<&str>) -> Result<Arc<dyn CheckpointStore>, Fail> {
    let Some(address) = address else {
        return Err(Fail::usage(
            "no store given: pass --store sqlite:PATH or --store postgres://…, or set WORKFLOW_STORE",
        ));
    };
    if let Some(path) = address.strip_prefix("sqlite:") {
        return sqlite(Path::new(path.strip_prefix("//").unwrap_or(path)));
    }
    if address.starts_with("postgres://") || address.starts_with("postgresql://") {
        return postgres(address).await;
    }
    Err(Fail::usage(format!(
        "`{address}` is not a store address: use sqlite:PATH or postgres://user@host/database"
    )))
}

#[cfg(feature = "sqlite")]
fn sqlite(path: &Path) -> Result<Arc<dyn CheckpointStore>, Fail> {
    if !path.is_file() {
        return Err(Fail::usage(format!(
            "no SQLite file at {}: check the path given after `sqlite:`",
            path.display()
        )));
    }
    let store = workflow_runtime::SqliteStore::open(path).map_err(Fail::from)?;
    Ok(Arc::new(store))
}

#[cfg(not(feature = "sqlite"))]
fn sqlite(_: &Path) -> Result<Arc<dyn CheckpointStore>, Fail> {
    Err(Fail::usage(
        "this build reads no SQLite store: build it with the `sqlite` feature",
    ))
}

#[cfg(feature = "postgres")]
async fn postgres(url: &str) -> Result<Arc<dyn CheckpointStore>, Fail> {
    let store = workflow_runtime::PostgresStore::connect(url)
        .await
        .map_err(Fail::from)?;
    Ok(Arc::new(store))
}

#[cfg(not(feature = "postgres"))]
async fn postgres(_: &str) -> Result<Arc<dyn CheckpointStore>, Fail> {
    Err(Fail::usage(
        "this build reads no PostgreSQL store: build it with the `postgres` feature",
    ))
}
