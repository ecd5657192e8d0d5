//! Approval per tool call: an agent whose `pay` tool needs a human's approval, in a durable
//! run on a real SQLite file (and the Postgres server when `WORKFLOW_POSTGRES_URL` is set).
//! The call suspends the run with the call shown; allow runs the tool once, deny gives the
//! model the reason, edit runs the tool with the edited arguments; nothing before the call
//! runs again (the tools' side effects and the model's requests are counted); a duplicate
//! answer is refused; a worker gives an answer a tool recorded.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use workflow::prelude::*;
use workflow::provider::{Message, Scripted, ToolCall};
use workflow::store::{CheckpointStore, RunStatus};
use workflow::{tool, Approval, Pause, SqliteStore, Worker};

#[path = "support/postgres.rs"]
mod postgres;

#[derive(Debug, Deserialize, JsonSchema)]
struct Lookup {
    item: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct Payment {
    cents: u32,
}

/// What the tools did.
#[derive(Default)]
struct Effects {
    lookups: AtomicU32,
    paid: Mutex<Vec<u32>>,
}

fn agent(model: &Arc<Scripted>, effects: &Arc<Effects>) -> Agent {
    let looked = Arc::clone(effects);
    let lookup = tool::from_fn("price", "The price of an item.", move |lookup: Lookup| {
        looked.lookups.fetch_add(1, Ordering::SeqCst);
        async move { Ok(format!("{} costs 500 cents", lookup.item)) }
    });
    let paid = Arc::clone(effects);
    let pay = tool::from_fn("pay", "Pays an amount.", move |payment: Payment| {
        paid.paid.lock().expect("not poisoned").push(payment.cents);
        async move { Ok(format!("paid {}", payment.cents)) }
    });
    Agent::builder(model.clone() as Arc<dyn ChatModel>)
        .name("buyer")
        .tool(lookup)
        .tool(pay)
        .needs_approval("pay")
        .build()
}

/// One step: the agent's tool loop.
struct Buy {
    agent: Agent,
}

#[workflow]
impl Buy {
    async fn buy(&self, item: String) -> Result<String> {
        self.agent.prompt(&format!("Buy {item}.")).await
    }

    flow! {
        start -> buy -> end;
    }
}

/// The model: looks the price up, pays, then answers.
fn model() -> Arc<Scripted> {
    Arc::new(Scripted::new().replies([
        ChatResponse::new("").with_tool_call(ToolCall::new("c1", "price", json!({"item": "tea"}))),
        ChatResponse::new("").with_tool_call(ToolCall::new("c2", "pay", json!({"cents": 500}))),
        ChatResponse::new("done"),
    ]))
}

/// The run started: suspended at `buy`, showing the call to `pay`.
async fn suspended(runner: &Runner, buy: &Buy) -> Pause {
    let report = runner.start(buy, "tea".into()).await.expect("starts");
    let Outcome::Suspended(pause) = report.outcome else {
        panic!("not suspended: {:?}", report.outcome);
    };
    assert!(pause.is_approval());
    assert_eq!(pause.step, "buy");
    assert_eq!(
        pause.payload,
        json!({"agent": "buyer", "tool": "pay", "call_id": "c2", "arguments": {"cents": 500}})
    );
    let status = runner.status(report.id).await.expect("status");
    assert_eq!(status.status, RunStatus::Suspended);
    assert_eq!(status.owner, None);
    assert_eq!(
        runner.pending::<Buy>(report.id).await.expect("pending"),
        Some(pause.clone())
    );
    pause
}

/// The result the model was given for call `id` in its last request.
fn result_of(model: &Scripted, id: &str) -> String {
    let requests = model.requests();
    let last = requests.last().expect("a request");
    last.messages
        .iter()
        .find_map(|message| match message {
            Message::Tool { call_id, content } if call_id == id => Some(content.clone()),
            _ => None,
        })
        .expect("the call's result")
}

async fn allowed(store: Arc<dyn CheckpointStore>) {
    let runner = Runner::new(store);
    let (model, effects) = (model(), Arc::new(Effects::default()));
    let buy = Buy {
        agent: agent(&model, &effects),
    };
    let pause = suspended(&runner, &buy).await;
    assert!(
        effects.paid.lock().expect("not poisoned").is_empty(),
        "paid before approval"
    );
    assert_eq!(
        (
            model.requests().len(),
            effects.lookups.load(Ordering::SeqCst)
        ),
        (2, 1)
    );

    let token = pause.token().expect("a token");
    // Resumed, the run gives its pause again, and nothing runs.
    let resumed = runner.resume(&buy, token.run).await.expect("resumes");
    assert!(
        matches!(&resumed.outcome, Outcome::Suspended(again) if *again == pause),
        "{:?}",
        resumed.outcome
    );
    assert_eq!(
        (
            model.requests().len(),
            effects.lookups.load(Ordering::SeqCst)
        ),
        (2, 1)
    );
    let report = runner
        .approve(&buy, token, Approval::Allow)
        .await
        .expect("approves");
    assert_eq!(report.into_output().expect("finishes"), "done");
    assert_eq!(*effects.paid.lock().expect("not poisoned"), [500]);
    // The lookup and the first two turns were replayed: one more request, for the answer.
    assert_eq!(
        (
            model.requests().len(),
            effects.lookups.load(Ordering::SeqCst)
        ),
        (3, 1)
    );
    assert_eq!(result_of(&model, "c2"), "paid 500");

    // The same decision again is refused, and runs nothing.
    let again = runner.approve(&buy, token, Approval::Allow).await;
    assert!(
        matches!(again, Err(Error::AlreadyAnswered { repeated: true, .. })),
        "{again:?}"
    );
    let other = runner
        .answer_json(&buy, token, json!({"deny": {"reason": "no"}}))
        .await;
    assert!(
        matches!(
            other,
            Err(Error::AlreadyAnswered {
                repeated: false,
                ..
            })
        ),
        "{other:?}"
    );
    assert_eq!(*effects.paid.lock().expect("not poisoned"), [500]);
}

async fn denied(store: Arc<dyn CheckpointStore>) {
    let runner = Runner::new(store);
    let (model, effects) = (model(), Arc::new(Effects::default()));
    let buy = Buy {
        agent: agent(&model, &effects),
    };
    let token = suspended(&runner, &buy).await.token().expect("a token");
    let deny = json!({"deny": {"reason": "over the budget"}});
    let report = runner
        .answer_json(&buy, token, deny)
        .await
        .expect("answers");
    assert_eq!(report.into_output().expect("finishes"), "done");
    assert!(
        effects.paid.lock().expect("not poisoned").is_empty(),
        "the tool ran"
    );
    assert_eq!(
        result_of(&model, "c2"),
        "error: a human denied this call: over the budget"
    );
    assert_eq!(
        (
            model.requests().len(),
            effects.lookups.load(Ordering::SeqCst)
        ),
        (3, 1)
    );
}

async fn edited(store: Arc<dyn CheckpointStore>) {
    let runner = Runner::new(store);
    let (model, effects) = (model(), Arc::new(Effects::default()));
    let buy = Buy {
        agent: agent(&model, &effects),
    };
    let token = suspended(&runner, &buy).await.token().expect("a token");
    // A value that is not an approval is refused, and the run still waits.
    let bad = runner
        .answer_json(&buy, token, json!({"maybe": true}))
        .await;
    assert!(
        matches!(bad, Err(Error::AnswerValue { step: "buy", .. })),
        "{bad:?}"
    );
    let edit = Approval::Edit {
        arguments: json!({"cents": 300}),
    };
    let report = runner.approve(&buy, token, edit).await.expect("approves");
    assert_eq!(report.into_output().expect("finishes"), "done");
    assert_eq!(*effects.paid.lock().expect("not poisoned"), [300]);
    assert_eq!(result_of(&model, "c2"), "paid 300");
}

/// Edited arguments the tool does not take are a tool error the model reads.
async fn edited_badly(store: Arc<dyn CheckpointStore>) {
    let runner = Runner::new(store);
    let (model, effects) = (model(), Arc::new(Effects::default()));
    let buy = Buy {
        agent: agent(&model, &effects),
    };
    let token = suspended(&runner, &buy).await.token().expect("a token");
    let edit = Approval::Edit {
        arguments: json!({"cents": "many"}),
    };
    let report = runner.approve(&buy, token, edit).await.expect("approves");
    assert_eq!(report.into_output().expect("finishes"), "done");
    assert!(
        effects.paid.lock().expect("not poisoned").is_empty(),
        "the tool ran"
    );
    assert!(
        result_of(&model, "c2").starts_with("error: "),
        "{}",
        result_of(&model, "c2")
    );
}

/// A decision given, then the process gone before the step ran again (`submit_answer_json`
/// gives the decision and lets go of the run, as a crash would): the run is running, not
/// suspended, and whoever resumes it runs the call with the decision.
async fn decided_then_gone(store: Arc<dyn CheckpointStore>) {
    let runner = Runner::new(store);
    let (model, effects) = (model(), Arc::new(Effects::default()));
    let buy = Buy {
        agent: agent(&model, &effects),
    };
    let token = suspended(&runner, &buy).await.token().expect("a token");
    runner
        .submit_answer_json::<Buy>(token, json!("allow"))
        .await
        .expect("gives the decision");
    let status = runner.status(token.run).await.expect("status");
    assert_eq!(status.status, RunStatus::Running);
    assert!(effects.paid.lock().expect("not poisoned").is_empty());
    let report = runner.resume(&buy, token.run).await.expect("resumes");
    assert_eq!(report.into_output().expect("finishes"), "done");
    assert_eq!(*effects.paid.lock().expect("not poisoned"), [500]);
    assert_eq!(
        (
            model.requests().len(),
            effects.lookups.load(Ordering::SeqCst)
        ),
        (3, 1)
    );
}

#[tokio::test]
async fn a_decision_survives_the_process_that_gave_it_on_sqlite() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    decided_then_gone(sqlite(&dir)).await;
}

/// An answer recorded by a tool without the code (`workflow answer`) is given by a worker.
async fn through_a_worker(store: Arc<dyn CheckpointStore>) {
    let runner = Runner::new(Arc::clone(&store));
    let (model, effects) = (model(), Arc::new(Effects::default()));
    let buy = Buy {
        agent: agent(&model, &effects),
    };
    let token = suspended(&runner, &buy).await.token().expect("a token");
    runner
        .record_answer(token, &json!("allow"))
        .await
        .expect("records");
    let again = runner.record_answer(token, &json!("allow")).await;
    assert!(
        matches!(again, Err(Error::AlreadyAnswered { repeated: true, .. })),
        "{again:?}"
    );
    let worker = Worker::new(runner.clone())
        .register(Buy {
            agent: agent(&model, &effects),
        })
        .poll_interval(Duration::from_millis(10))
        .spawn();
    let handle = runner.handle::<Buy>(token.run);
    let output = tokio::time::timeout(Duration::from_secs(20), handle.result())
        .await
        .expect("the worker finishes the run")
        .expect("finishes");
    worker.stop().await;
    assert_eq!(output, "done");
    assert_eq!(*effects.paid.lock().expect("not poisoned"), [500]);
    assert_eq!(
        (
            model.requests().len(),
            effects.lookups.load(Ordering::SeqCst)
        ),
        (3, 1)
    );
}

/// In memory there is no store to wait in: the model is told, and the tool does not run.
#[tokio::test]
async fn in_memory_the_model_is_told_nobody_can_approve() {
    let (model, effects) = (model(), Arc::new(Effects::default()));
    let buy = Buy {
        agent: agent(&model, &effects),
    };
    assert_eq!(buy.run("tea".into()).await.expect("finishes"), "done");
    assert!(
        effects.paid.lock().expect("not poisoned").is_empty(),
        "the tool ran"
    );
    assert!(
        result_of(&model, "c2").starts_with("error: tool `pay` needs a human's approval"),
        "{}",
        result_of(&model, "c2")
    );
}

fn sqlite(dir: &tempfile::TempDir) -> Arc<dyn CheckpointStore> {
    Arc::new(SqliteStore::open(dir.path().join("runs.db")).expect("opens"))
}

#[tokio::test]
async fn allow_runs_the_tool_once_and_replays_the_rest_on_sqlite() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    allowed(sqlite(&dir)).await;
}

#[tokio::test]
async fn deny_gives_the_model_the_reason_on_sqlite() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    denied(sqlite(&dir)).await;
}

#[tokio::test]
async fn edit_runs_the_tool_with_the_edited_arguments_on_sqlite() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    edited(sqlite(&dir)).await;
}

#[tokio::test]
async fn edited_arguments_that_do_not_fit_are_a_tool_error_on_sqlite() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    edited_badly(sqlite(&dir)).await;
}

#[tokio::test]
async fn a_worker_gives_a_recorded_approval_on_sqlite() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    through_a_worker(sqlite(&dir)).await;
}

#[tokio::test]
async fn approvals_on_the_memory_store() {
    allowed(Arc::new(workflow::MemoryStore::new())).await;
    denied(Arc::new(workflow::MemoryStore::new())).await;
    edited(Arc::new(workflow::MemoryStore::new())).await;
    through_a_worker(Arc::new(workflow::MemoryStore::new())).await;
    two_in_one_turn(Arc::new(workflow::MemoryStore::new())).await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn approvals_on_postgres() {
    let Some(url) = postgres::url() else {
        return;
    };
    let store = || async { postgres::connect(&url, &postgres::schema("approvals")).await };
    allowed(store().await).await;
    denied(store().await).await;
    edited(store().await).await;
    through_a_worker(store().await).await;
    two_in_one_turn(store().await).await;
    decided_then_gone(store().await).await;
    eprintln!("ran on Postgres");
}

/// Two calls that need approval in one turn: each is a pause of its own, with a token of its
/// own; the first decision sent twice never lands on the second pause.
async fn two_in_one_turn(store: Arc<dyn CheckpointStore>) {
    let runner = Runner::new(store);
    let model = Arc::new(
        Scripted::new().replies([
            ChatResponse::new("")
                .with_tool_call(ToolCall::new("c1", "pay", json!({"cents": 100})))
                .with_tool_call(ToolCall::new("c2", "pay", json!({"cents": 200}))),
            ChatResponse::new("done"),
        ]),
    );
    let effects = Arc::new(Effects::default());
    let buy = Buy {
        agent: agent(&model, &effects),
    };
    let report = runner.start(&buy, "tea".into()).await.expect("starts");
    let Outcome::Suspended(first) = report.outcome else {
        panic!("not suspended");
    };
    assert_eq!(first.payload["call_id"], "c1");
    let first = first.token().expect("a token");
    let report = runner
        .approve(&buy, first, Approval::Allow)
        .await
        .expect("approves");
    let Outcome::Suspended(second) = report.outcome else {
        panic!("not suspended at the second call");
    };
    assert_eq!(second.payload["call_id"], "c2");
    let second = second.token().expect("a token");
    assert_ne!(first, second);
    assert_eq!(*effects.paid.lock().expect("not poisoned"), [100]);

    let again = runner.approve(&buy, first, Approval::Allow).await;
    assert!(
        matches!(again, Err(Error::AlreadyAnswered { repeated: true, .. })),
        "{again:?}"
    );
    assert_eq!(
        runner
            .pending::<Buy>(report.id)
            .await
            .expect("pending")
            .and_then(|p| p.token()),
        Some(second)
    );
    let report = runner
        .approve(&buy, second, Approval::Allow)
        .await
        .expect("approves");
    assert_eq!(report.into_output().expect("finishes"), "done");
    assert_eq!(*effects.paid.lock().expect("not poisoned"), [100, 200]);
    assert_eq!(model.requests().len(), 2);
}

#[tokio::test]
async fn two_approvals_in_one_turn_are_two_pauses_on_sqlite() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    two_in_one_turn(sqlite(&dir)).await;
}
