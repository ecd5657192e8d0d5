//! What the tests of the command and the console share: runs a program leaves in a store.

use std::sync::Arc;

use workflow::prelude::*;
use workflow::provider::{ProviderError, ProviderErrorKind, Scripted, Usage};
use workflow::store::{CheckpointStore, RunId};
use workflow::usage::{Price, Pricing};
use workflow::Runner;

/// Drafts a post with a model, waits for a human's decision, publishes.
pub(crate) struct Post {
    writer: Agent,
}

#[workflow]
impl Post {
    async fn draft(&self, topic: String) -> Result<String> {
        if topic.is_empty() {
            return Err(Error::other(std::io::Error::other("no topic")));
        }
        self.writer.prompt(&format!("Write about {topic}.")).await
    }

    /// Waits for the editor's yes or no.
    async fn review(&self, draft: String, approved: bool) -> Result<String> {
        Ok(if approved { draft } else { String::new() })
    }

    async fn publish(&self, text: String) -> usize {
        text.len()
    }

    flow! {
        start -> draft -> pause review -> publish -> end;
    }
}

/// Drafts with a model whose first answer is a server error: its step retries once.
pub(crate) struct Retried {
    writer: Agent,
}

#[workflow]
impl Retried {
    #[step(retry = 2, backoff = "1ms")]
    async fn draft(&self, topic: String) -> Result<String> {
        self.writer.prompt(&format!("Write about {topic}.")).await
    }

    flow! {
        start -> draft -> end;
    }
}

/// A finished run of [`Retried`] in `store`: its step `draft` failed once (a call that
/// failed), then made a priced call of 100 tokens in and 20 out.
pub(crate) async fn leave_retried_run(store: Arc<dyn CheckpointStore>) -> RunId {
    let overloaded = ProviderError::new("scripted", ProviderErrorKind::Server, "overloaded");
    let writer = Scripted::new().reply(overloaded).reply(
        ChatResponse::new("a post about retries")
            .with_usage(Usage::new(100, 20))
            .with_model("writer-1"),
    );
    let retried = Retried {
        writer: Agent::builder(Arc::new(writer)).name("writer").build(),
    };
    let report = runner(store)
        .start(&retried, "retries".into())
        .await
        .expect("saved");
    assert!(report.outcome.output().is_some(), "{:?}", report.outcome);
    report.id
}

/// The runs a program left behind: one suspended, one finished, one failed.
pub(crate) struct Runs {
    pub(crate) suspended: RunId,
    pub(crate) finished: RunId,
    pub(crate) failed: RunId,
}

/// A `Post` whose writer answers twice.
pub(crate) fn post() -> Post {
    let writer = Scripted::new().replies([
        ChatResponse::new("a post about rust")
            .with_usage(Usage::new(120, 30))
            .with_model("writer-1"),
        ChatResponse::new("a post about sqlite")
            .with_usage(Usage::new(100, 20))
            .with_model("writer-1"),
    ]);
    Post {
        writer: Agent::builder(Arc::new(writer)).name("writer").build(),
    }
}

/// A runner over `store` that prices the writer's model.
pub(crate) fn runner(store: Arc<dyn CheckpointStore>) -> Runner {
    Runner::new(store).pricing(Pricing::new().model("writer-1", Price::new(10.0, 20.0)))
}

pub(crate) async fn leave_runs(store: Arc<dyn CheckpointStore>) -> Runs {
    let (post, runner) = (post(), runner(store));

    let suspended = runner.start(&post, "rust".into()).await.expect("saved");
    assert!(matches!(suspended.outcome, Outcome::Suspended(_)));

    let report = runner.start(&post, "sqlite".into()).await.expect("saved");
    let Outcome::Suspended(pause) = report.outcome else {
        panic!("not suspended: {:?}", report.outcome)
    };
    let token = pause.token().expect("a durable pause");
    let finished = runner.answer(&post, token, true).await.expect("answered");
    assert!(matches!(finished.outcome, Outcome::Finished(19)));

    let failed = runner.start(&post, String::new()).await.expect("saved");
    assert!(matches!(failed.outcome, Outcome::Failed(_)));
    Runs {
        suspended: suspended.id,
        finished: finished.id,
        failed: failed.id,
    }
}

/// The runs `leave_runs` leaves in a new SQLite file: its directory (the file goes with it),
/// its address for `--store`, the runs, and the store.
pub(crate) async fn sqlite_runs() -> (tempfile::TempDir, String, Runs, Arc<dyn CheckpointStore>) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("runs.db");
    let store: Arc<dyn CheckpointStore> =
        Arc::new(workflow::SqliteStore::open(&path).expect("opens"));
    let runs = leave_runs(Arc::clone(&store)).await;
    (dir, format!("sqlite:{}", path.display()), runs, store)
}

/// The runs `leave_runs` leaves in a schema of their own of the Postgres server at
/// `WORKFLOW_POSTGRES_URL`, the address of that schema for `--store`, and the store; `None` (with a
/// note) without a server, except under CI, which starts one.
pub(crate) async fn postgres_runs() -> Option<(String, Runs, Arc<dyn CheckpointStore>)> {
    let Ok(url) = std::env::var("WORKFLOW_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must set WORKFLOW_POSTGRES_URL"
        );
        eprintln!("note: WORKFLOW_POSTGRES_URL is not set; Postgres test skipped (see the README)");
        return None;
    };
    // A schema of its own, so that no other test's runs are listed.
    let schema = format!("runs_{}", RunId::new().as_uuid().simple());
    let options = workflow::store::PostgresOptions::new().schema(&schema);
    let store = workflow::PostgresStore::connect_with(&url, options)
        .await
        .expect("connects");
    let store: Arc<dyn CheckpointStore> = Arc::new(store);
    let runs = leave_runs(Arc::clone(&store)).await;
    let separator = if url.contains('?') { '&' } else { '?' };
    let address = format!("{url}{separator}options=-csearch_path%3D{schema}");
    Some((address, runs, store))
}
