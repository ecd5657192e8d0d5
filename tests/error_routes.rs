//! Error routes (`step? -> handler`): a step's own error, once its retries are spent, is its
//! handler's input, in memory and durably; a step that succeeds, and a cancelled run, do not
//! route.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use workflow::event::{Event, EventKind};
use workflow::prelude::*;
use workflow::{CancellationToken, Executor};

/// The error `fetch` returns: stored in the run's state as the handler's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Unreachable {
    url: String,
    attempt: u32,
}

impl fmt::Display for Unreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is unreachable (attempt {})", self.url, self.attempt)
    }
}

impl std::error::Error for Unreachable {}

/// `fetch` fails its first `fail` attempts; `give_up` fails its first `crash` runs, as a
/// crash would stop it.
#[derive(Default)]
struct Fetch {
    fail: u32,
    crash: u32,
    hang: bool,
    fetches: AtomicU32,
    summaries: AtomicU32,
    handled: AtomicU32,
}

#[workflow]
impl Fetch {
    #[step(retry = 2, backoff = "1ms")]
    async fn fetch(&self, url: String) -> Result<String, Unreachable> {
        let attempt = self.fetches.fetch_add(1, Ordering::SeqCst) + 1;
        if self.hang {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        if attempt <= self.fail {
            return Err(Unreachable { url, attempt });
        }
        Ok(format!("page at {url}"))
    }

    async fn summarize(&self, page: String) -> String {
        self.summaries.fetch_add(1, Ordering::SeqCst);
        format!("summary of {page}")
    }

    async fn give_up(&self, error: Unreachable) -> Result<String> {
        if self.handled.fetch_add(1, Ordering::SeqCst) < self.crash {
            return Err(Error::other("the process died here"));
        }
        Ok(format!("gave up: {error}"))
    }

    flow! {
        start -> fetch -> summarize -> end;
        fetch? -> give_up -> end;
    }
}

fn show(event: &Event) -> String {
    match &event.kind {
        EventKind::StepStarted { step, attempt, .. } => format!("start {step}#{attempt}"),
        EventKind::Retrying { step, attempt, .. } => format!("retry {step}#{attempt}"),
        EventKind::StepFinished { step, .. } => format!("finish {step}"),
        EventKind::StepFailed {
            step,
            handler,
            attempts,
            ..
        } => format!("failed {step} after {attempts} to {handler}"),
        EventKind::Failed { step, .. } => format!("run failed at {}", step.unwrap_or("-")),
        other => other.name().to_owned(),
    }
}

async fn watch(executor: &Executor, wf: &Fetch) -> (Result<String>, Vec<String>) {
    let mut run = executor.start(wf, "example.org".into());
    let mut events = run.events();
    tokio::join!(run, async {
        let mut all = Vec::new();
        while let Some(event) = events.recv().await {
            all.push(show(&event));
        }
        all
    })
}

#[tokio::test]
async fn a_failing_step_routes_its_typed_error_to_the_handler_after_its_retries() {
    let wf = Fetch {
        fail: 10,
        ..Fetch::default()
    };
    let (output, events) = watch(&Executor::new(), &wf).await;
    assert_eq!(
        output.expect("the handler finishes the run"),
        "gave up: example.org is unreachable (attempt 3)"
    );
    assert_eq!(wf.fetches.load(Ordering::SeqCst), 3);
    assert_eq!(wf.summaries.load(Ordering::SeqCst), 0);
    assert_eq!(
        events,
        [
            "run_started",
            "start fetch#1",
            "retry fetch#1",
            "start fetch#2",
            "retry fetch#2",
            "start fetch#3",
            "failed fetch after 3 to give_up",
            "start give_up#1",
            "finish give_up",
            "completed",
        ]
    );
}

#[tokio::test]
async fn an_unwatched_run_routes_too() {
    let wf = Fetch {
        fail: 10,
        ..Fetch::default()
    };
    let output = wf.run("example.org".into()).await.expect("handled");
    assert_eq!(output, "gave up: example.org is unreachable (attempt 3)");
}

#[tokio::test]
async fn a_step_that_succeeds_on_a_retry_does_not_route() {
    let wf = Fetch {
        fail: 1,
        ..Fetch::default()
    };
    let (output, events) = watch(&Executor::new(), &wf).await;
    assert_eq!(output.expect("fetched"), "summary of page at example.org");
    assert_eq!(wf.handled.load(Ordering::SeqCst), 0);
    assert!(events.contains(&"finish fetch".to_owned()), "{events:?}");
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_step_does_not_route() {
    let wf = Fetch {
        hang: true,
        ..Fetch::default()
    };
    let token = CancellationToken::new();
    let executor = Executor::new().cancellation(token.clone());
    let cancel = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(10)).await;
        token.cancel();
    });
    let (output, events) = watch(&executor, &wf).await;
    cancel.await.expect("the canceller ran");
    assert!(matches!(output, Err(Error::Cancelled { .. })), "{output:?}");
    assert_eq!(wf.handled.load(Ordering::SeqCst), 0);
    assert_eq!(
        events,
        ["run_started", "start fetch#1", "run failed at fetch"]
    );
}

/// Durably (a real SQLite file): the routed error is saved in the handler's checkpoint, a run
/// stopped in the handler resumes there with the error read back, and `fetch` runs no more.
#[tokio::test]
async fn a_durable_run_checkpoints_the_routed_error() {
    use workflow::{Outcome, Runner, SqliteStore};

    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(dir.path().join("runs.db")).expect("a store");
    let runner = Runner::new(Arc::new(store));
    let mut events = runner.subscribe();
    let wf = Fetch {
        fail: 10,
        crash: 1,
        ..Fetch::default()
    };
    let run = runner
        .start(&wf, "example.org".into())
        .await
        .expect("created");
    let Outcome::Failed(error) = &run.outcome else {
        panic!("the handler did not stop: {:?}", run.outcome);
    };
    assert_eq!(error.step(), Some("give_up"));
    let history = runner.history(run.id).await.expect("its checkpoints");
    let last = history.last().expect("a checkpoint");
    assert_eq!(last.step, "give_up");
    let state: serde_json::Value = serde_json::from_str(&last.state).expect("JSON");
    assert_eq!(
        state,
        serde_json::json!({"give_up": {"url": "example.org", "attempt": 3}})
    );

    let done = runner.resume(&wf, run.id).await.expect("resumed");
    assert_eq!(
        done.into_output().expect("finished"),
        "gave up: example.org is unreachable (attempt 3)"
    );
    assert_eq!(wf.fetches.load(Ordering::SeqCst), 3);
    assert_eq!(wf.handled.load(Ordering::SeqCst), 2);

    let mut lines = Vec::new();
    while let Some(event) = events.try_recv() {
        lines.push(show(&event));
    }
    assert_eq!(
        lines,
        [
            "run_started",
            "start fetch#1",
            "retry fetch#1",
            "start fetch#2",
            "retry fetch#2",
            "start fetch#3",
            "failed fetch after 3 to give_up",
            "start give_up#1",
            "run failed at give_up",
            "resumed",
            "start give_up#1",
            "finish give_up",
            "completed",
        ]
    );
}

/// The diagram draws the error route dashed, labelled `error`; route coverage counts it.
#[test]
fn the_diagram_and_the_graph_show_the_error_route() {
    assert!(
        Fetch::MERMAID.contains("fetch -.->|\"error\"| give_up"),
        "{}",
        Fetch::MERMAID
    );
    let graph = &Fetch::GRAPH;
    assert!(graph
        .edges()
        .iter()
        .any(|edge| edge.from() == "fetch" && edge.to() == "give_up"));
    assert_eq!(graph.routes().len(), 2);
}
