//! Durable tool loops: a step whose agent calls tools, stopped in the middle of its tool loop
//! (a failed model turn, a failed attempt retried, a process killed inside a tool), then run
//! again: every tool call that had finished is replayed from its record, not run again, and the
//! model is not asked again for the turns it had answered. On the memory store, a real SQLite
//! file, and the Postgres server when `WORKFLOW_POSTGRES_URL` is set. Also: two identical
//! conversations in one step, the elements of a map, a child run, a handoff, a streamed tool
//! loop, `once` blocks, and the records going with their run (prune, retention).

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::TryStreamExt;
use serde_json::json;
use workflow::prelude::*;
use workflow::provider::{ProviderError, ProviderErrorKind, Scripted, ToolCall};
use workflow::store::{CheckpointStore, Retention, RunId};
use workflow::{once, tool, MemoryStore, SqliteStore};

#[path = "support/postgres.rs"]
mod postgres;

#[derive(Debug, Deserialize, JsonSchema)]
struct Order {
    cents: u32,
}

/// A tool that charges a card: counts its calls.
fn charge(charges: &Arc<AtomicU32>) -> impl tool::Tool {
    let charges = Arc::clone(charges);
    tool::from_fn("charge", "Charges the card.", move |order: Order| {
        charges.fetch_add(1, Ordering::SeqCst);
        async move { Ok(format!("charged {}", order.cents)) }
    })
}

fn charge_call(id: &str, cents: u32) -> ToolCall {
    ToolCall::new(id, "charge", json!({ "cents": cents }))
}

/// A model turn that calls `calls`.
fn calls(calls: Vec<ToolCall>) -> ChatResponse {
    calls
        .into_iter()
        .fold(ChatResponse::new(""), ChatResponse::with_tool_call)
}

fn overloaded() -> ProviderError {
    ProviderError::new("scripted", ProviderErrorKind::Server, "overloaded")
}

/// A runner on an SQLite file in a temporary directory, which lives as long as the directory.
fn sqlite_runner() -> (tempfile::TempDir, Runner) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(dir.path().join("runs.db")).expect("opens");
    (dir, Runner::new(Arc::new(store)))
}

fn shop_agent(model: &Arc<Scripted>, charges: &Arc<AtomicU32>) -> Agent {
    Agent::builder(model.clone() as Arc<dyn ChatModel>)
        .name("shop")
        .tool(charge(charges))
        .build()
}

/// One step: the agent's tool loop.
struct Shop {
    agent: Agent,
}

#[workflow]
impl Shop {
    async fn buy(&self, order: String) -> Result<String> {
        self.agent.prompt(&order).await
    }

    flow! {
        start -> buy -> end;
    }
}

/// The first attempt charges twice (one turn, two calls), then its second model turn fails;
/// the run resumed (with a new model, as a new process would have) replays the first turn and
/// both charges, then asks the model for the second turn.
async fn resumed_after_a_failed_turn(store: Arc<dyn CheckpointStore>) {
    let runner = Runner::new(store);
    let charges = Arc::new(AtomicU32::new(0));
    let first = Arc::new(
        Scripted::new()
            .reply(calls(vec![charge_call("c1", 100), charge_call("c2", 200)]))
            .reply(overloaded()),
    );
    let shop = Shop {
        agent: shop_agent(&first, &charges),
    };
    let failed = runner.start(&shop, "Buy two things.".into()).await;
    let failed = failed.expect("the run starts");
    assert!(
        matches!(failed.outcome, Outcome::Failed(_)),
        "{:?}",
        failed.outcome
    );
    assert_eq!(charges.load(Ordering::SeqCst), 2);
    assert_eq!(first.requests().len(), 2);

    let second = Arc::new(
        Scripted::new()
            .reply(calls(vec![charge_call("c3", 300)]))
            .reply("bought"),
    );
    let shop = Shop {
        agent: shop_agent(&second, &charges),
    };
    let resumed = runner.resume(&shop, failed.id).await.expect("resumes");
    assert_eq!(resumed.into_output().expect("finished"), "bought");
    // Each charge ran once: the two of the first attempt were replayed.
    assert_eq!(charges.load(Ordering::SeqCst), 3);
    // The model was asked for the second and third turns only; the second request holds the
    // first turn and the results of its calls, replayed.
    let requests = second.requests();
    assert_eq!(requests.len(), 2);
    let results: Vec<&Message> = requests[0]
        .messages
        .iter()
        .filter(|message| matches!(message, Message::Tool { .. }))
        .collect();
    assert_eq!(
        results,
        [
            &Message::tool_result("c1", "charged 100"),
            &Message::tool_result("c2", "charged 200"),
        ]
    );
}

#[tokio::test]
async fn a_resumed_step_replays_finished_turns_and_calls_on_the_memory_store() {
    resumed_after_a_failed_turn(Arc::new(MemoryStore::new())).await;
}

#[tokio::test]
async fn a_resumed_step_replays_finished_turns_and_calls_on_sqlite() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(dir.path().join("runs.db")).expect("opens");
    resumed_after_a_failed_turn(Arc::new(store)).await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn a_resumed_step_replays_finished_turns_and_calls_on_postgres() {
    if let Some(store) = postgres::store("durable_tools_replay").await {
        resumed_after_a_failed_turn(store).await;
    }
}

/// A step with a retry: the attempt whose second turn fails is retried at once, in the same
/// process, and the new attempt replays what the failed one recorded.
struct Patient {
    agent: Agent,
}

#[workflow]
impl Patient {
    #[step(retry = 1, backoff = "1ms")]
    async fn buy(&self, order: String) -> Result<String> {
        self.agent.prompt(&order).await
    }

    flow! {
        start -> buy -> end;
    }
}

#[tokio::test]
async fn a_retried_attempt_replays_what_the_failed_one_recorded() {
    let (_dir, runner) = sqlite_runner();
    let charges = Arc::new(AtomicU32::new(0));
    let model = Arc::new(
        Scripted::new()
            .reply(calls(vec![charge_call("c1", 100)]))
            .reply(overloaded())
            .reply("bought"),
    );
    let patient = Patient {
        agent: shop_agent(&model, &charges),
    };
    let run = runner.start(&patient, "Buy.".into()).await.expect("runs");
    assert_eq!(run.into_output().expect("finished"), "bought");
    assert_eq!(charges.load(Ordering::SeqCst), 1);
    // Turn 1, the failed turn 2, turn 2 again: turn 1 was not asked again, and the last
    // request holds its call's result, replayed.
    let requests = model.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests[2]
        .messages
        .contains(&Message::tool_result("c1", "charged 100")));
}

/// The same conversation twice in one step: each finds its own records.
struct Twice {
    agent: Agent,
}

#[workflow]
impl Twice {
    async fn buy(&self, order: String) -> Result<String> {
        let first = self.agent.prompt(&order).await?;
        let second = self.agent.prompt(&order).await?;
        Ok(format!("{first} + {second}"))
    }

    flow! {
        start -> buy -> end;
    }
}

#[tokio::test]
async fn two_identical_conversations_in_a_step_replay_each_their_own() {
    let (_dir, runner) = sqlite_runner();
    let charges = Arc::new(AtomicU32::new(0));
    let first = Arc::new(
        Scripted::new()
            .reply(calls(vec![charge_call("c1", 100)]))
            .reply("first")
            .reply(calls(vec![charge_call("c1", 200)]))
            .reply(overloaded()),
    );
    let twice = Twice {
        agent: shop_agent(&first, &charges),
    };
    let failed = runner.start(&twice, "Buy.".into()).await.expect("runs");
    assert!(matches!(failed.outcome, Outcome::Failed(_)));
    assert_eq!(charges.load(Ordering::SeqCst), 2);

    let second = Arc::new(Scripted::new().reply("second"));
    let twice = Twice {
        agent: shop_agent(&second, &charges),
    };
    let resumed = runner.resume(&twice, failed.id).await.expect("resumes");
    assert_eq!(resumed.into_output().expect("finished"), "first + second");
    assert_eq!(charges.load(Ordering::SeqCst), 2);
    let requests = second.requests();
    assert_eq!(requests.len(), 1);
    // The second conversation's own call (same id as the first's, other arguments).
    assert!(requests[0]
        .messages
        .contains(&Message::tool_result("c1", "charged 200")));
}

/// A step that streams its agent's tool loop.
struct Streamed {
    agent: Agent,
}

#[workflow]
impl Streamed {
    async fn buy(&self, order: String) -> Result<String> {
        let text: Vec<String> = self.agent.stream(&order).await?.try_collect().await?;
        Ok(text.concat())
    }

    flow! {
        start -> buy -> end;
    }
}

#[tokio::test]
async fn a_streamed_tool_loop_replays_its_turns_and_calls() {
    let (_dir, runner) = sqlite_runner();
    let charges = Arc::new(AtomicU32::new(0));
    let first = Arc::new(
        Scripted::new()
            .reply(ChatResponse::new("Charging. ").with_tool_call(charge_call("c1", 100)))
            .reply(overloaded()),
    );
    let streamed = Streamed {
        agent: shop_agent(&first, &charges),
    };
    let failed = runner.start(&streamed, "Buy.".into()).await.expect("runs");
    assert!(matches!(failed.outcome, Outcome::Failed(_)));

    let second = Arc::new(Scripted::new().reply("Done."));
    let streamed = Streamed {
        agent: shop_agent(&second, &charges),
    };
    let resumed = runner.resume(&streamed, failed.id).await.expect("resumes");
    // The replayed turn's text comes again, at once.
    assert_eq!(resumed.into_output().expect("finished"), "Charging. Done.");
    assert_eq!(charges.load(Ordering::SeqCst), 1);
    assert_eq!(second.requests().len(), 1);
}

/// A map whose two elements hold the same conversation (same step, same agent name, same
/// request), each with its own model, one after the other: the first finishes (and is saved),
/// the second fails once it has its answer.
struct Pair {
    agents: [Agent; 2],
    fail: Arc<AtomicBool>,
}

#[workflow]
impl Pair {
    async fn split(&self, _order: String) -> Vec<usize> {
        vec![0, 1]
    }

    async fn buy(&self, element: usize) -> Result<String> {
        let text = self.agents[element].prompt("Buy.").await?;
        if element == 1 && self.fail.swap(false, Ordering::SeqCst) {
            return Err(Error::other(std::io::Error::other(
                "the second element failed",
            )));
        }
        Ok(text)
    }

    async fn both(&self, texts: Vec<String>) -> String {
        texts.join(" ")
    }

    flow! {
        start -> split -> each buy [concurrency 1] -> both -> end;
    }
}

#[tokio::test]
async fn elements_of_a_map_replay_each_their_own_conversation() {
    let (_dir, runner) = sqlite_runner();
    let charges = Arc::new(AtomicU32::new(0));
    let script = |cents, text| {
        Arc::new(
            Scripted::new()
                .reply(calls(vec![charge_call("c1", cents)]))
                .reply(text),
        )
    };
    let pair = Pair {
        agents: [
            shop_agent(&script(100, "left"), &charges),
            shop_agent(&script(200, "right"), &charges),
        ],
        fail: Arc::new(AtomicBool::new(true)),
    };
    let failed = runner.start(&pair, "Buy.".into()).await.expect("runs");
    assert!(matches!(failed.outcome, Outcome::Failed(_)));
    assert_eq!(charges.load(Ordering::SeqCst), 2);

    // Models that answer nothing: the second element's turns must be replayed, its own, not
    // those of the first element (saved, not run again).
    let (left, right) = (Arc::new(Scripted::new()), Arc::new(Scripted::new()));
    let pair = Pair {
        agents: [shop_agent(&left, &charges), shop_agent(&right, &charges)],
        fail: Arc::new(AtomicBool::new(false)),
    };
    let resumed = runner.resume(&pair, failed.id).await.expect("resumes");
    assert_eq!(resumed.into_output().expect("finished"), "left right");
    assert_eq!(charges.load(Ordering::SeqCst), 2);
    assert!(left.requests().is_empty() && right.requests().is_empty());
}

/// A workflow that runs `Shop` as its step `shop`: the tool loop runs in a child run, inline
/// in the parent's durable step.
struct Mall {
    shop: Shop,
}

#[workflow]
impl Mall {
    fn shop(&self) -> &Shop {
        &self.shop
    }

    flow! {
        start -> shop -> end;
    }
}

#[tokio::test]
async fn a_tool_loop_in_a_child_run_is_recorded_by_its_durable_parent() {
    let (_dir, runner) = sqlite_runner();
    let charges = Arc::new(AtomicU32::new(0));
    let first = Arc::new(
        Scripted::new()
            .reply(calls(vec![charge_call("c1", 100)]))
            .reply(overloaded()),
    );
    let mall = Mall {
        shop: Shop {
            agent: shop_agent(&first, &charges),
        },
    };
    let failed = runner.start(&mall, "Buy.".into()).await.expect("runs");
    assert!(matches!(failed.outcome, Outcome::Failed(_)));

    let second = Arc::new(Scripted::new().reply("bought"));
    let mall = Mall {
        shop: Shop {
            agent: shop_agent(&second, &charges),
        },
    };
    let resumed = runner.resume(&mall, failed.id).await.expect("resumes");
    assert_eq!(resumed.into_output().expect("finished"), "bought");
    assert_eq!(charges.load(Ordering::SeqCst), 1);
    // Asked for the second turn, after the first turn and its call, replayed.
    let requests = second.requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0]
        .messages
        .contains(&Message::tool_result("c1", "charged 100")));
}

/// A triage agent that hands the conversation to `billing`, which charges.
fn triage(model: &Arc<Scripted>, charges: &Arc<AtomicU32>) -> Agent {
    let billing = Agent::builder(model.clone() as Arc<dyn ChatModel>)
        .name("billing")
        .system("You bill.")
        .tool(charge(charges))
        .build();
    Agent::builder(model.clone() as Arc<dyn ChatModel>)
        .name("triage")
        .system("You route.")
        .handoff(billing)
        .build()
}

#[tokio::test]
async fn a_handoff_replays_with_the_turn_that_made_it() {
    let (_dir, runner) = sqlite_runner();
    let charges = Arc::new(AtomicU32::new(0));
    let handoff = ToolCall::new("h1", "transfer_to_billing", json!({}));
    let first = Arc::new(
        Scripted::new()
            .reply(calls(vec![handoff]))
            .reply(calls(vec![charge_call("c1", 100)]))
            .reply(overloaded()),
    );
    let shop = Shop {
        agent: triage(&first, &charges),
    };
    let failed = runner
        .start(&shop, "Refund me.".into())
        .await
        .expect("runs");
    assert!(matches!(failed.outcome, Outcome::Failed(_)));
    assert_eq!(charges.load(Ordering::SeqCst), 1);

    let second = Arc::new(Scripted::new().reply("refunded"));
    let shop = Shop {
        agent: triage(&second, &charges),
    };
    let resumed = runner.resume(&shop, failed.id).await.expect("resumes");
    assert_eq!(resumed.into_output().expect("finished"), "refunded");
    assert_eq!(charges.load(Ordering::SeqCst), 1);
    // The third turn is billing's: the handoff was replayed, then its charge.
    let requests = second.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].system.as_deref(), Some("You bill."));
    assert!(requests[0]
        .messages
        .contains(&Message::tool_result("c1", "charged 100")));
}

/// A step with a side effect in a `once` block, in a loop, that fails after it.
struct Mailer {
    sent: Arc<AtomicU32>,
    fail: Arc<AtomicBool>,
}

#[workflow]
impl Mailer {
    async fn mail(&self, count: u32) -> Result<u32> {
        let mut receipts = 0;
        for _ in 0..count {
            let sent = Arc::clone(&self.sent);
            receipts += once("email", async move {
                Ok::<_, Error>(sent.fetch_add(1, Ordering::SeqCst) + 1)
            })
            .await?;
        }
        if self.fail.swap(false, Ordering::SeqCst) {
            return Err(Error::other(std::io::Error::other(
                "the mail server hung up",
            )));
        }
        Ok(receipts)
    }

    flow! {
        start -> mail -> end;
    }
}

#[tokio::test]
async fn a_once_block_runs_once_per_step_and_replays_its_value() {
    let (_dir, runner) = sqlite_runner();
    let mailer = Mailer {
        sent: Arc::new(AtomicU32::new(0)),
        fail: Arc::new(AtomicBool::new(true)),
    };
    let failed = runner.start(&mailer, 3).await.expect("runs");
    assert!(matches!(failed.outcome, Outcome::Failed(_)));
    assert_eq!(mailer.sent.load(Ordering::SeqCst), 3);
    let resumed = runner.resume(&mailer, failed.id).await.expect("resumes");
    // Each of the three calls got its own recorded value back: 1 + 2 + 3.
    assert_eq!(resumed.into_output().expect("finished"), 6);
    assert_eq!(mailer.sent.load(Ordering::SeqCst), 3);

    // In memory, nothing is recorded: the block just runs.
    let mailer = Mailer {
        sent: Arc::new(AtomicU32::new(0)),
        fail: Arc::new(AtomicBool::new(false)),
    };
    assert_eq!(mailer.run(2).await.expect("runs"), 3);
    assert_eq!(mailer.sent.load(Ordering::SeqCst), 2);
}

/// The rows of `workflow_calls` in the SQLite file at `path`.
fn recorded_rows(path: &Path) -> i64 {
    let db = rusqlite::Connection::open(path).expect("opens");
    db.query_row("SELECT count(*) FROM workflow_calls", [], |row| row.get(0))
        .expect("counts")
}

#[tokio::test]
async fn records_go_with_their_step_on_prune_and_with_their_run() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("runs.db");
    let store: Arc<dyn CheckpointStore> = Arc::new(SqliteStore::open(&path).expect("opens"));
    let runner = Runner::new(Arc::clone(&store));
    let charges = Arc::new(AtomicU32::new(0));

    // A finished run: its step's records stay until the run is pruned.
    let model = Arc::new(
        Scripted::new()
            .reply(calls(vec![charge_call("c1", 100)]))
            .reply("bought"),
    );
    let shop = Shop {
        agent: shop_agent(&model, &charges),
    };
    let finished = runner.start(&shop, "Buy.".into()).await.expect("runs");
    let finished = finished.id;
    // Turn 1, its call, turn 2.
    assert_eq!(store.calls(finished, 0).await.expect("reads").len(), 3);
    runner.prune_history(finished, 10).await.expect("prunes");
    assert!(store.calls(finished, 0).await.expect("reads").is_empty());
    assert_eq!(recorded_rows(&path), 0);

    // A failed run keeps the records of its step in flight through a prune, not a deletion.
    let model = Arc::new(
        Scripted::new()
            .reply(calls(vec![charge_call("c1", 100)]))
            .reply(overloaded()),
    );
    let shop = Shop {
        agent: shop_agent(&model, &charges),
    };
    let failed = runner.start(&shop, "Buy.".into()).await.expect("runs");
    runner.prune_history(failed.id, 1).await.expect("prunes");
    assert_eq!(recorded_rows(&path), 2);
    let later = SystemTime::now() + Duration::from_secs(60);
    let gone = runner
        .delete_runs(Retention::before(later).and_failed())
        .await;
    assert_eq!(gone.expect("deletes"), 2);
    assert_eq!(recorded_rows(&path), 0);
}

/// What the killed child and the parent that resumes after it share: the store and the file
/// of side effects.
const RUN: &str = "WORKFLOW_DURABLE_TOOLS_RUN";
const DIR: &str = "WORKFLOW_DURABLE_TOOLS_DIR";

/// Appends `line` to the side effects in `dir`, synced: it survives the process.
fn effect(dir: &Path, line: &str) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("effects.txt"))
        .expect("opens the effects");
    writeln!(file, "{line}").expect("writes");
    file.sync_all().expect("syncs");
}

/// The agent of the killed run: `charge` writes an effect; `ship` writes one too, then, in the
/// child process, aborts it (in the middle of the tool loop, the call in flight).
fn crashing_agent(model: &Arc<Scripted>, dir: &Path) -> Agent {
    let (charged, shipped) = (dir.to_owned(), dir.to_owned());
    let charge = tool::from_fn("charge", "Charges.", move |order: Order| {
        effect(&charged, &format!("charge {}", order.cents));
        async move { Ok("charged") }
    });
    let ship = tool::from_fn("ship", "Ships.", move |_: serde_json::Value| {
        effect(&shipped, "ship");
        if std::env::var_os(RUN).is_some() {
            std::process::abort();
        }
        async move { Ok("shipped") }
    });
    Agent::builder(model.clone() as Arc<dyn ChatModel>)
        .name("shop")
        .tool(charge)
        .tool(ship)
        .build()
}

/// The child: resumes the run in `WORKFLOW_DURABLE_TOOLS_RUN`, whose `ship` call aborts it.
/// Run directly (no such variable), it does nothing.
#[test]
fn child_process() {
    let (Some(run), Some(dir)) = (std::env::var_os(RUN), std::env::var_os(DIR)) else {
        return;
    };
    let run: RunId = run
        .to_str()
        .and_then(|id| id.parse().ok())
        .expect("a run id");
    let dir = Path::new(&dir);
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let store = SqliteStore::open(dir.join("runs.db")).expect("opens");
        let runner = Runner::new(Arc::new(store)).lease(Duration::from_millis(300));
        let model = Arc::new(
            Scripted::new()
                .reply(calls(vec![charge_call("c1", 100)]))
                .reply(calls(vec![ToolCall::new("c2", "ship", json!({}))])),
        );
        let shop = Shop {
            agent: crashing_agent(&model, dir),
        };
        let _ = runner.resume(&shop, run).await;
    });
    panic!("the `ship` tool should have aborted the process");
}

#[tokio::test]
async fn a_process_killed_in_a_tool_loop_runs_only_the_call_in_flight_again() {
    let (dir, runner) = sqlite_runner();
    let run = runner
        .create::<Shop>("Buy and ship.".into())
        .await
        .expect("creates");

    let status = std::process::Command::new(std::env::current_exe().expect("this test binary"))
        .args([
            "--exact",
            "child_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(RUN, run.to_string())
        .env(DIR, dir.path())
        .status()
        .expect("runs the child");
    assert!(!status.success(), "the child was not killed: {status}");

    // The resuming process's model answers the third turn only.
    let model = Arc::new(Scripted::new().reply("bought and shipped"));
    let shop = Shop {
        agent: crashing_agent(&model, dir.path()),
    };
    let resumed = loop {
        match runner.resume(&shop, run).await {
            // The dead child's lease has not expired yet.
            Err(Error::RunOwned { .. }) => tokio::time::sleep(Duration::from_millis(50)).await,
            other => break other.expect("resumes"),
        }
    };
    assert_eq!(
        resumed.into_output().expect("finished"),
        "bought and shipped"
    );
    assert_eq!(model.requests().len(), 1);
    let effects = std::fs::read_to_string(dir.path().join("effects.txt")).expect("reads");
    // The charge ran once; the call in flight when the process died ran again.
    assert_eq!(
        effects.lines().collect::<Vec<_>>(),
        ["charge 100", "ship", "ship"]
    );
}
