//! A durable child workflow is a run of its own: its id (derived from the parent's, the step
//! and where it started), the parent link, a checkpoint after each of its steps written with
//! the parent's, its status following the parent's; workers never take it; acting on it on
//! its own is refused, naming the parent. On a `MemoryStore`, a real SQLite file and, with
//! `WORKFLOW_POSTGRES_URL`, a real Postgres server.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use workflow::prelude::*;
use workflow::store::{
    CheckpointStore, Lease, MemoryStore, RunFilter, RunId, RunInfo, RunStatus, WorkflowType,
};
use workflow::{Outcome, Runner, SqliteStore, Workflow};

#[path = "support/postgres.rs"]
mod postgres;

#[path = "compose_durable/grandchildren.rs"]
mod grandchildren;
#[path = "compose_durable/status.rs"]
mod status;

/// A child of three steps whose second fails on its first attempt.
#[derive(Default)]
struct Three {
    runs: [AtomicU32; 3],
}

#[workflow]
impl Three {
    async fn a(&self, x: u32) -> u32 {
        self.runs[0].fetch_add(1, Ordering::SeqCst);
        x + 1
    }

    async fn b(&self, x: u32) -> Result<u32> {
        if self.runs[1].fetch_add(1, Ordering::SeqCst) == 0 {
            return Err(Error::other("the process died here"));
        }
        Ok(x + 10)
    }

    async fn c(&self, x: u32) -> u32 {
        self.runs[2].fetch_add(1, Ordering::SeqCst);
        x + 100
    }

    flow! {
        start -> a -> b -> c -> end;
    }
}

#[derive(Default)]
struct Wrap {
    three: Three,
}

#[workflow]
impl Wrap {
    async fn first(&self, x: u32) -> u32 {
        x
    }

    fn three(&self) -> &Three {
        &self.three
    }

    flow! {
        start -> first -> three -> end;
    }
}

/// A child with a pause.
#[derive(Default)]
struct Ask;

#[workflow]
impl Ask {
    async fn draft(&self, topic: String) -> String {
        format!("a post about {topic}")
    }

    async fn decide(&self, draft: String, approved: bool) -> String {
        if approved {
            draft
        } else {
            "dropped".to_owned()
        }
    }

    flow! {
        start -> draft -> pause decide -> end;
    }
}

#[derive(Default)]
struct Publish {
    ask: Ask,
}

#[workflow]
impl Publish {
    fn ask(&self) -> &Ask {
        &self.ask
    }

    async fn publish(&self, text: String) -> String {
        format!("published: {text}")
    }

    flow! {
        start -> ask -> publish -> end;
    }
}

/// A child of one step, in a loop of its parent.
#[derive(Default)]
struct Plus;

#[workflow]
impl Plus {
    async fn add(&self, x: u32) -> u32 {
        x + 1
    }

    flow! {
        start -> add -> end;
    }
}

#[derive(Default)]
struct Looped {
    plus: Plus,
}

#[workflow]
impl Looped {
    async fn check(&self, n: u32) -> u32 {
        n
    }

    fn plus(&self) -> &Plus {
        &self.plus
    }

    flow! {
        type Output = u32;
        start -> check;
        check -> match {
            n if n >= 2 => end(n),
            n => plus(n) [max 3],
        };
        plus -> check;
    }
}

/// A child whose second step waits until told to go on, to stop its parent in the middle.
#[derive(Default)]
struct Slow {
    entered: tokio::sync::Notify,
}

#[workflow]
impl Slow {
    async fn one(&self, x: u32) -> u32 {
        x + 1
    }

    async fn two(&self, x: u32) -> u32 {
        self.entered.notify_one();
        std::future::pending::<()>().await;
        x
    }

    flow! {
        start -> one -> two -> end;
    }
}

#[derive(Default)]
struct Holder {
    slow: Slow,
}

#[workflow]
impl Holder {
    fn slow(&self) -> &Slow {
        &self.slow
    }

    flow! {
        start -> slow -> end;
    }
}

/// A run of `Holder` driven until its child is in its second step, then dropped, as if its
/// process died there: the parent's id and the child's.
async fn stopped_in_its_child(runner: &Runner) -> (RunId, RunId) {
    let wf = Holder::default();
    let id = runner.create::<Holder>(0).await.expect("created");
    tokio::select! {
        _ = runner.resume(&wf, id) => panic!("the child never ends"),
        () = wf.slow.entered.notified() => {}
    }
    (id, RunId::child(id, "slow", 0))
}

/// The stores to run each test on: memory, a real SQLite file, and the real Postgres server
/// at `WORKFLOW_POSTGRES_URL` (a schema of its own) when it is set.
async fn stores(dir: &tempfile::TempDir) -> Vec<(&'static str, Arc<dyn CheckpointStore>)> {
    let sqlite = SqliteStore::open(dir.path().join("runs.db")).expect("a store");
    let mut stores: Vec<(&'static str, Arc<dyn CheckpointStore>)> = vec![
        ("memory", Arc::new(MemoryStore::new())),
        ("sqlite", Arc::new(sqlite)),
    ];
    if let Some(store) = postgres::store("children").await {
        stores.push(("postgres", store));
    }
    stores
}

/// The checkpoints of run `run`: number, step, status.
async fn steps(runner: &Runner, run: RunId) -> Vec<(u64, String, RunStatus)> {
    let history = runner.history(run).await.expect("its checkpoints");
    history
        .into_iter()
        .map(|c| (c.seq, c.step.into_owned(), c.status))
        .collect()
}

/// The child runs of run `parent`.
async fn children(runner: &Runner, parent: RunId) -> Vec<RunInfo> {
    let listed = runner
        .list(RunFilter::new().children_of(parent))
        .await
        .expect("listed");
    listed.into_runs().expect("rows read back")
}

/// The child's row: its own id, the parent link and the step; one checkpoint per step of the
/// child; a failing child step fails the child run with its parent; a resumed parent goes on
/// under the same child id, and no finished child step runs again.
#[tokio::test]
async fn a_durable_child_is_a_run_of_its_own_that_resumes_under_its_id() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for (name, store) in stores(&dir).await {
        let runner = Runner::new(store);
        let wf = Wrap::default();
        let run = runner.start(&wf, 0).await.expect("created");
        assert!(matches!(run.outcome, Outcome::Failed(_)), "{name}");
        // `first` is checkpoint 1; the child started from it, before its first step.
        let child_id = RunId::child(run.id, "three", 1);
        let child = runner.status(child_id).await.expect("the child's row");
        assert_eq!(child.workflow, "Three", "{name}");
        assert_eq!(child.parent, Some((run.id, 1)), "{name}");
        assert_eq!(child.parent_step.as_deref(), Some("three"), "{name}");
        assert_eq!(
            child.status,
            RunStatus::Failed,
            "{name}: failed with its parent"
        );
        assert!(child.error.is_some(), "{name}");
        assert_eq!(child.step, "b", "{name}");
        let listed = children(&runner, run.id).await;
        assert_eq!(listed.len(), 1, "{name}");
        assert_eq!(listed[0].id, child_id, "{name}");

        let done = runner.resume(&wf, run.id).await.expect("resumed");
        assert_eq!(done.into_output().expect("finished"), 111, "{name}");
        let runs = wf.three.runs.each_ref().map(|n| n.load(Ordering::SeqCst));
        assert_eq!(runs, [1, 2, 1], "{name}: no finished child step ran again");
        let child = runner.status(child_id).await.expect("the child's row");
        assert_eq!(child.status, RunStatus::Finished, "{name}");
        assert_eq!(child.step, "end", "{name}");
        // One checkpoint per step of the child, under the same id across the crash.
        let history = runner.history(child_id).await.expect("its checkpoints");
        let steps: Vec<(u64, &str, RunStatus)> = history
            .iter()
            .map(|c| (c.seq, c.step.as_ref(), c.status))
            .collect();
        assert_eq!(
            steps,
            [
                (0, "b", RunStatus::Running),
                (1, "c", RunStatus::Running),
                (2, "end", RunStatus::Finished),
            ],
            "{name}"
        );
        assert_eq!(history[2].state, r#"{"end":111}"#, "{name}");
        assert_eq!(children(&runner, run.id).await.len(), 1, "{name}");
        // A fork of the parent is another run, whose child is another run too.
        let forked = runner.fork(&wf, run.id, 2).await.expect("forked");
        assert_eq!(forked.into_output().ok(), Some(111), "{name}");
        let fork_id = runner
            .list(RunFilter::new().workflow("Wrap"))
            .await
            .expect("listed")
            .into_runs()
            .expect("reads")
            .into_iter()
            .find(|info| info.id != run.id)
            .expect("the fork")
            .id;
        let fork_child = runner
            .status(RunId::child(fork_id, "three", 1))
            .await
            .expect("the fork's child");
        assert_eq!(fork_child.status, RunStatus::Finished, "{name}");
        assert_eq!(fork_child.parent, Some((fork_id, 1)), "{name}");
        // Only the parents are top-level runs.
        let top = runner
            .list(RunFilter::new().top_level())
            .await
            .expect("listed");
        let top: Vec<RunId> = top
            .into_runs()
            .expect("reads")
            .iter()
            .map(|i| i.id)
            .collect();
        assert!(top.contains(&run.id) && !top.contains(&child_id), "{name}");
    }
}

/// A pause in the child: the child's row is suspended with its parent; answering the parent
/// answers the child, and both complete. Answering, cancelling, sending to, forking or
/// resuming the child on its own is refused, naming the parent.
#[tokio::test]
async fn a_pause_in_the_child_suspends_its_row_and_the_child_is_moved_by_its_parent() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for (name, store) in stores(&dir).await {
        let runner = Runner::new(store);
        let wf = Publish::default();
        let run = runner.start(&wf, "rust".into()).await.expect("created");
        let Outcome::Suspended(pause) = &run.outcome else {
            panic!("{name}: not suspended: {:?}", run.outcome);
        };
        let child_id = RunId::child(run.id, "ask", 0);
        let child = runner.status(child_id).await.expect("the child's row");
        assert_eq!(child.status, RunStatus::Suspended, "{name}");
        assert_eq!(child.step, "decide", "{name}");

        let refused = |error: Error| match error {
            Error::ChildRun { run, parent, step } => {
                assert_eq!(
                    (run, parent, step.as_str()),
                    (child_id, run_id(pause), "ask")
                );
            }
            other => panic!("{name}: {other:?}"),
        };
        refused(runner.cancel(child_id).await.expect_err("refused"));
        let mut token = pause.token().expect("a durable pause has a token");
        token.run = child_id;
        token.seq = 0;
        refused(
            runner
                .record_answer(token, &serde_json::json!(true))
                .await
                .expect_err("refused"),
        );
        refused(runner.resume(&wf.ask, child_id).await.expect_err("refused"));
        refused(
            runner
                .fork(&wf.ask, child_id, 0)
                .await
                .expect_err("refused"),
        );
        let message = runner
            .cancel(child_id)
            .await
            .expect_err("refused")
            .to_string();
        assert!(message.contains(&run.id.to_string()), "{message}");

        // Cancelling the parent cancels its child: another run of the same shows it.
        let other = runner.start(&wf, "go".into()).await.expect("created");
        let other_child = RunId::child(other.id, "ask", 0);
        let cancel = runner.cancel(other.id).await.expect("cancels");
        assert_eq!(cancel, workflow::store::Cancel::Cancelled, "{name}");
        let child = runner.status(other_child).await.expect("the child's row");
        assert_eq!(child.status, RunStatus::Cancelled, "{name}");

        let token = pause.token().expect("a durable pause has a token");
        let done = runner.answer(&wf, token, true).await.expect("answered");
        assert_eq!(
            done.into_output().expect("finished"),
            "published: a post about rust",
            "{name}"
        );
        let child = runner.status(child_id).await.expect("the child's row");
        assert_eq!(child.status, RunStatus::Finished, "{name}");
        let steps: Vec<String> = runner
            .history(child_id)
            .await
            .expect("its checkpoints")
            .into_iter()
            .map(|c| format!("{} {}", c.step, c.status))
            .collect();
        assert_eq!(steps, ["decide suspended", "end finished"], "{name}");
    }
}

/// The run a pause belongs to.
fn run_id(pause: &workflow::Pause) -> RunId {
    pause.token().expect("a durable pause has a token").run
}

/// A child in a loop: one child run per entry of the step.
#[tokio::test]
async fn a_child_in_a_loop_is_one_child_run_per_entry() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for (name, store) in stores(&dir).await {
        let runner = Runner::new(store);
        let run = runner.start(&Looped::default(), 0).await.expect("created");
        assert_eq!(run.into_output().ok(), Some(2), "{name}");
        let run = runner
            .list(RunFilter::new().workflow("Looped"))
            .await
            .expect("listed")
            .into_runs()
            .expect("reads")
            .remove(0);
        let listed = children(&runner, run.id).await;
        assert_eq!(listed.len(), 2, "{name}: {listed:?}");
        for child in &listed {
            assert_eq!(child.status, RunStatus::Finished, "{name}");
            let (parent, started) = child.parent.expect("a parent");
            assert_eq!(parent, run.id, "{name}");
            assert_eq!(child.id, RunId::child(run.id, "plus", started), "{name}");
            let history = runner.history(child.id).await.expect("its checkpoints");
            assert_eq!(history.len(), 1, "{name}");
        }
        assert_ne!(listed[0].parent, listed[1].parent, "{name}");
    }
}

/// A parent stopped in the middle of its child (its worker gone): the child's row is running,
/// with no lease, yet a worker claims the parent only, never the child.
#[tokio::test]
async fn a_worker_never_claims_a_child() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for (name, store) in stores(&dir).await {
        let runner = Runner::new(Arc::clone(&store)).lease(Duration::from_secs(60));
        let (id, child_id) = stopped_in_its_child(&runner).await;
        let child = runner.status(child_id).await.expect("the child's row");
        assert_eq!(child.status, RunStatus::Running, "{name}");
        assert_eq!(child.owner, None, "{name}");

        let types = [
            WorkflowType::new("Holder", <Holder as Workflow>::FINGERPRINT),
            WorkflowType::new("Slow", <Slow as Workflow>::FINGERPRINT),
        ];
        // Once the dropped run's lease is given up (in a task of its own), only the parent
        // can be claimed.
        let lease = Lease::new("test", Duration::from_secs(60));
        let mut claimed = Vec::new();
        for _ in 0..1000 {
            if let Some((info, _)) = store.claim_next(&types, &lease).await.expect("claims") {
                claimed.push(info.id);
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(claimed, [id], "{name}");
        let lease = Lease::new("other", Duration::from_secs(60));
        let next = store.claim_next(&types, &lease).await.expect("claims");
        assert!(next.is_none(), "{name}: {next:?}");
    }
}

/// A parent's checkpoint written before child runs had ids (no `started`) still loads, and
/// the run goes on: its child gets its id from the checkpoint it resumes from.
#[tokio::test]
async fn a_checkpoint_without_where_the_child_started_still_loads() {
    let state: <Wrap as Workflow>::State =
        serde_json::from_value(serde_json::json!({"three": {"state": {"b": 1}, "loops": []}}))
            .expect("an old state reads");
    assert_eq!(<Wrap as Workflow>::step_name(&state), "three");
    let json = serde_json::to_value(&state).expect("serializes");
    assert_eq!(
        json,
        serde_json::json!({"three": {"state": {"b": 1}, "loops": []}})
    );
}

/// A parent that runs `Plus`, then waits at a pause.
#[derive(Default)]
struct ThenAsk {
    plus: Plus,
}

#[workflow]
impl ThenAsk {
    fn plus(&self) -> &Plus {
        &self.plus
    }

    async fn confirm(&self, n: u32, ok: bool) -> u32 {
        if ok {
            n
        } else {
            0
        }
    }

    flow! {
        start -> plus -> pause confirm -> end;
    }
}

/// Retention deletes child runs with their parent only: a finished child of a parent that
/// waits stays; once the parent is deleted, its children are gone too.
#[tokio::test]
async fn child_runs_are_deleted_with_their_parent() {
    use workflow::store::Retention;

    let dir = tempfile::tempdir().expect("a temporary directory");
    for (name, store) in stores(&dir).await {
        let runner = Runner::new(store);
        let waiting = runner.start(&ThenAsk::default(), 1).await.expect("created");
        let Outcome::Suspended(pause) = &waiting.outcome else {
            panic!("{name}: not suspended: {:?}", waiting.outcome);
        };
        let token = pause.token().expect("a durable pause has a token");
        let waiting_child = RunId::child(token.run, "plus", 0);
        let child = runner.status(waiting_child).await.expect("the child's row");
        assert_eq!(child.status, RunStatus::Finished, "{name}");
        let done = runner.start(&Looped::default(), 0).await.expect("created");
        assert!(matches!(done.outcome, Outcome::Finished(_)), "{name}");
        let done = runner
            .list(RunFilter::new().workflow("Looped"))
            .await
            .expect("listed")
            .into_runs()
            .expect("reads")
            .remove(0)
            .id;
        assert_eq!(children(&runner, done).await.len(), 2, "{name}");

        let later = std::time::SystemTime::now() + Duration::from_secs(60);
        let gone = runner
            .delete_runs(Retention::before(later))
            .await
            .expect("deletes");
        assert_eq!(gone, 3, "{name}: the finished parent and its two children");
        assert!(children(&runner, done).await.is_empty(), "{name}");
        let kept = runner.status(waiting_child).await.expect("kept");
        assert_eq!(kept.parent_step.as_deref(), Some("plus"), "{name}");
    }
}
