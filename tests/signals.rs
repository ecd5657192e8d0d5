//! Signals: `a -> receive b` in `flow!`, and `Runner::send` / `send_json`. Messages are
//! queued in the store in order, delivered once each (taken off the queue in the write of the
//! checkpoint that holds them), wait for a run that has not reached its receive step yet, and
//! wake a run that waits for them; JSON from outside is checked. On every store.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use workflow::prelude::*;
use workflow::store::{Awaits, CheckpointStore, RunStatus};
use workflow::{MemoryStore, RunId, Runner, SqliteStore, Worker};

#[path = "support/postgres.rs"]
mod postgres;

/// A note sent to the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Note {
    text: String,
}

/// Collects `count` notes, in the order they come, then ends with them. The first note
/// `"boom"` fails its step once.
#[derive(Clone, Default)]
struct Inbox {
    failed: Arc<AtomicBool>,
}

#[workflow]
impl Inbox {
    async fn open(&self, count: u32) -> (u32, Vec<String>) {
        (count, Vec::new())
    }

    async fn take(
        &self,
        (left, mut got): (u32, Vec<String>),
        note: Note,
    ) -> Result<(u32, Vec<String>)> {
        if note.text == "boom" && !self.failed.swap(true, Ordering::SeqCst) {
            return Err(Error::other("the first boom fails"));
        }
        got.push(note.text);
        Ok((left.saturating_sub(1), got))
    }

    flow! {
        type Output = Vec<String>;
        start -> open -> match {
            (0, got) => end(got),
            (left, got) => receive take((left, got)),
        };
        take -> match {
            (0, got) => end(got),
            (left, got) => take((left, got)) [max 10],
        };
    }
}

#[test]
fn the_definition_a_store_records_has_each_signal_and_its_schema() {
    let definition = workflow::WorkflowDefinition::of::<Inbox>();
    let signals = definition.signals.as_deref().expect("signals are recorded");
    assert_eq!(signals.len(), 1);
    let signal = definition.signal("Note").expect("the `Note` signal");
    assert_eq!(signal.steps, ["take"]);
    assert!(signal.value_type.ends_with("Note"), "{}", signal.value_type);
    let schema = signal.schema.as_ref().expect("`Note` has a schema");
    assert_eq!(schema["properties"]["text"]["type"], "string");
    assert!(definition.signal("Reminder").is_none());
}

fn note(text: &str) -> Note {
    Note { text: text.into() }
}

fn worker(runner: &Runner) -> Worker {
    Worker::new(runner.clone())
        .register(Inbox::default())
        .poll_interval(Duration::from_millis(10))
}

/// Waits until run `run` waits, unowned, before `take` at checkpoint `version` or later.
async fn waiting(runner: &Runner, run: RunId, version: u64) {
    let wait = async {
        loop {
            let info = runner.status(run).await.expect("status");
            if info.step == "take" && info.owner.is_none() && info.version >= version {
                assert_eq!(info.status, RunStatus::Running);
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .expect("waits for a message");
}

/// Messages sent before the run reaches its receive step wait for it, and are delivered in
/// the order sent; the queue is empty afterwards.
async fn in_order_even_before_the_run_gets_there(store: Arc<dyn CheckpointStore>) {
    let runner = Runner::new(Arc::clone(&store));
    let run = runner.submit::<Inbox>(3).await.expect("submits");
    let mut numbers = Vec::new();
    for text in ["a", "b", "c", "d"] {
        numbers.push(
            runner
                .send::<Inbox, Note>(run.id(), note(text))
                .await
                .expect("sends"),
        );
    }
    assert!(
        numbers.windows(2).all(|pair| pair[0] < pair[1]),
        "{numbers:?}"
    );
    let worker = worker(&runner).spawn();
    assert_eq!(run.result().await.expect("finishes"), ["a", "b", "c"]);
    worker.stop().await;
    // Each checkpoint of `take` holds its message; the fourth is still queued.
    let left = store.next_signal(run.id(), "Note").await.expect("reads");
    assert_eq!(
        left.map(|(_, value)| value),
        Some(json!({"text": "d"}).to_string())
    );
}

/// A run that waits for a message holds no worker; each message sent wakes it.
async fn a_waiting_run_is_woken(store: Arc<dyn CheckpointStore>) {
    let runner = Runner::new(store);
    let run = runner.submit::<Inbox>(2).await.expect("submits");
    let worker = worker(&runner).spawn();
    waiting(&runner, run.id(), 1).await;
    runner
        .send::<Inbox, Note>(run.id(), note("x"))
        .await
        .expect("sends");
    waiting(&runner, run.id(), 2).await;
    runner
        .send::<Inbox, Note>(run.id(), note("y"))
        .await
        .expect("sends");
    assert_eq!(run.result().await.expect("finishes"), ["x", "y"]);
    let report = worker.stop().await;
    assert_eq!((report.finished, report.suspended), (1, 2));
}

/// A message is delivered once: a step that fails with it is run again with it from the
/// checkpoint, and the next message is not skipped.
async fn delivered_once(store: Arc<dyn CheckpointStore>) {
    let inbox = Inbox::default();
    let runner = Runner::new(Arc::clone(&store));
    let started = runner.start(&inbox, 2).await.expect("starts");
    let Outcome::Receiving { step, signal } = started.outcome else {
        panic!("not waiting: {:?}", started.outcome);
    };
    assert_eq!((step, signal), ("take", "Note"));
    let info = runner.status(started.id).await.expect("status");
    assert_eq!(info.awaits, Some(Awaits::Signal("Note".into())));
    for text in ["boom", "after"] {
        runner
            .send::<Inbox, Note>(started.id, note(text))
            .await
            .expect("sends");
    }
    let failed = runner.resume(&inbox, started.id).await.expect("resumes");
    assert!(matches!(
        failed.outcome,
        Outcome::Failed(Error::Step { step: "take", .. })
    ));
    let again = runner.resume(&inbox, started.id).await.expect("resumes");
    assert_eq!(again.into_output().expect("finishes"), ["boom", "after"]);
    let info = runner.status(started.id).await.expect("status");
    assert_eq!(info.awaits, None, "a finished run waits for nothing");
    assert_eq!(
        store.next_signal(started.id, "Note").await.expect("reads"),
        None
    );
    let history = runner.history(started.id).await.expect("history");
    let steps: Vec<&str> = history.iter().map(|c| c.step.as_ref()).collect();
    // Waiting, given `boom` (the failed attempt resumed from there), waiting, given `after`.
    assert_eq!(steps, ["open", "take", "take", "take", "take", "end"]);
    assert!(history[2].state.contains("boom") && history[4].state.contains("after"));
}

/// JSON from outside is checked against the type the workflow receives.
async fn json_is_checked(store: Arc<dyn CheckpointStore>) {
    let runner = Runner::new(store);
    let run = runner.submit::<Inbox>(1).await.expect("submits").id();
    let wrong = runner
        .send_json::<Inbox>(run, "Note", json!({"text": 5}))
        .await;
    assert!(
        matches!(&wrong, Err(Error::SignalValue { signal, .. }) if signal == "Note"),
        "{wrong:?}"
    );
    let unknown = runner
        .send_json::<Inbox>(run, "Nope", json!({"text": "a"}))
        .await;
    assert!(
        matches!(&unknown, Err(Error::UnknownSignal { known, .. }) if known == "`Note`"),
        "{unknown:?}"
    );
    let missing = runner.send::<Inbox, Note>(RunId::new(), note("a")).await;
    assert!(
        matches!(missing, Err(Error::RunNotFound { .. })),
        "{missing:?}"
    );
    runner
        .send_json::<Inbox>(run, "Note", json!({"text": "ok"}))
        .await
        .expect("sends");
    let worker = worker(&runner).spawn();
    let output = runner
        .handle::<Inbox>(run)
        .result()
        .await
        .expect("finishes");
    assert_eq!(output, ["ok"]);
    worker.stop().await;
}

/// A run that took its message and then lost its worker (its lease expired, nothing gave it
/// up) is picked up again, though no other message of that signal is queued.
async fn a_run_that_received_is_recovered(store: Arc<dyn CheckpointStore>) {
    use workflow::store::{Checkpoint, Lease, WorkflowType};

    let runner = Runner::new(Arc::clone(&store));
    let run = runner.submit::<Inbox>(2).await.expect("submits").id();
    let types = [WorkflowType::new(
        <Inbox as Workflow>::NAME,
        <Inbox as Workflow>::FINGERPRINT,
    )];
    let short = Lease::new("doomed", Duration::from_millis(100));
    let (_, first) = store.claim(run, &short).await.expect("claims");
    store
        .release_awaiting(run, &short, "Note")
        .await
        .expect("waits");
    let none = store.claim_next(&types, &short).await.expect("claims");
    assert!(none.is_none(), "a run waiting with no message was claimed");
    runner
        .send::<Inbox, Note>(run, note("only"))
        .await
        .expect("sends");
    let (_, latest) = store
        .claim_next(&types, &short)
        .await
        .expect("claims")
        .expect("a message wakes the run");
    let (message, _) = store
        .next_signal(run, "Note")
        .await
        .expect("reads")
        .expect("queued");
    let delivered = Checkpoint {
        seq: latest.seq + 1,
        ..first
    };
    store
        .save_received(&short, delivered, Vec::new(), message)
        .await
        .expect("delivers");
    // The worker dies: its lease runs out.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let lease = Lease::new("rescuer", Duration::from_secs(30));
    let taken = store.claim_next(&types, &lease).await.expect("claims");
    assert_eq!(
        taken.map(|(info, _)| info.id),
        Some(run),
        "the run is stuck"
    );
}

macro_rules! on_every_store {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(std::sync::Arc::new(super::MemoryStore::new())).await;
                }
            )*
        }

        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let dir = tempfile::tempdir().expect("a temporary directory");
                    let store = super::SqliteStore::open(dir.path().join("runs.db")).expect("opens");
                    super::$case(std::sync::Arc::new(store)).await;
                }
            )*
        }

        #[cfg(feature = "postgres")]
        mod on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    if let Some(store) = super::postgres::store("signals").await {
                        super::$case(store).await;
                    }
                }
            )*
        }
    };
}

on_every_store! {
    in_order_even_before_the_run_gets_there,
    a_waiting_run_is_woken,
    delivered_once,
    json_is_checked,
    a_run_that_received_is_recovered,
}

#[tokio::test]
async fn a_run_in_memory_cannot_receive() {
    let error = Inbox::default().run(1).await.expect_err("needs a store");
    assert!(
        matches!(
            error,
            Error::SignalNeedsStore {
                workflow: "Inbox",
                step: "take"
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        Inbox::default().run(0).await.expect("no message needed"),
        Vec::<String>::new()
    );
}

#[test]
fn the_diagram_shows_the_receive_step() {
    assert!(
        Inbox::MERMAID.contains("take[/\"receive Note, then take\"/]"),
        "{}",
        Inbox::MERMAID
    );
    assert_eq!(<Inbox as workflow::Signal<Note>>::SIGNAL, "Note");
}

/// `Inbox` as a step of another workflow.
struct Mailroom {
    inbox: Inbox,
}

#[workflow]
impl Mailroom {
    fn inbox(&self) -> &Inbox {
        &self.inbox
    }

    async fn sort(&self, notes: Vec<String>) -> usize {
        notes.len()
    }

    flow! {
        start -> inbox -> sort -> end;
    }
}

#[tokio::test]
async fn a_child_in_memory_cannot_receive_either() {
    let mailroom = Mailroom {
        inbox: Inbox::default(),
    };
    let error = mailroom.run(1).await.expect_err("needs a store");
    assert_eq!(error.step(), Some("inbox"));
    let Error::Step { source, .. } = &error else {
        panic!("not the step's failure: {error:?}");
    };
    assert!(
        matches!(
            source.downcast_ref::<Error>(),
            Some(Error::SignalNeedsStore {
                workflow: "Inbox",
                step: "take"
            })
        ),
        "{error:?}"
    );
    assert_eq!(mailroom.run(0).await.expect("no message needed"), 0);
}
