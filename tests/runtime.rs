//! Runtime behaviour of `#[workflow]` workflows: retries, timeouts, cancellation, loop bounds,
//! step limits, errors, routing and step shapes.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use workflow::prelude::*;
use workflow::CancellationToken;

/// A step's own error type.
#[derive(Debug, PartialEq, Eq)]
struct Quota {
    limit: u32,
}

impl std::fmt::Display for Quota {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "quota of {} exceeded", self.limit)
    }
}

impl std::error::Error for Quota {}

/// What the flaky step does on each attempt.
#[derive(Clone, Copy)]
enum Failure {
    /// Fails with [`Quota`] on the first `n` attempts.
    Quota(u32),
    /// Fails with a non-transient `workflow::Error` on every attempt.
    Cancelled,
}

struct Flaky {
    attempts: AtomicU32,
    failure: Failure,
}

impl Flaky {
    fn new(failure: Failure) -> Self {
        Flaky {
            attempts: AtomicU32::new(0),
            failure,
        }
    }
}

#[workflow]
impl Flaky {
    #[step(retry = 3, backoff = "10ms", max_backoff = "1s")]
    async fn call(&self, prompt: String) -> Result<String, Quota> {
        let attempt = self.attempts.fetch_add(1, Ordering::SeqCst) + 1;
        match self.failure {
            Failure::Quota(failures) if attempt <= failures => Err(Quota { limit: attempt }),
            _ => Ok(format!("{prompt}: answered on attempt {attempt}")),
        }
    }

    #[step(retry = 3, backoff = "10ms")]
    async fn check(&self, answer: String) -> Result<String> {
        match self.failure {
            Failure::Cancelled => {
                self.attempts.fetch_add(1, Ordering::SeqCst);
                Err(Error::Cancelled {
                    workflow: "inner",
                    step: Some("deep"),
                })
            }
            Failure::Quota(_) => Ok(answer),
        }
    }

    flow! {
        start -> call -> check -> end;
    }
}

#[tokio::test(start_paused = true)]
async fn transient_errors_are_retried_until_success() {
    let flaky = Flaky::new(Failure::Quota(2));
    let out = flaky
        .run("hi".into())
        .await
        .expect("third attempt succeeds");
    assert_eq!(out, "hi: answered on attempt 3");
    assert_eq!(flaky.attempts.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn retries_stop_after_the_limit_with_the_step_error() {
    let flaky = Flaky::new(Failure::Quota(u32::MAX));
    let error = flaky
        .run("hi".into())
        .await
        .expect_err("every attempt fails");
    assert_eq!(
        flaky.attempts.load(Ordering::SeqCst),
        4,
        "1 attempt + 3 retries"
    );
    let Error::Step {
        workflow,
        step,
        attempts,
        ..
    } = &error
    else {
        panic!("expected Error::Step, got {error:?}");
    };
    assert_eq!((*workflow, *step, *attempts), ("Flaky", "call", 4));
    assert_eq!(error.step_error::<Quota>(), Some(&Quota { limit: 4 }));
    assert!(error.step_error::<std::io::Error>().is_none());
    assert_eq!(error.step(), Some("call"));
    let source = std::error::Error::source(&error).expect("the step error is the source");
    assert_eq!(source.to_string(), "quota of 4 exceeded");
}

#[tokio::test(start_paused = true)]
async fn a_workflow_error_from_a_step_passes_through_and_is_not_retried() {
    let flaky = Flaky::new(Failure::Cancelled);
    let error = flaky.run("hi".into()).await.expect_err("check fails");
    assert!(
        matches!(
            error,
            Error::Cancelled {
                workflow: "inner",
                step: Some("deep")
            }
        ),
        "passed through unchanged, got {error:?}"
    );
    assert_eq!(
        flaky.attempts.load(Ordering::SeqCst),
        2,
        "call once, check once"
    );
}

/// Returns a `workflow::Error` of another run (issue #14): the run fails with `Error::Step`
/// naming this step, which holds that error.
struct Relay;

#[workflow]
impl Relay {
    async fn relay(&self, max: u64) -> Result<u64> {
        Err(Error::StepLimit {
            workflow: "elsewhere",
            max,
        })
    }

    flow! {
        start -> relay -> end;
    }
}

#[tokio::test]
async fn an_error_a_step_returns_names_the_step_and_keeps_the_error() {
    let error = Relay.run(7).await.expect_err("relay fails");
    assert!(
        matches!(
            error,
            Error::Step {
                workflow: "Relay",
                step: "relay",
                attempts: 1,
                ..
            }
        ),
        "named after the step, got {error:?}"
    );
    assert!(
        matches!(
            error.step_error::<Error>(),
            Some(Error::StepLimit {
                workflow: "elsewhere",
                max: 7
            })
        ),
        "the step's own error is kept, got {error:?}"
    );
}

/// Steps that take long. Time is paused in these tests and every wait is a timer, so a runtime
/// that misses a timeout or a cancellation fails the test instead of hanging it.
#[derive(Default)]
struct Slow {
    /// Calls of any step.
    calls: AtomicU32,
    started: Notify,
    finished: AtomicBool,
    dropped: AtomicBool,
}

/// Sets a flag when the step's future is dropped.
struct DropGuard<'a>(&'a AtomicBool);

impl Drop for DropGuard<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

const HOUR: Duration = Duration::from_secs(3600);

#[workflow]
impl Slow {
    #[step(timeout = "50ms")]
    async fn sleepy(&self, _unit: ()) -> u32 {
        self.calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(HOUR).await;
        1
    }

    #[step(retry = 2, timeout = "1s")]
    async fn stuck(&self, n: u32) -> u32 {
        self.calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(HOUR).await;
        n
    }

    /// Waits two hours, but times out after one: only cancellation ends it earlier.
    #[step(timeout = "1h")]
    async fn wait(&self, n: u32) -> u32 {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let _guard = DropGuard(&self.dropped);
        self.started.notify_one();
        tokio::time::sleep(2 * HOUR).await;
        self.finished.store(true, Ordering::SeqCst);
        n
    }

    /// Fails transiently, then waits an hour before its retry.
    #[step(retry = 1, backoff = "1h", max_backoff = "1h")]
    async fn backoff(&self, n: u32) -> Result<u32, Quota> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.started.notify_one();
        Err(Quota { limit: n })
    }

    flow! {
        start -> sleepy -> stuck -> wait -> backoff -> end;
    }
}

#[tokio::test(start_paused = true)]
async fn a_slow_step_times_out() {
    let slow = Slow::default();
    let error = slow.run(()).await.expect_err("sleepy times out");
    assert!(
        matches!(
            error,
            Error::Timeout { workflow: "Slow", step: "sleepy", after } if after == Duration::from_millis(50)
        ),
        "got {error:?}"
    );
    assert!(error.is_transient());
    assert_eq!(slow.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn timeouts_are_retried() {
    let slow = Slow::default();
    let error = Executor::new()
        .start_from(&slow, SlowState::Stuck(5), workflow::state::Loops::new())
        .await
        .expect_err("every attempt times out");
    assert!(
        matches!(error, Error::Timeout { step: "stuck", after, .. } if after == Duration::from_secs(1)),
        "got {error:?}"
    );
    assert_eq!(
        slow.calls.load(Ordering::SeqCst),
        3,
        "1 attempt + 2 retries"
    );
}

/// Runs `slow` from `state`, cancelling the run as soon as a step signals `started`.
async fn cancel_once_started(slow: &Slow, state: SlowState) -> Error {
    let token = CancellationToken::new();
    let executor = Executor::new().cancellation(token.clone());
    let (result, ()) = tokio::join!(
        executor.start_from(slow, state, workflow::state::Loops::new()),
        async {
            slow.started.notified().await;
            token.cancel();
        }
    );
    result.expect_err("cancelled")
}

#[tokio::test(start_paused = true)]
async fn cancelling_drops_the_step_in_flight() {
    let slow = Slow::default();
    let error = cancel_once_started(&slow, SlowState::Wait(5)).await;
    assert!(
        matches!(
            error,
            Error::Cancelled {
                workflow: "Slow",
                step: Some("wait")
            }
        ),
        "got {error:?}"
    );
    assert!(
        slow.dropped.load(Ordering::SeqCst),
        "the step future was dropped"
    );
    assert!(!slow.finished.load(Ordering::SeqCst), "and never resumed");
    assert_eq!(slow.calls.load(Ordering::SeqCst), 1);
    assert!(!error.is_transient());
}

#[tokio::test(start_paused = true)]
async fn cancelling_stops_the_wait_before_a_retry() {
    let slow = Slow::default();
    let error = cancel_once_started(&slow, SlowState::Backoff(5)).await;
    assert!(
        matches!(
            error,
            Error::Cancelled {
                step: Some("backoff"),
                ..
            }
        ),
        "got {error:?}"
    );
    assert_eq!(slow.calls.load(Ordering::SeqCst), 1, "no retry");
}

#[tokio::test(start_paused = true)]
async fn a_run_cancelled_before_it_starts_runs_no_step() {
    let token = CancellationToken::new();
    token.cancel();
    let slow = Slow::default();
    let error = Executor::new()
        .cancellation(token)
        .start(&slow, ())
        .await
        .expect_err("cancelled");
    assert!(
        matches!(
            error,
            Error::Cancelled {
                step: Some("sleepy"),
                ..
            }
        ),
        "got {error:?}"
    );
    assert_eq!(slow.calls.load(Ordering::SeqCst), 0);
}

/// Counts up until a target, in a bounded loop.
#[derive(Default)]
struct Counter {
    bumps: AtomicU32,
}

#[workflow]
impl Counter {
    async fn check(&self, (n, target): (u32, u32)) -> (u32, u32) {
        (n, target)
    }

    async fn bump(&self, (n, target): (u32, u32)) -> (u32, u32) {
        self.bumps.fetch_add(1, Ordering::SeqCst);
        (n + 1, target)
    }

    flow! {
        type Output = u32;
        start -> check;
        check -> match {
            (n, target) if n >= target => end(n),
            pair => bump(pair) [max 3],
        };
        bump -> check;
    }
}

#[tokio::test]
async fn a_bounded_loop_within_its_bound_ends_normally() {
    let counter = Counter::default();
    assert_eq!(counter.run((0, 3)).await.expect("3 bumps fit"), 3);
    assert_eq!(counter.bumps.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_bounded_loop_without_else_fails_at_its_bound() {
    let counter = Counter::default();
    let error = counter.run((0, 10)).await.expect_err("bound reached");
    assert!(
        matches!(
            error,
            Error::LoopLimit {
                workflow: "Counter",
                from: "check",
                to: "bump",
                max: 3
            }
        ),
        "got {error:?}"
    );
    assert_eq!(counter.bumps.load(Ordering::SeqCst), 3);
}

/// The same loop with an `else` route.
struct Patient;

#[workflow]
impl Patient {
    async fn check(&self, (n, target): (u32, u32)) -> (u32, u32) {
        (n, target)
    }

    async fn bump(&self, (n, target): (u32, u32)) -> (u32, u32) {
        (n + 1, target)
    }

    flow! {
        type Output = String;
        start -> check;
        check -> match {
            (n, target) if n >= target => end(format!("reached {n}")),
            (n, target) => bump((n, target)) [max 3 else end(format!("gave up at {n}"))],
        };
        bump -> check;
    }
}

#[tokio::test]
async fn a_bounded_loop_with_else_takes_the_fallback() {
    assert_eq!(Patient.run((0, 2)).await.expect("ok"), "reached 2");
    assert_eq!(Patient.run((0, 10)).await.expect("ok"), "gave up at 3");
}

#[tokio::test]
async fn max_steps_stops_a_run() {
    let error = Executor::new()
        .max_steps(4)
        .start(&Patient, (0, 10))
        .await
        .expect_err("more than 4 steps");
    assert!(
        matches!(
            error,
            Error::StepLimit {
                workflow: "Patient",
                max: 4
            }
        ),
        "got {error:?}"
    );
    assert_eq!(error.step(), None);
    // check, bump, check, bump, check: 5 steps exactly.
    let out = Executor::new().max_steps(5).start(&Patient, (0, 2)).await;
    assert_eq!(out.expect("5 steps fit"), "reached 2");
}

/// Routing with guards and bindings; infallible steps.
struct Router;

#[workflow]
impl Router {
    async fn parse(&self, text: String) -> i64 {
        text.trim().parse().unwrap_or(0)
    }

    async fn negative(&self, n: i64) -> String {
        format!("negative {}", -n)
    }

    async fn small(&self, n: i64) -> String {
        format!("small {n}")
    }

    async fn large(&self, n: i64) -> String {
        format!("large {n}")
    }

    flow! {
        start -> parse;
        parse -> match {
            0 => end(String::from("zero")),
            n if n < 0 => negative,
            n if n < 10 => small(n),
            _ => large,
        };
        negative -> end;
        small -> end;
        large -> end;
    }
}

#[tokio::test]
async fn routing_follows_patterns_and_guards_in_order() {
    for (input, expected) in [
        ("0", "zero"),
        ("x", "zero"),
        ("-4", "negative 4"),
        ("7", "small 7"),
        ("10", "large 10"),
    ] {
        let out = Router.run(input.into()).await.expect("infallible steps");
        assert_eq!(out, expected, "input {input:?}");
    }
}

/// A step that takes `()` explicitly: the workflow's input is `()`.
struct Fetch;

#[workflow]
impl Fetch {
    async fn fetch(&self, _unit: ()) -> String {
        "fetched".to_owned()
    }

    async fn shout(&self, text: String) -> String {
        text.to_uppercase()
    }

    flow! {
        start -> fetch -> shout -> end;
    }
}

#[tokio::test]
async fn a_step_with_unit_input() {
    assert_eq!(Fetch.run(()).await.expect("ok"), "FETCHED");
}

/// A step with no input parameter takes `()`.
struct Poll;

#[workflow]
impl Poll {
    async fn fetch(&self) -> String {
        "fetched".to_owned()
    }

    async fn done(&self) -> u32 {
        7
    }

    flow! {
        start -> fetch;
        fetch -> match {
            text if text.is_empty() => end(0),
            _ => done(()),
        };
        done -> end;
    }
}

#[tokio::test]
async fn a_step_with_no_input_takes_unit() {
    assert_eq!(Poll.run(()).await.expect("ok"), 7);
    let first = <Poll as Workflow>::start(());
    assert_eq!(
        serde_json::to_string(&first).expect("serializes"),
        r#"{"fetch":null}"#
    );
}

/// Records when each attempt starts; fails every attempt.
#[derive(Default)]
struct Backoff {
    starts: std::sync::Mutex<Vec<tokio::time::Instant>>,
}

#[workflow]
impl Backoff {
    #[step(retry = 4, backoff = "100ms", max_backoff = "500ms")]
    async fn growing(&self, _unit: ()) -> Result<(), Quota> {
        self.attempt()
    }

    #[step(retry = 2, backoff = "10s", max_backoff = "1s")]
    async fn capped(&self, _unit: ()) -> Result<(), Quota> {
        self.attempt()
    }

    flow! {
        start -> growing -> capped -> end;
    }
}

impl Backoff {
    fn attempt(&self) -> Result<(), Quota> {
        let mut starts = self.starts.lock().expect("not poisoned");
        starts.push(tokio::time::Instant::now());
        Err(Quota { limit: 0 })
    }

    /// The delays between attempts, in (virtual) milliseconds.
    fn gaps(&self) -> Vec<u128> {
        let starts = self.starts.lock().expect("not poisoned");
        starts
            .windows(2)
            .map(|pair| (pair[1] - pair[0]).as_millis())
            .collect()
    }
}

#[tokio::test(start_paused = true)]
async fn backoff_grows_and_never_exceeds_max_backoff() {
    let backoff = Backoff::default();
    backoff.run(()).await.expect_err("every attempt fails");
    let gaps = backoff.gaps();
    assert_eq!(gaps.len(), 4, "4 retries: {gaps:?}");
    // 100ms, then doubled, with jitter stretching each by up to 100%; at most 500ms.
    for (gap, (low, high)) in gaps
        .iter()
        .zip([(100, 200), (200, 400), (400, 500), (500, 500)])
    {
        assert!(
            (low..=high + 1).contains(gap),
            "{gap}ms not in {low}..={high}ms: {gaps:?}"
        );
    }

    let backoff = Backoff::default();
    Executor::new()
        .start_from(
            &backoff,
            BackoffState::Capped(()),
            workflow::state::Loops::new(),
        )
        .await
        .expect_err("every attempt fails");
    let gaps = backoff.gaps();
    assert_eq!(gaps.len(), 2, "2 retries: {gaps:?}");
    assert!(
        gaps.iter().all(|gap| (1000..=1001).contains(gap)),
        "a first delay above `max_backoff` is capped too: {gaps:?}"
    );
}
