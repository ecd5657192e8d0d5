//! A child run's own child runs (grandchildren, at any depth) are durable runs too: rows of
//! their own under their direct parent, a checkpoint after each of their steps written with
//! the top parent's, statuses that follow it, cancelled and deleted with it. And a child that
//! waits at a pause before any of its steps finished has its row from the parent's write that
//! waits. On a `MemoryStore`, a real SQLite file and, with `WORKFLOW_POSTGRES_URL`, a real
//! Postgres server.

use std::sync::atomic::Ordering;
use std::time::Duration;

use workflow::prelude::*;
use workflow::store::{Cancel, Checkpoint, NewRun, Retention, RunId, RunStatus};
use workflow::{Answer, Outcome, Runner, Workflow};

use super::{children, steps, stores, Ask, Three};

/// A child with a step of its own before and after `Three`, its child.
#[derive(Default)]
struct Middle {
    three: Three,
}

#[workflow]
impl Middle {
    async fn pre(&self, x: u32) -> u32 {
        x + 1000
    }

    fn three(&self) -> &Three {
        &self.three
    }

    async fn post(&self, x: u32) -> u32 {
        x + 10_000
    }

    flow! {
        start -> pre -> three -> post -> end;
    }
}

/// The top of three levels: `Top` runs `Middle`, which runs `Three`.
#[derive(Default)]
struct Top {
    middle: Middle,
}

#[workflow]
impl Top {
    fn middle(&self) -> &Middle {
        &self.middle
    }

    flow! {
        start -> middle -> end;
    }
}

/// Three levels: the grandchild's row is a child run of the child, with a checkpoint after
/// each of its steps; it fails with the top parent when its step fails (the process died
/// there), and a resumed top parent runs no finished step of it again, under the same ids.
#[tokio::test]
async fn a_grandchild_is_a_child_run_of_its_child_that_resumes_under_its_id() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for (name, store) in stores(&dir).await {
        let runner = Runner::new(store);
        let wf = Top::default();
        let run = runner.start(&wf, 0).await.expect("created");
        assert!(matches!(run.outcome, Outcome::Failed(_)), "{name}");
        // `Middle` started from the top's checkpoint 0; `Three` from the middle's checkpoint
        // 0, the one after `pre`.
        let middle = RunId::child(run.id, "middle", 0);
        let three = RunId::child(middle, "three", 0);
        let listed: Vec<RunId> = children(&runner, run.id)
            .await
            .iter()
            .map(|i| i.id)
            .collect();
        assert_eq!(listed, [middle], "{name}: the direct children only");
        let listed: Vec<RunId> = children(&runner, middle)
            .await
            .iter()
            .map(|i| i.id)
            .collect();
        assert_eq!(listed, [three], "{name}");
        let info = runner.status(three).await.expect("the grandchild's row");
        assert_eq!(info.workflow, "Three", "{name}");
        assert_eq!(info.parent, Some((middle, 0)), "{name}");
        assert_eq!(info.parent_step.as_deref(), Some("three"), "{name}");
        assert_eq!(info.step, "b", "{name}");
        for id in [run.id, middle, three] {
            let info = runner.status(id).await.expect("a row");
            assert_eq!(info.status, RunStatus::Failed, "{name}: {}", info.workflow);
        }
        // Acting on the grandchild on its own names its direct parent.
        match runner.cancel(three).await.expect_err("refused") {
            Error::ChildRun { run, parent, step } => {
                assert_eq!(
                    (run, parent, step.as_str()),
                    (three, middle, "three"),
                    "{name}"
                );
            }
            other => panic!("{name}: {other:?}"),
        }

        let done = runner.resume(&wf, run.id).await.expect("resumed");
        assert_eq!(done.into_output().expect("finished"), 11_111, "{name}");
        let ran = wf
            .middle
            .three
            .runs
            .each_ref()
            .map(|n| n.load(Ordering::SeqCst));
        assert_eq!(
            ran,
            [1, 2, 1],
            "{name}: no finished grandchild step ran again"
        );
        for id in [run.id, middle, three] {
            let info = runner.status(id).await.expect("a row");
            assert_eq!(
                info.status,
                RunStatus::Finished,
                "{name}: {}",
                info.workflow
            );
        }
        let running = |seq: u64, step: &str| (seq, step.to_owned(), RunStatus::Running);
        let finished = |seq: u64| (seq, "end".to_owned(), RunStatus::Finished);
        assert_eq!(
            steps(&runner, three).await,
            [running(0, "b"), running(1, "c"), finished(2)],
            "{name}"
        );
        let history = runner.history(three).await.expect("its checkpoints");
        assert_eq!(history[2].state, r#"{"end":1111}"#, "{name}");
        // The middle's: after `pre`, after each step of `Three` in its step `three` (the
        // one that failed written nothing), the step's end, after `post`.
        assert_eq!(
            steps(&runner, middle).await,
            [
                running(0, "three"),
                running(1, "three"),
                running(2, "three"),
                running(3, "three"),
                running(4, "post"),
                finished(5),
            ],
            "{name}"
        );
        assert_eq!(children(&runner, middle).await.len(), 1, "{name}");
    }
}

/// The middle of three levels, whose step is `Ask`, the child with a pause.
#[derive(Default)]
struct AskMiddle {
    ask: Ask,
}

#[workflow]
impl AskMiddle {
    async fn pre(&self, topic: String) -> String {
        topic
    }

    fn ask(&self) -> &Ask {
        &self.ask
    }

    flow! {
        start -> pre -> ask -> end;
    }
}

#[derive(Default)]
struct AskTop {
    middle: AskMiddle,
}

#[workflow]
impl AskTop {
    fn middle(&self) -> &AskMiddle {
        &self.middle
    }

    flow! {
        start -> middle -> end;
    }
}

/// A pause in the grandchild: all three rows wait, and go on, with the top parent; cancelling
/// the top parent cancels the whole tree; retention deletes the whole tree of a finished top
/// parent with it (and keeps the cancelled one: retention deletes finished runs by default).
#[tokio::test]
async fn a_grandchild_waits_is_cancelled_and_is_deleted_with_its_top_parent() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for (name, store) in stores(&dir).await {
        let runner = Runner::new(store);
        let wf = AskTop::default();
        let tree = |top: RunId| {
            let middle = RunId::child(top, "middle", 0);
            [top, middle, RunId::child(middle, "ask", 0)]
        };
        let statuses = |ids: [RunId; 3]| {
            let runner = &runner;
            async move {
                let mut statuses = Vec::new();
                for id in ids {
                    statuses.push(runner.status(id).await.expect("a row").status);
                }
                statuses
            }
        };
        let waiting = runner.start(&wf, "rust".into()).await.expect("created");
        let Outcome::Suspended(pause) = &waiting.outcome else {
            panic!("{name}: not suspended: {:?}", waiting.outcome);
        };
        let waiting = tree(waiting.id);
        assert_eq!(
            statuses(waiting).await,
            [RunStatus::Suspended; 3],
            "{name}: the tree waits with its top"
        );
        let info = runner
            .status(waiting[2])
            .await
            .expect("the grandchild's row");
        assert_eq!(info.step, "decide", "{name}");

        let cancelled = runner.start(&wf, "go".into()).await.expect("created");
        let cancelled = tree(cancelled.id);
        let cancel = runner.cancel(cancelled[0]).await.expect("cancels");
        assert_eq!(cancel, Cancel::Cancelled, "{name}");
        assert_eq!(
            statuses(cancelled).await,
            [RunStatus::Cancelled; 3],
            "{name}: cancelling the top cancels the tree"
        );
        for id in &cancelled[1..] {
            let info = runner.status(*id).await.expect("a row");
            assert!(info.error.is_some(), "{name}");
        }

        let token = pause.token().expect("a durable pause has a token");
        let done = runner.answer(&wf, token, true).await.expect("answered");
        assert_eq!(
            done.into_output().expect("finished"),
            "a post about rust",
            "{name}"
        );
        assert_eq!(statuses(waiting).await, [RunStatus::Finished; 3], "{name}");
        let grandchild: Vec<String> = runner
            .history(waiting[2])
            .await
            .expect("its checkpoints")
            .into_iter()
            .map(|c| format!("{} {}", c.step, c.status))
            .collect();
        assert_eq!(grandchild, ["decide suspended", "end finished"], "{name}");

        let later = std::time::SystemTime::now() + Duration::from_secs(60);
        let gone = runner
            .delete_runs(Retention::before(later))
            .await
            .expect("deletes");
        assert_eq!(gone, 3, "{name}: the finished tree of three runs");
        for id in cancelled {
            let info = runner.status(id).await.expect("kept");
            assert_eq!(info.status, RunStatus::Cancelled, "{name}");
        }
        for id in waiting {
            assert!(
                matches!(runner.status(id).await, Err(Error::RunNotFound { .. })),
                "{name}"
            );
            let history = runner.history(id).await.unwrap_or_default();
            assert!(history.is_empty(), "{name}: its checkpoints are gone");
        }
    }
}

/// A child whose first step waits at a pause.
#[derive(Default)]
struct Confirm;

#[workflow]
impl Confirm {
    async fn decide(&self, topic: String, ok: bool) -> String {
        if ok {
            topic
        } else {
            "dropped".to_owned()
        }
    }

    flow! {
        start -> pause decide -> end;
    }
}

/// A child that waits at a pause before any step of it runs, after a step of its parent.
#[derive(Default)]
struct ConfirmFirst {
    confirm: Confirm,
}

#[workflow]
impl ConfirmFirst {
    async fn prep(&self, topic: String) -> String {
        topic
    }

    fn confirm(&self) -> &Confirm {
        &self.confirm
    }

    async fn shout(&self, text: String) -> String {
        text.to_uppercase()
    }

    flow! {
        start -> prep -> confirm -> shout -> end;
    }
}

/// A child whose first step is `Confirm`: it waits before any step of its own, too.
#[derive(Default)]
struct Shout {
    confirm: Confirm,
}

#[workflow]
impl Shout {
    fn confirm(&self) -> &Confirm {
        &self.confirm
    }

    async fn shout(&self, text: String) -> String {
        text.to_uppercase()
    }

    flow! {
        start -> confirm -> shout -> end;
    }
}

/// Its parent, after a step of its own.
#[derive(Default)]
struct ConfirmTop {
    first: Shout,
}

#[workflow]
impl ConfirmTop {
    async fn prep(&self, topic: String) -> String {
        topic
    }

    fn first(&self) -> &Shout {
        &self.first
    }

    flow! {
        start -> prep -> first -> end;
    }
}

/// A child that waits at a pause before any of its steps finished has its row, suspended at
/// its checkpoint 0, from its parent's write that waits (its creation, if the run's first
/// state holds it), and started from that checkpoint of the parent's; after the answer its
/// steps append to it: at one level and at two.
#[tokio::test]
async fn a_child_that_waits_before_its_first_step_has_its_row() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for (name, store) in stores(&dir).await {
        let runner = Runner::new(store);
        let wf = ConfirmFirst::default();
        let run = runner.start(&wf, "rust".into()).await.expect("created");
        let Outcome::Suspended(pause) = &run.outcome else {
            panic!("{name}: not suspended: {:?}", run.outcome);
        };
        // The parent's checkpoint 1, after `prep`, holds the child waiting.
        let child = RunId::child(run.id, "confirm", 1);
        let info = runner.status(child).await.expect("the child's row");
        assert_eq!(info.status, RunStatus::Suspended, "{name}");
        assert_eq!(info.parent, Some((run.id, 1)), "{name}");
        let suspended = (0, "decide".to_owned(), RunStatus::Suspended);
        assert_eq!(
            steps(&runner, child).await,
            std::slice::from_ref(&suspended),
            "{name}"
        );
        let token = pause.token().expect("a durable pause has a token");
        let done = runner.answer(&wf, token, true).await.expect("answered");
        assert_eq!(done.into_output().expect("finished"), "RUST", "{name}");
        let ended = (1, "end".to_owned(), RunStatus::Finished);
        assert_eq!(
            steps(&runner, child).await,
            [suspended.clone(), ended.clone()],
            "{name}"
        );
        assert_eq!(
            children(&runner, run.id).await.len(),
            1,
            "{name}: one child run"
        );

        let wf = ConfirmTop::default();
        let run = runner.start(&wf, "go".into()).await.expect("created");
        let Outcome::Suspended(pause) = &run.outcome else {
            panic!("{name}: not suspended: {:?}", run.outcome);
        };
        let first = RunId::child(run.id, "first", 1);
        let confirm = RunId::child(first, "confirm", 0);
        for id in [run.id, first, confirm] {
            let info = runner.status(id).await.expect("a row");
            assert_eq!(
                info.status,
                RunStatus::Suspended,
                "{name}: {}",
                info.workflow
            );
        }
        let info = runner.status(confirm).await.expect("a row");
        assert_eq!(info.parent, Some((first, 0)), "{name}");
        let waits = (0, "confirm".to_owned(), RunStatus::Suspended);
        assert_eq!(
            steps(&runner, first).await,
            std::slice::from_ref(&waits),
            "{name}"
        );
        assert_eq!(
            steps(&runner, confirm).await,
            std::slice::from_ref(&suspended),
            "{name}"
        );
        let token = pause.token().expect("a durable pause has a token");
        let done = runner.answer(&wf, token, true).await.expect("answered");
        assert_eq!(done.into_output().expect("finished"), "GO", "{name}");
        for id in [run.id, first, confirm] {
            let info = runner.status(id).await.expect("a row");
            assert_eq!(
                info.status,
                RunStatus::Finished,
                "{name}: {}",
                info.workflow
            );
        }
        assert_eq!(
            steps(&runner, confirm).await,
            [suspended.clone(), ended.clone()],
            "{name}"
        );
        assert_eq!(
            children(&runner, first).await.len(),
            1,
            "{name}: one grandchild run"
        );

        // A run whose first state holds the waiting child: the child's row comes with the
        // run's, from its checkpoint 0.
        let wf = Shout::default();
        for id in [
            runner.create::<Shout>("up".into()).await.expect("created"),
            runner.start(&wf, "up".into()).await.expect("created").id,
        ] {
            let child = RunId::child(id, "confirm", 0);
            let info = runner.status(child).await.expect("the child's row");
            assert_eq!(info.status, RunStatus::Suspended, "{name}");
            assert_eq!(info.parent, Some((id, 0)), "{name}");
            assert_eq!(
                steps(&runner, child).await,
                std::slice::from_ref(&suspended),
                "{name}"
            );
        }
        let run = runner.start(&wf, "up".into()).await.expect("created");
        let Outcome::Suspended(pause) = &run.outcome else {
            panic!("{name}: not suspended: {:?}", run.outcome);
        };
        let token = pause.token().expect("a durable pause has a token");
        let done = runner.answer(&wf, token, true).await.expect("answered");
        assert_eq!(done.into_output().expect("finished"), "UP", "{name}");
        let child = RunId::child(run.id, "confirm", 0);
        assert_eq!(steps(&runner, child).await, [suspended, ended], "{name}");
    }
}

/// A grandchild of one step.
#[derive(Default)]
struct Echo;

#[workflow]
impl Echo {
    async fn echo(&self, text: String) -> String {
        text
    }

    flow! {
        start -> echo -> end;
    }
}

/// A child that waits at a pause before its first step, then runs `Echo`, its child.
#[derive(Default)]
struct Later {
    echo: Echo,
}

#[workflow]
impl Later {
    async fn decide(&self, topic: String, ok: bool) -> String {
        if ok {
            topic
        } else {
            "dropped".to_owned()
        }
    }

    fn echo(&self) -> &Echo {
        &self.echo
    }

    flow! {
        start -> pause decide -> echo -> end;
    }
}

/// `Later` after a step of its parent's.
#[derive(Default)]
struct LaterTop {
    later: Later,
}

#[workflow]
impl LaterTop {
    async fn prep(&self, topic: String) -> String {
        topic
    }

    fn later(&self) -> &Later {
        &self.later
    }

    flow! {
        start -> prep -> later -> end;
    }
}

/// `Later` as its parent's first step: it starts from the parent's checkpoint 0.
#[derive(Default)]
struct LaterFirst {
    later: Later,
}

#[workflow]
impl LaterFirst {
    fn later(&self) -> &Later {
        &self.later
    }

    flow! {
        start -> later -> end;
    }
}

/// Forking a parent's checkpoint in which its child waits at a pause before its first step
/// (started from the parent's checkpoint 1, and from its checkpoint 0): the fork's child has
/// its row from the fork's creation, suspended at its checkpoint 0, as the original's has,
/// and after the answer its checkpoints are numbered as the original's, so that its own
/// child, which starts after the fork, names the child's checkpoint it started from (the one
/// before the grandchild's step), under the id the run derives from it. Forked between two
/// of its steps, the fork's child starts from its checkpoint 0, its state at the fork. A fork
/// made without the workflow's code (as `workflow fork` makes one) numbers its child's
/// checkpoints on from the run forked, and its grandchild names the right one too.
#[tokio::test]
async fn a_fork_of_a_child_waiting_before_its_first_step_numbers_its_grandchild() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for (name, store) in stores(&dir).await {
        let runner = Runner::new(store);
        forked_child_numbering::<LaterTop>(&runner, name, 1).await;
        forked_child_numbering::<LaterFirst>(&runner, name, 0).await;
    }
}

/// The checks of the test above, for a run of `W` whose child `later` starts from its
/// checkpoint `at`.
async fn forked_child_numbering<W>(runner: &Runner, store: &str, at: u64)
where
    W: Workflow<Input = String, Output = String> + Answer<bool> + Default,
{
    let name = format!("{store} {}", W::NAME);
    let wf = W::default();
    let forked = |id| {
        let (runner, wf) = (runner, &wf);
        async move {
            let forked = runner.fork(wf, id, at).await.expect("forked");
            let Outcome::Suspended(pause) = &forked.outcome else {
                panic!("not suspended: {:?}", forked.outcome);
            };
            (
                forked.id,
                pause.token().expect("a durable pause has a token"),
            )
        }
    };
    let run = runner.start(&wf, "rust".into()).await.expect("created");
    let Outcome::Suspended(pause) = &run.outcome else {
        panic!("{name}: not suspended: {:?}", run.outcome);
    };
    let token = pause.token().expect("a durable pause has a token");
    // Forked before the original goes on.
    let (fork, fork_token) = forked(run.id).await;
    let (waiting, _) = forked(run.id).await;
    for token in [token, fork_token] {
        let done = runner.answer(&wf, token, true).await.expect("answered");
        assert_eq!(done.into_output().expect("finished"), "rust", "{name}");
    }

    let child = RunId::child(run.id, "later", at);
    let fork_child = RunId::child(fork, "later", at);
    let original = steps(runner, child).await;
    assert_eq!(original.len(), 4, "{name}: {original:?}");
    // The grandchild started from the child's checkpoint 1, the one after `decide`.
    assert_eq!(original[1].1, "echo", "{name}");
    for (id, of) in [(child, "the original"), (fork_child, "the fork")] {
        let grandchild = RunId::child(id, "echo", 1);
        let listed: Vec<RunId> = children(runner, id)
            .await
            .iter()
            .map(|info| info.id)
            .collect();
        assert_eq!(listed, [grandchild], "{name}: {of}'s grandchild");
        let info = runner.status(grandchild).await.expect("a row");
        assert_eq!(info.parent, Some((id, 1)), "{name}: {of}");
        assert_eq!(info.status, RunStatus::Finished, "{name}: {of}");
        // The checkpoint it names is the one its step started from: the child's first at
        // `echo`.
        let first = steps(runner, id)
            .await
            .iter()
            .position(|(_, step, _)| step == "echo");
        assert_eq!(first, Some(1), "{name}: {of}'s grandchild started there");
    }
    assert_eq!(
        steps(runner, fork_child).await,
        original,
        "{name}: the fork's child is numbered as the original's"
    );

    // A fork of the parent's checkpoint after the child's `decide`: the fork's child starts
    // from its checkpoint 0, its state there, and its child from that.
    let later = runner.fork(&wf, run.id, at + 2).await.expect("forked");
    let fork_child = RunId::child(later.id, "later", at);
    assert_eq!(later.into_output().expect("finished"), "rust", "{name}");
    let running = |seq: u64| (seq, "echo".to_owned(), RunStatus::Running);
    assert_eq!(
        steps(runner, fork_child).await,
        [
            running(0),
            running(1),
            (2, "end".to_owned(), RunStatus::Finished)
        ],
        "{name}"
    );
    let grandchild = RunId::child(fork_child, "echo", 0);
    let info = runner.status(grandchild).await.expect("a row");
    assert_eq!(info.parent, Some((fork_child, 0)), "{name}");
    assert_eq!(info.status, RunStatus::Finished, "{name}");

    // A fork made as `workflow fork` makes one, without the workflow's code: the checkpoint
    // copied into a new run, then resumed. Its child has its row once the fork is taken up,
    // suspended at its checkpoint 0, as `fork` gives it one (taken up again, the row stays
    // as it is); its own child names the checkpoint it started from.
    let copy = copied_fork(runner, run.id, at).await;
    let resumed = runner.resume(&wf, copy).await.expect("resumed");
    let Outcome::Suspended(pause) = &resumed.outcome else {
        panic!("{name}: not suspended: {:?}", resumed.outcome);
    };
    let copy_child = RunId::child(copy, "later", at);
    let waits_first = [(0, "decide".to_owned(), RunStatus::Suspended)];
    for _ in 0..2 {
        let info = runner
            .status(copy_child)
            .await
            .expect("the copy's child's row");
        assert_eq!(info.status, RunStatus::Suspended, "{name}");
        assert_eq!(info.parent, Some((copy, at)), "{name}");
        assert_eq!(steps(runner, copy_child).await, waits_first, "{name}");
        runner.resume(&wf, copy).await.expect("taken up again");
    }
    let token = pause.token().expect("a durable pause has a token");
    let done = runner.answer(&wf, token, true).await.expect("answered");
    assert_eq!(done.into_output().expect("finished"), "rust", "{name}");
    let history = steps(runner, copy_child).await;
    let first_echo = history.iter().find(|(_, step, _)| step == "echo");
    let grandchild = children(runner, copy_child).await;
    assert_eq!(grandchild.len(), 1, "{name}");
    let (_, seq) = grandchild[0].parent.expect("its parent");
    assert_eq!(
        first_echo.map(|(at, ..)| *at),
        Some(seq),
        "{name}: the copy's grandchild started there: {history:?}"
    );
    assert_eq!(grandchild[0].id, RunId::child(copy_child, "echo", seq));

    // The same between two of the child's steps: the copy's child starts from its
    // checkpoint 0, its state there, as the fork's above.
    let copy = copied_fork(runner, run.id, at + 2).await;
    let done = runner.resume(&wf, copy).await.expect("resumed");
    assert_eq!(done.into_output().expect("finished"), "rust", "{name}");
    assert_eq!(
        steps(runner, RunId::child(copy, "later", at)).await,
        [
            running(0),
            running(1),
            (2, "end".to_owned(), RunStatus::Finished)
        ],
        "{name}"
    );

    // A fork that waits: its child's row is there, suspended at its checkpoint 0.
    let waits = RunId::child(waiting, "later", at);
    let info = runner.status(waits).await.expect("the fork's child's row");
    assert_eq!(info.status, RunStatus::Suspended, "{name}");
    assert_eq!(info.parent, Some((waiting, at)), "{name}");
    assert_eq!(
        steps(runner, waits).await,
        [(0, "decide".to_owned(), RunStatus::Suspended)],
        "{name}"
    );
}

/// A fork of checkpoint `seq` of run `run` as `workflow fork` makes one, without the
/// workflow's code: the checkpoint copied into a new run, which records the run as its
/// parent, with no lease.
async fn copied_fork(runner: &Runner, run: RunId, seq: u64) -> RunId {
    let copied = runner
        .store()
        .checkpoint(run, Some(seq))
        .await
        .expect("the checkpoint");
    let copy = RunId::new();
    let first = Checkpoint {
        run: copy,
        seq: 0,
        usage: Default::default(),
        branches: Vec::new(),
        child: None,
        ..copied
    };
    let new = NewRun {
        first,
        parent: Some((run, seq)),
        lease: None,
    };
    runner.store().create(new).await.expect("created");
    copy
}
