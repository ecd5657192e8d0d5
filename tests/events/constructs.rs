//! Each construct: a sequence, routing, a bounded loop, a fan-out, a map, a `[collect]`
//! fork, retries, a failed step, a cancelled run, the step limit.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::time::sleep;
use workflow::event::EventKind;
use workflow::prelude::*;
use workflow::CancellationToken;

use super::{assert_one_run, show, shown, watch};

// ---- a sequence ------------------------------------------------------------------------------

struct Pipeline;

#[workflow]
impl Pipeline {
    async fn fetch(&self, url: String) -> String {
        sleep(Duration::from_millis(10)).await;
        format!("page at {url}")
    }

    async fn summarize(&self, page: String) -> usize {
        sleep(Duration::from_millis(30)).await;
        page.len()
    }

    flow! {
        start -> fetch -> summarize -> end;
    }
}

#[tokio::test(start_paused = true)]
async fn a_sequence_starts_and_finishes_each_step_in_order() {
    let (result, events) = watch(&Executor::new(), &Pipeline, "x".into()).await;
    assert_eq!(result.expect("the run succeeds"), 9);
    assert_eq!(
        shown(&events),
        [
            "run_started",
            "start fetch#1",
            "finish fetch",
            "start summarize#1",
            "finish summarize",
            "completed",
        ]
    );
    assert_one_run(&events, "Pipeline");
    let EventKind::RunStarted { steps, .. } = &events[0].kind else {
        panic!("the first event starts the run");
    };
    assert_eq!(*steps, ["fetch", "summarize"]);
    let elapsed: Vec<_> = events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::StepFinished {
                elapsed,
                attempts,
                usage,
                ..
            } => {
                assert_eq!(*attempts, 1);
                // An observed run of an executor has a ledger: no calls, no usage.
                assert_eq!(usage.map(|usage| usage.calls), Some(0));
                Some(*elapsed)
            }
            EventKind::Completed { elapsed, .. } => Some(*elapsed),
            _ => None,
        })
        .collect();
    let ms = Duration::from_millis;
    assert_eq!(elapsed, [ms(10), ms(30), ms(40)]);
}

// ---- routing and a bounded loop --------------------------------------------------------------

struct Countdown;

#[workflow]
impl Countdown {
    async fn check(&self, n: u32) -> u32 {
        n
    }

    async fn decrement(&self, n: u32) -> u32 {
        n - 1
    }

    async fn done(&self, n: u32) -> String {
        format!("done at {n}")
    }

    flow! {
        start -> check;
        check -> match {
            0 => done,
            n => decrement(n) [max 2 else end(format!("gave up at {n}"))],
        };
        decrement -> check;
        done -> end;
    }
}

#[tokio::test]
async fn routing_follows_the_route_taken() {
    let (result, events) = watch(&Executor::new(), &Countdown, 1).await;
    assert_eq!(result.expect("the run succeeds"), "done at 0");
    assert_eq!(
        shown(&events),
        [
            "run_started",
            "start check#1",
            "finish check",
            "start decrement#1",
            "finish decrement",
            "start check#1",
            "finish check",
            "start done#1",
            "finish done",
            "completed",
        ]
    );
}

#[tokio::test]
async fn a_loop_at_its_bound_takes_its_else_route() {
    let (result, events) = watch(&Executor::new(), &Countdown, 5).await;
    assert_eq!(result.expect("the run succeeds"), "gave up at 3");
    let steps: Vec<_> = shown(&events)
        .into_iter()
        .filter(|line| line.starts_with("start"))
        .collect();
    // check 5, decrement, check 4, decrement, check 3: the bound of 2 is reached, `else` ends.
    assert_eq!(
        steps,
        [
            "start check#1",
            "start decrement#1",
            "start check#1",
            "start decrement#1",
            "start check#1",
        ]
    );
    assert_eq!(events.last().map(show).as_deref(), Some("completed"));
}

struct Forever;

#[workflow]
impl Forever {
    async fn spin(&self, n: u32) -> u32 {
        n + 1
    }

    flow! {
        start -> spin;
        spin -> match {
            n if n > 100 => end(n),
            n => spin(n) [max 2],
        };
    }
}

#[tokio::test]
async fn a_loop_past_its_bound_fails_at_its_edge() {
    let (result, events) = watch(&Executor::new(), &Forever, 0).await;
    assert!(matches!(result, Err(workflow::Error::LoopLimit { .. })));
    let lines = shown(&events);
    assert_eq!(lines.iter().filter(|l| *l == "start spin#1").count(), 3);
    // The third run of `spin` returned, but its edge is over the bound: no `finish`.
    assert_eq!(&lines[lines.len() - 2..], ["start spin#1", "failed spin"]);
    let EventKind::Failed { error, .. } = &events.last().expect("an end").kind else {
        panic!("the run fails");
    };
    assert!(error.contains("reached its bound of 2"), "{error}");
}

// ---- a fan-out and a map ---------------------------------------------------------------------

struct Review;

#[workflow]
impl Review {
    async fn read(&self, text: String) -> String {
        text
    }

    async fn slow(&self, text: String) -> usize {
        sleep(Duration::from_millis(20)).await;
        text.len()
    }

    async fn fast(&self, text: String) -> usize {
        sleep(Duration::from_millis(10)).await;
        text.split(' ').count()
    }

    async fn report(&self, (chars, words): (usize, usize)) -> String {
        format!("{chars} chars, {words} words")
    }

    flow! {
        start -> read -> (slow, fast) -> report -> end;
    }
}

#[tokio::test(start_paused = true)]
async fn a_fan_out_announces_each_branch_by_its_position() {
    let (result, events) = watch(&Executor::new(), &Review, "a b".into()).await;
    assert_eq!(result.expect("the run succeeds"), "3 chars, 2 words");
    assert_eq!(
        shown(&events),
        [
            "run_started",
            "start read#1",
            "finish read",
            "branch slow[0]",
            "branch fast[1]",
            "branch done fast[1]",
            "branch done slow[0]",
            "start report#1",
            "finish report",
            "completed",
        ]
    );
    let elapsed: Vec<_> = events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::BranchFinished { elapsed, .. } => Some(*elapsed),
            _ => None,
        })
        .collect();
    assert_eq!(
        elapsed,
        [Duration::from_millis(10), Duration::from_millis(20)]
    );
}

struct Sections;

#[workflow]
impl Sections {
    async fn split(&self, delays: Vec<u64>) -> Vec<u64> {
        delays
    }

    async fn summarize(&self, delay: u64) -> u64 {
        sleep(Duration::from_millis(delay)).await;
        delay
    }

    async fn total(&self, delays: Vec<u64>) -> u64 {
        delays.iter().sum()
    }

    flow! {
        start -> split -> each summarize [concurrency 2] -> total -> end;
    }
}

#[tokio::test(start_paused = true)]
async fn a_map_announces_each_element_by_its_index() {
    let (result, events) = watch(&Executor::new(), &Sections, vec![25, 10, 10]).await;
    assert_eq!(result.expect("the run succeeds"), 45);
    // Two at a time: element 2 starts when element 1 finishes.
    assert_eq!(
        shown(&events),
        [
            "run_started",
            "start split#1",
            "finish split",
            "branch summarize[0]",
            "branch summarize[1]",
            "branch done summarize[1]",
            "branch summarize[2]",
            "branch done summarize[2]",
            "branch done summarize[0]",
            "start total#1",
            "finish total",
            "completed",
        ]
    );
}

struct Panel;

#[derive(Debug)]
struct Abstain;

impl std::fmt::Display for Abstain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("abstains")
    }
}

impl std::error::Error for Abstain {}

#[workflow]
impl Panel {
    async fn yes(&self, question: String) -> Result<bool, Abstain> {
        Ok(!question.is_empty())
    }

    async fn abstain(&self, _question: String) -> Result<bool, Abstain> {
        Err(Abstain)
    }

    flow! {
        type Output = (Result<bool, BranchError>, Result<bool, BranchError>);
        start -> (yes, abstain) [collect] -> end;
    }
}

#[tokio::test]
async fn a_collected_branch_that_failed_says_so() {
    let (result, events) = watch(&Executor::new(), &Panel, "?".into()).await;
    let (yes, abstain) = result.expect("a [collect] fork does not fail the run");
    assert!(yes.is_ok() && abstain.is_err());
    assert_eq!(
        shown(&events),
        [
            "run_started",
            "branch yes[0]",
            "branch done yes[0]",
            "branch abstain[1]",
            "branch done abstain[1] failed",
            "completed",
        ]
    );
    let Some(EventKind::BranchFinished { error, .. }) = events.get(4).map(|e| &e.kind) else {
        panic!("the failed branch");
    };
    assert_eq!(
        error.as_deref(),
        Some("workflow `Panel`: step `abstain` failed after 1 attempt(s): abstains")
    );
}

/// `fast` fails while `slow` is still running: the fan-out fails and drops `slow`.
struct Hasty;

#[workflow]
impl Hasty {
    async fn slow(&self, text: String) -> usize {
        sleep(Duration::from_millis(20)).await;
        text.len()
    }

    async fn fast(&self, _text: String) -> Result<usize, Abstain> {
        sleep(Duration::from_millis(10)).await;
        Err(Abstain)
    }

    async fn report(&self, (chars, words): (usize, usize)) -> String {
        format!("{chars} chars, {words} words")
    }

    flow! {
        start -> (slow, fast) -> report -> end;
    }
}

#[tokio::test(start_paused = true)]
async fn a_branch_cancelled_by_a_failed_sibling_says_so() {
    let (result, events) = watch(&Executor::new(), &Hasty, "a b".into()).await;
    result.expect_err("fast fails the fan-out");
    let shown = shown(&events);
    assert_eq!(
        &shown[..5],
        [
            "run_started",
            "branch slow[0]",
            "branch fast[1]",
            "branch done fast[1] failed",
            "branch done slow[0] failed",
        ],
        "{shown:?}"
    );
    let cancelled = events.iter().find_map(|event| match &event.kind {
        EventKind::BranchFinished {
            index: 0, error, ..
        } => error.clone(),
        _ => None,
    });
    assert!(
        cancelled
            .as_deref()
            .is_some_and(|error| error.starts_with("cancelled")),
        "{cancelled:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_resumed_fan_out_announces_only_the_branches_it_runs() {
    // `fast` finished before the run stopped: only `slow` runs, and is announced.
    let state: ReviewState = serde_json::from_value(serde_json::json!(
        { "(slow, fast)": ["a b", ["pending", { "done": 2 }]] }
    ))
    .expect("a saved fan-out deserializes");
    let executor = Executor::new();
    let mut events = executor.subscribe();
    let out = executor
        .start_from(&Review, state, workflow::state::Loops::new())
        .await
        .expect("the run succeeds");
    assert_eq!(out, "3 chars, 2 words");
    let mut seen = Vec::new();
    while let Some(event) = events.try_recv() {
        seen.push(event);
    }
    let branches: Vec<String> = shown(&seen)
        .into_iter()
        .filter(|line| line.starts_with("branch"))
        .collect();
    assert_eq!(branches, ["branch slow[0]", "branch done slow[0]"]);
}

// ---- retries, failures, cancellation ---------------------------------------------------------

#[derive(Default)]
struct Flaky {
    attempts: AtomicU32,
}

#[derive(Debug)]
struct Overloaded;

impl std::fmt::Display for Overloaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("overloaded")
    }
}

impl std::error::Error for Overloaded {}

#[workflow]
impl Flaky {
    #[step(retry = 3, backoff = "10ms")]
    async fn call(&self, n: u32) -> Result<u32, Overloaded> {
        if self.attempts.fetch_add(1, Ordering::SeqCst) < 2 {
            return Err(Overloaded);
        }
        Ok(n * 2)
    }

    async fn fail(&self, n: u32) -> Result<u32, Overloaded> {
        if n > 100 {
            return Err(Overloaded);
        }
        Ok(n)
    }

    flow! {
        start -> call -> fail -> end;
    }
}

#[tokio::test(start_paused = true)]
async fn retries_are_announced_with_their_error_and_delay() {
    let (result, events) = watch(&Executor::new(), &Flaky::default(), 4).await;
    assert_eq!(result.expect("the third attempt succeeds"), 8);
    assert_eq!(
        shown(&events),
        [
            "run_started",
            "start call#1",
            "retry call#1",
            "start call#2",
            "retry call#2",
            "start call#3",
            "finish call",
            "start fail#1",
            "finish fail",
            "completed",
        ]
    );
    let EventKind::Retrying { error, delay, .. } = &events[2].kind else {
        panic!("a retry");
    };
    assert_eq!(
        error,
        "workflow `Flaky`: step `call` failed after 1 attempt(s): overloaded"
    );
    // 10 ms, stretched by up to 100% of jitter.
    assert!((10..=20).contains(&delay.as_millis()), "{delay:?}");
    let EventKind::StepFinished {
        attempts, elapsed, ..
    } = &events[6].kind
    else {
        panic!("call finishes");
    };
    assert_eq!(*attempts, 3);
    assert!(*elapsed >= Duration::from_millis(30), "{elapsed:?}");
}

#[tokio::test]
async fn a_failed_step_has_no_finish_and_fails_the_run() {
    let (result, events) = watch(&Executor::new(), &Flaky::default(), 100).await;
    assert!(matches!(
        result,
        Err(workflow::Error::Step { step: "fail", .. })
    ));
    assert_eq!(
        shown(&events)[7..],
        ["start fail#1", "failed fail"],
        "after call's retries"
    );
    let EventKind::Failed { error, .. } = &events.last().expect("an end").kind else {
        panic!("the run fails");
    };
    assert_eq!(
        error,
        "workflow `Flaky`: step `fail` failed after 1 attempt(s): overloaded"
    );
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_run_fails_at_the_step_in_flight() {
    let token = CancellationToken::new();
    let executor = Executor::new().cancellation(token.clone());
    let cancel = tokio::spawn(async move {
        sleep(Duration::from_millis(15)).await;
        token.cancel();
    });
    let (result, events) = watch(&executor, &Pipeline, "x".into()).await;
    cancel.await.expect("the canceller ran");
    assert!(matches!(result, Err(workflow::Error::Cancelled { .. })));
    assert_eq!(
        shown(&events),
        [
            "run_started",
            "start fetch#1",
            "finish fetch",
            "start summarize#1",
            "failed summarize",
        ]
    );
    let EventKind::Failed { error, elapsed, .. } = &events[4].kind else {
        panic!("the run fails");
    };
    assert_eq!(error, "workflow `Pipeline`: run cancelled");
    assert_eq!(*elapsed, Duration::from_millis(15));
}

#[tokio::test]
async fn a_step_limit_finishes_the_step_before_and_fails_the_run() {
    let executor = Executor::new().max_steps(1);
    let (result, events) = watch(&executor, &Pipeline, "x".into()).await;
    assert!(matches!(result, Err(workflow::Error::StepLimit { .. })));
    assert_eq!(
        shown(&events),
        ["run_started", "start fetch#1", "finish fetch", "failed -"]
    );
}
