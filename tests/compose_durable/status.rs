//! A durable child run's status in the edge cases: it never shows waiting under a parent that
//! goes on, nor running under a parent that waits, nor in flight under a parent a worker's
//! sweep cancelled. On a `MemoryStore`, a real SQLite file and, with `WORKFLOW_POSTGRES_URL`,
//! a real Postgres server.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use workflow::prelude::*;
use workflow::provider::{Scripted, ToolCall};
use workflow::store::{Cancel, Lease, RunId, RunInfo, RunStatus, WorkflowType};
use workflow::{tool, Approval, Outcome, Runner, Workflow};

use super::{steps, stopped_in_its_child, stores, Ask, Holder};

/// A parent whose one step is `Ask`, the child with a pause.
#[derive(Default)]
struct Publish {
    ask: Ask,
}

#[workflow]
impl Publish {
    fn ask(&self) -> &Ask {
        &self.ask
    }

    flow! {
        start -> ask -> end;
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
struct Payment {
    cents: u32,
}

/// A child whose second step's agent calls a tool that needs a human's approval.
struct Buy {
    agent: Agent,
}

#[workflow]
impl Buy {
    async fn pick(&self, item: String) -> String {
        item
    }

    async fn buy(&self, item: String) -> Result<String> {
        self.agent.prompt(&format!("Buy {item}.")).await
    }

    flow! {
        start -> pick -> buy -> end;
    }
}

struct Shop {
    buy: Buy,
}

#[workflow]
impl Shop {
    fn buy(&self) -> &Buy {
        &self.buy
    }

    flow! {
        start -> buy -> end;
    }
}

fn shop() -> Shop {
    let model = Arc::new(Scripted::new().replies([
        ChatResponse::new("").with_tool_call(ToolCall::new("c1", "pay", json!({"cents": 500}))),
        ChatResponse::new("done"),
    ]));
    let pay = tool::from_fn("pay", "Pays an amount.", |payment: Payment| async move {
        Ok(format!("paid {}", payment.cents))
    });
    let agent = Agent::builder(model as Arc<dyn ChatModel>)
        .name("buyer")
        .tool(pay)
        .needs_approval("pay")
        .build();
    Shop { buy: Buy { agent } }
}

async fn status(runner: &Runner, run: RunId) -> RunInfo {
    runner.status(run).await.expect("the run's row")
}

/// Answering the parent's pause, which is its child's, saves the answered state and leaves
/// the run to a worker: the child's row goes back to running with its parent's, before the
/// child takes another step; then both finish.
#[tokio::test]
async fn an_answered_pause_sets_the_waiting_child_running_with_its_parent() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for (name, store) in stores(&dir).await {
        let runner = Runner::new(store);
        let wf = Publish::default();
        let run = runner.start(&wf, "rust".into()).await.expect("created");
        let Outcome::Suspended(pause) = &run.outcome else {
            panic!("{name}: not suspended: {:?}", run.outcome);
        };
        let child_id = RunId::child(run.id, "ask", 0);
        assert_eq!(status(&runner, child_id).await.status, RunStatus::Suspended);

        let token = pause.token().expect("a durable pause has a token");
        runner
            .submit_answer::<Publish, bool>(token, true)
            .await
            .expect("answered");
        assert_eq!(status(&runner, run.id).await.status, RunStatus::Running);
        let child = status(&runner, child_id).await;
        assert_eq!(child.status, RunStatus::Running, "{name}: with its parent");
        assert_eq!(child.step, "decide", "{name}: no step taken yet");

        let done = runner.resume(&wf, run.id).await.expect("resumed");
        assert_eq!(
            done.into_output().expect("finished"),
            "a post about rust",
            "{name}"
        );
        assert_eq!(status(&runner, child_id).await.status, RunStatus::Finished);
    }
}

/// A tool call of the child's step waits for an approval: the parent is suspended, and the
/// child's row with it; the decision sets both running again; then both finish.
#[tokio::test]
async fn a_child_waiting_for_an_approval_is_suspended_with_its_parent() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for (name, store) in stores(&dir).await {
        let runner = Runner::new(store);
        let wf = shop();
        let run = runner.start(&wf, "tea".into()).await.expect("created");
        let Outcome::Suspended(pause) = &run.outcome else {
            panic!("{name}: not suspended: {:?}", run.outcome);
        };
        assert!(pause.is_approval(), "{name}");
        assert_eq!(status(&runner, run.id).await.status, RunStatus::Suspended);
        let child_id = RunId::child(run.id, "buy", 0);
        let child = status(&runner, child_id).await;
        assert_eq!(
            child.status,
            RunStatus::Suspended,
            "{name}: with its parent"
        );
        assert_eq!(child.step, "buy", "{name}");

        let token = pause.token().expect("a durable pause has a token");
        let allow = serde_json::to_value(Approval::Allow).expect("serializes");
        runner
            .submit_answer_json::<Shop>(token, allow)
            .await
            .expect("decided");
        assert_eq!(status(&runner, run.id).await.status, RunStatus::Running);
        let child = status(&runner, child_id).await;
        assert_eq!(child.status, RunStatus::Running, "{name}: with its parent");

        let done = runner.resume(&wf, run.id).await.expect("resumed");
        assert_eq!(done.into_output().expect("finished"), "done", "{name}");
        assert_eq!(status(&runner, child_id).await.status, RunStatus::Finished);
    }
}

/// A parent asked to stop while leased, whose holder died: a worker's claim records it as
/// cancelled once its lease expired, and its child in flight ends cancelled with it.
#[tokio::test]
async fn a_worker_sweeping_a_cancelled_parent_ends_its_child() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for (name, store) in stores(&dir).await {
        let runner = Runner::new(Arc::clone(&store)).lease(Duration::from_secs(60));
        let (id, child_id) = stopped_in_its_child(&runner).await;
        assert_eq!(status(&runner, child_id).await.status, RunStatus::Running);

        // A holder that dies: its lease outlives the cancel request, then expires. (The
        // dropped run gives its own lease up in a task of its own first.)
        let ttl = Duration::from_secs(1);
        let dying = Lease::new("dying", ttl);
        let mut claimed = false;
        for _ in 0..1000 {
            if store.claim(id, &dying).await.is_ok() {
                claimed = true;
                break;
            }
            tokio::task::yield_now().await;
        }
        assert!(claimed, "{name}: the dropped run's lease was given up");
        let cancel = runner.cancel(id).await.expect("cancels");
        assert_eq!(cancel, Cancel::Requested, "{name}: its holder is live");
        assert_eq!(status(&runner, child_id).await.status, RunStatus::Running);
        tokio::time::sleep(ttl + Duration::from_millis(200)).await;

        let types = [WorkflowType::new(
            "Holder",
            <Holder as Workflow>::FINGERPRINT,
        )];
        let lease = Lease::new("worker", Duration::from_secs(60));
        let next = store.claim_next(&types, &lease).await.expect("claims");
        assert!(next.is_none(), "{name}: {next:?}");
        assert_eq!(status(&runner, id).await.status, RunStatus::Cancelled);
        let child = status(&runner, child_id).await;
        assert_eq!(
            child.status,
            RunStatus::Cancelled,
            "{name}: with its parent"
        );
        assert!(child.error.is_some(), "{name}");
    }
}

/// An agent that calls `pay`, a tool that needs a human's approval, then says it is done.
fn buyer() -> Agent {
    let model = Arc::new(Scripted::new().replies([
        ChatResponse::new("").with_tool_call(ToolCall::new("c1", "pay", json!({"cents": 500}))),
        ChatResponse::new("done"),
    ]));
    let pay = tool::from_fn("pay", "Pays an amount.", |payment: Payment| async move {
        Ok(format!("paid {}", payment.cents))
    });
    Agent::builder(model as Arc<dyn ChatModel>)
        .name("buyer")
        .tool(pay)
        .needs_approval("pay")
        .build()
}

/// A child whose first step's agent calls a tool that needs a human's approval.
struct BuyNow {
    agent: Agent,
}

#[workflow]
impl BuyNow {
    async fn buy(&self, item: String) -> Result<String> {
        self.agent.prompt(&format!("Buy {item}.")).await
    }

    flow! {
        start -> buy -> end;
    }
}

/// `BuyNow` after a step of its parent's.
struct ShopNow {
    now: BuyNow,
}

#[workflow]
impl ShopNow {
    async fn pick(&self, item: String) -> String {
        item
    }

    fn now(&self) -> &BuyNow {
        &self.now
    }

    flow! {
        start -> pick -> now -> end;
    }
}

/// A child whose first step is `BuyNow`.
struct Errand {
    now: BuyNow,
}

#[workflow]
impl Errand {
    fn now(&self) -> &BuyNow {
        &self.now
    }

    flow! {
        start -> now -> end;
    }
}

/// `Errand` after a step of its parent's.
struct ErrandTop {
    errand: Errand,
}

#[workflow]
impl ErrandTop {
    async fn pick(&self, item: String) -> String {
        item
    }

    fn errand(&self) -> &Errand {
        &self.errand
    }

    flow! {
        start -> pick -> errand -> end;
    }
}

/// Checks that each run of `runs` has status `status`, on store `name`.
async fn all_are(runner: &Runner, runs: &[RunId], status: RunStatus, name: &str) {
    for &run in runs {
        let info = runner.status(run).await.expect("a row");
        assert_eq!(info.status, status, "{name}: {}", info.workflow);
    }
}

/// Allows the tool call `pause` waits for, and checks that the run then finished.
async fn allowed<W: Workflow<Output = String>>(
    runner: &Runner,
    wf: &W,
    pause: &workflow::Pause,
    name: &str,
) {
    let token = pause.token().expect("a durable pause has a token");
    let done = runner
        .approve(wf, token, Approval::Allow)
        .await
        .expect("decided");
    assert_eq!(done.into_output().expect("finished"), "done", "{name}");
}

/// `ShopNow` after a step of its parent's: its `BuyNow` runs under a child with a
/// checkpoint.
struct ShopTop {
    shop: ShopNow,
}

#[workflow]
impl ShopTop {
    async fn pick(&self, item: String) -> String {
        item
    }

    fn shop(&self) -> &ShopNow {
        &self.shop
    }

    flow! {
        start -> pick -> shop -> end;
    }
}

/// A child whose first step waits for the approval of a tool call has its row (suspended,
/// its checkpoint 0) from its parent's write that suspends, and started from the parent's
/// checkpoint that step started from; the decision sets it running with its parent, and its
/// step appends to it: at one level, at two (a child whose first step is such a child), and
/// under a child that has a checkpoint already (started from that one).
#[tokio::test]
async fn a_child_whose_first_step_waits_for_an_approval_has_its_row() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for (name, store) in stores(&dir).await {
        let runner = Runner::new(store);
        let allow = serde_json::to_value(Approval::Allow).expect("serializes");
        let waits = |step: &str| (0, step.to_owned(), RunStatus::Suspended);

        let wf = ShopNow {
            now: BuyNow { agent: buyer() },
        };
        let run = runner.start(&wf, "tea".into()).await.expect("created");
        let Outcome::Suspended(pause) = &run.outcome else {
            panic!("{name}: not suspended: {:?}", run.outcome);
        };
        assert!(pause.is_approval(), "{name}");
        // The parent's checkpoint 1, after `pick`, is where the child's step started.
        let child = RunId::child(run.id, "now", 1);
        let info = runner.status(child).await.expect("the child's row");
        assert_eq!(info.status, RunStatus::Suspended, "{name}");
        assert_eq!(info.parent, Some((run.id, 1)), "{name}");
        assert_eq!(info.parent_step.as_deref(), Some("now"), "{name}");
        assert_eq!(steps(&runner, child).await, [waits("buy")], "{name}");

        let token = pause.token().expect("a durable pause has a token");
        runner
            .submit_answer_json::<ShopNow>(token, allow.clone())
            .await
            .expect("decided");
        assert_eq!(status(&runner, child).await.status, RunStatus::Running);
        let done = runner.resume(&wf, run.id).await.expect("resumed");
        assert_eq!(done.into_output().expect("finished"), "done", "{name}");
        let ended = (1, "end".to_owned(), RunStatus::Finished);
        assert_eq!(
            steps(&runner, child).await,
            [waits("buy"), ended.clone()],
            "{name}"
        );
        let listed = runner
            .list(workflow::store::RunFilter::new().children_of(run.id))
            .await
            .expect("listed")
            .into_runs()
            .expect("read back");
        assert_eq!(listed.len(), 1, "{name}: one child run");

        let wf = ErrandTop {
            errand: Errand {
                now: BuyNow { agent: buyer() },
            },
        };
        let run = runner.start(&wf, "tea".into()).await.expect("created");
        let Outcome::Suspended(pause) = &run.outcome else {
            panic!("{name}: not suspended: {:?}", run.outcome);
        };
        let errand = RunId::child(run.id, "errand", 1);
        let now = RunId::child(errand, "now", 0);
        all_are(&runner, &[errand, now], RunStatus::Suspended, name).await;
        assert_eq!(status(&runner, now).await.parent, Some((errand, 0)));
        assert_eq!(steps(&runner, errand).await, [waits("now")], "{name}");
        assert_eq!(steps(&runner, now).await, [waits("buy")], "{name}");

        allowed(&runner, &wf, pause, name).await;
        all_are(&runner, &[run.id, errand, now], RunStatus::Finished, name).await;
        assert_eq!(
            steps(&runner, now).await,
            [waits("buy"), ended.clone()],
            "{name}"
        );

        let wf = ShopTop {
            shop: ShopNow {
                now: BuyNow { agent: buyer() },
            },
        };
        let run = runner.start(&wf, "tea".into()).await.expect("created");
        let Outcome::Suspended(pause) = &run.outcome else {
            panic!("{name}: not suspended: {:?}", run.outcome);
        };
        // `shop` started from the parent's checkpoint 1; its `pick` made its checkpoint 0,
        // which its `now` started from.
        let shop = RunId::child(run.id, "shop", 1);
        let now = RunId::child(shop, "now", 0);
        all_are(&runner, &[shop, now], RunStatus::Suspended, name).await;
        assert_eq!(status(&runner, now).await.parent, Some((shop, 0)));
        assert_eq!(steps(&runner, now).await, [waits("buy")], "{name}");

        allowed(&runner, &wf, pause, name).await;
        all_are(&runner, &[run.id, shop, now], RunStatus::Finished, name).await;
        assert_eq!(steps(&runner, now).await, [waits("buy"), ended], "{name}");
        let listed = runner
            .list(workflow::store::RunFilter::new().children_of(shop))
            .await
            .expect("listed")
            .into_runs()
            .expect("read back");
        assert_eq!(listed.len(), 1, "{name}: one child run of the child");
    }
}
