//! Fan-outs and maps: concurrency, join order, both failure policies, cancellation of
//! siblings, usage of branches, and the state a fork saves as its branches finish.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::{sleep, Instant};
use workflow::prelude::*;
use workflow::provider::{ChatResponse, Scripted, Usage};
use workflow::state::{Branch, Loops};
use workflow::{CancellationToken, MemoryStore, RunId};

// ---- a fan-out ----------------------------------------------------------------------------

/// Sentiment and length of one review, at once; each branch sleeps as long as told.
#[derive(Default)]
struct Review {
    /// How long each branch takes, in ms: sentiment, length.
    delays: (u64, u64),
    /// Whether `length` fails.
    length_fails: bool,
    runs: [AtomicU32; 2],
    /// Set when `length` is dropped before it finishes.
    length_dropped: Arc<AtomicBool>,
}

#[derive(Debug)]
struct Unreadable;

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("unreadable review")
    }
}

impl std::error::Error for Unreadable {}

/// Sets its flag when dropped unless disarmed: observes that a branch was cancelled.
struct DropFlag(Option<Arc<AtomicBool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        if let Some(flag) = self.0.take() {
            flag.store(true, Ordering::SeqCst);
        }
    }
}

#[workflow]
impl Review {
    async fn read(&self, text: String) -> String {
        text.trim().to_owned()
    }

    async fn sentiment(&self, text: String) -> Result<String, Unreadable> {
        self.runs[0].fetch_add(1, Ordering::SeqCst);
        sleep(Duration::from_millis(self.delays.0)).await;
        if self.length_fails && self.delays.0 < self.delays.1 {
            return Err(Unreadable);
        }
        Ok(if text.contains("love") {
            "positive"
        } else {
            "neutral"
        }
        .to_owned())
    }

    async fn length(&self, text: String) -> Result<usize, Unreadable> {
        self.runs[1].fetch_add(1, Ordering::SeqCst);
        let mut guard = DropFlag(Some(Arc::clone(&self.length_dropped)));
        sleep(Duration::from_millis(self.delays.1)).await;
        guard.0 = None;
        if self.length_fails && self.delays.1 <= self.delays.0 {
            return Err(Unreadable);
        }
        Ok(text.len())
    }

    async fn report(&self, (sentiment, length): (String, usize)) -> String {
        format!("{sentiment}, {length} chars")
    }

    flow! {
        start -> read -> (sentiment, length) -> report -> end;
    }
}

impl Review {
    fn with_delays(sentiment: u64, length: u64) -> Self {
        Review {
            delays: (sentiment, length),
            ..Review::default()
        }
    }
}

#[tokio::test(start_paused = true)]
async fn branches_run_at_once_and_join_in_declaration_order() {
    for (sentiment, length) in [(300, 100), (100, 300)] {
        let review = Review::with_delays(sentiment, length);
        let started = Instant::now();
        let out = review
            .run("  I love it ".into())
            .await
            .expect("the run succeeds");
        // Whichever finishes first, the join gets (sentiment, length).
        assert_eq!(out, "positive, 9 chars");
        // At once: as long as the slower branch, not the sum.
        assert_eq!(started.elapsed(), Duration::from_millis(300));
    }
}

#[tokio::test(start_paused = true)]
async fn the_first_error_cancels_the_siblings() {
    // `sentiment` fails at 10 ms while `length` sleeps for 1 s.
    let review = Review {
        length_fails: true,
        ..Review::with_delays(10, 1_000)
    };
    let started = Instant::now();
    let error = review.run("text".into()).await.expect_err("the run fails");
    assert_eq!(error.step(), Some("sentiment"));
    assert!(error.step_error::<Unreadable>().is_some(), "{error:?}");
    assert_eq!(started.elapsed(), Duration::from_millis(10));
    assert!(
        review.length_dropped.load(Ordering::SeqCst),
        "the sibling was not dropped"
    );
    // Nothing of it runs on later: the run is over.
    sleep(Duration::from_secs(2)).await;
    assert_eq!(review.runs[1].load(Ordering::SeqCst), 1);
}

// ---- [collect] ----------------------------------------------------------------------------

struct Panel {
    fail: [bool; 3],
    cancel: Option<workflow::CancellationToken>,
}

#[workflow]
impl Panel {
    async fn one(&self, n: u32) -> Result<u32, Unreadable> {
        sleep(Duration::from_millis(30)).await;
        if self.fail[0] {
            return Err(Unreadable);
        }
        Ok(n + 1)
    }

    async fn two(&self, n: u32) -> Result<u32, Unreadable> {
        sleep(Duration::from_millis(10)).await;
        if self.fail[1] {
            return Err(Unreadable);
        }
        Ok(n + 2)
    }

    async fn three(&self, n: u32) -> Result<u32> {
        if let Some(token) = &self.cancel {
            token.cancel();
            sleep(Duration::from_secs(1)).await;
        }
        if self.fail[2] {
            return Err(Error::Cancelled {
                workflow: "Panel",
                step: Some("three"),
            });
        }
        Ok(n + 3)
    }

    flow! {
        start -> (one, two, three) [collect] -> end;
    }
}

type Collected = (
    Result<u32, BranchError>,
    Result<u32, BranchError>,
    Result<u32, BranchError>,
);

#[tokio::test(start_paused = true)]
async fn collect_gives_the_join_every_result() {
    let panel = Panel {
        fail: [false, true, false],
        cancel: None,
    };
    let (one, two, three): Collected = panel.run(10).await.expect("the run succeeds");
    assert_eq!(one, Ok(11));
    assert_eq!(three, Ok(13));
    let two = two.expect_err("two fails");
    assert_eq!(two.step, "two");
    assert!(two.message.contains("unreadable review"), "{}", two.message);
    assert!(two.transient);
}

#[tokio::test(start_paused = true)]
async fn collect_still_stops_for_errors_that_stop_the_run() {
    let panel = Panel {
        fail: [false, false, true],
        cancel: None,
    };
    let error = panel.run(1).await.expect_err("the run fails");
    assert!(matches!(error, Error::Cancelled { .. }), "{error:?}");

    // Cancelling the run while its branches run stops them all.
    let token = workflow::CancellationToken::new();
    let panel = Panel {
        fail: [false; 3],
        cancel: Some(token.clone()),
    };
    let started = Instant::now();
    let error = Executor::new()
        .cancellation(token)
        .start(&panel, 1)
        .await
        .expect_err("the run fails");
    assert!(matches!(error, Error::Cancelled { .. }), "{error:?}");
    assert!(started.elapsed() < Duration::from_millis(30));
}

// ---- a map --------------------------------------------------------------------------------

/// Summarizes each section; shorter sections take longer, so they finish out of order.
#[derive(Default)]
struct Sections {
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    runs: AtomicU32,
    fail_on: Option<String>,
}

#[workflow]
impl Sections {
    async fn split(&self, doc: String) -> Vec<String> {
        doc.split('|')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    async fn summarize(&self, section: String) -> Result<usize, Unreadable> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_in_flight.fetch_max(now, Ordering::SeqCst);
        sleep(Duration::from_millis(100 / section.len() as u64)).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        if self.fail_on.as_deref() == Some(section.as_str()) {
            return Err(Unreadable);
        }
        Ok(section.len())
    }

    async fn assemble(&self, lengths: Vec<usize>) -> String {
        format!("{lengths:?}")
    }

    flow! {
        start -> split -> each summarize [concurrency 2] -> assemble -> end;
    }
}

#[tokio::test(start_paused = true)]
async fn a_map_keeps_input_order_and_its_concurrency() {
    let sections = Sections::default();
    let out = sections
        .run("a|bbbb|cc|ddddd|e|ff".into())
        .await
        .expect("the run succeeds");
    assert_eq!(out, "[1, 4, 2, 5, 1, 2]");
    assert_eq!(sections.most_in_flight.load(Ordering::SeqCst), 2);
    assert_eq!(sections.runs.load(Ordering::SeqCst), 6);
}

#[tokio::test(start_paused = true)]
async fn an_empty_collection_maps_to_an_empty_vec() {
    let sections = Sections::default();
    assert_eq!(
        sections.run(String::new()).await.expect("the run succeeds"),
        "[]"
    );
    assert_eq!(sections.runs.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn a_failed_element_fails_the_map() {
    let sections = Sections {
        fail_on: Some("cc".into()),
        ..Sections::default()
    };
    let error = sections
        .run("a|bbbb|cc|ddddd".into())
        .await
        .expect_err("the run fails");
    assert_eq!(error.step(), Some("summarize"));
    // `ddddd` was never started: the map stopped at the error.
    assert!(sections.runs.load(Ordering::SeqCst) <= 4);
}

/// A map that starts the workflow, unbounded, with `[collect]`.
struct Squares;

#[workflow]
impl Squares {
    async fn square(&self, n: i64) -> Result<i64, Unreadable> {
        if n < 0 {
            return Err(Unreadable);
        }
        Ok(n * n)
    }

    flow! {
        start -> each square [collect] -> end;
    }
}

#[tokio::test]
async fn a_collected_map_at_the_start() {
    let out: Vec<Result<i64, BranchError>> =
        Squares.run(vec![1, -2, 3]).await.expect("the run succeeds");
    assert_eq!(out[0], Ok(1));
    assert_eq!(
        out[1].as_ref().as_ref().expect_err("a failed branch").step,
        "square"
    );
    assert_eq!(out[2], Ok(9));
}

// ---- loops through forks ------------------------------------------------------------------

/// Asks two critics until both approve, at most three rounds.
struct Rounds;

#[workflow]
impl Rounds {
    async fn draft(&self, round: u32) -> u32 {
        round + 1
    }

    async fn strict(&self, round: u32) -> bool {
        round >= 3
    }

    async fn lenient(&self, round: u32) -> bool {
        round >= 1
    }

    async fn decide(&self, (strict, lenient): (bool, bool)) -> (bool, bool) {
        (strict, lenient)
    }

    flow! {
        type Output = String;
        start -> draft -> (strict, lenient) -> decide;
        decide -> match {
            (true, true) => end(String::from("approved")),
            _ => draft(0) [max 2 else end(String::from("gave up"))],
        };
    }
}

#[tokio::test]
async fn a_loop_through_a_fan_out_keeps_its_bound() {
    // `draft(0)` restarts the count, so `strict` never approves: the bound ends the run.
    assert_eq!(Rounds.run(0).await.expect("the run succeeds"), "gave up");
    assert_eq!(Rounds.run(5).await.expect("the run succeeds"), "approved");
}

// ---- usage of branches --------------------------------------------------------------------

struct Analysts {
    optimist: Agent,
    skeptic: Agent,
}

#[workflow]
impl Analysts {
    async fn optimist(&self, proposal: String) -> Result<String> {
        self.optimist.prompt(&proposal).await
    }

    async fn skeptic(&self, proposal: String) -> Result<String> {
        sleep(Duration::from_millis(5)).await;
        self.skeptic.prompt(&proposal).await
    }

    async fn summary(&self, (up, down): (String, String)) -> String {
        format!("{up} / {down}")
    }

    flow! {
        start -> (optimist, skeptic) -> summary -> end;
    }
}

#[tokio::test(start_paused = true)]
async fn calls_in_branches_are_accounted_to_their_steps() {
    let optimist = Scripted::new().reply(ChatResponse::new("great").with_usage(Usage::new(100, 1)));
    let skeptic = Scripted::new().reply(ChatResponse::new("risky").with_usage(Usage::new(7, 2)));
    let analysts = Analysts {
        optimist: Agent::builder(Arc::new(optimist)).build(),
        skeptic: Agent::builder(Arc::new(skeptic)).build(),
    };
    let report = Executor::new()
        .start(&analysts, "a plan".into())
        .report()
        .await;
    assert_eq!(
        report.outcome.output().cloned().expect("the run succeeds"),
        "great / risky"
    );
    let up = report.usage.step("optimist").expect("optimist made a call");
    let down = report.usage.step("skeptic").expect("skeptic made a call");
    assert_eq!((up.calls, up.usage.input_tokens), (1, 100));
    assert_eq!((down.calls, down.usage.input_tokens), (1, 7));
    assert_eq!(report.usage.total.calls, 2);
}

// ---- the state of a running fork ----------------------------------------------------------

/// Starts a durable run of `workflow` on `input` in `store`, and cancels it after `after`, as a
/// crash would stop it: what finished by then is saved.
async fn interrupted<W: Workflow>(
    store: &Arc<MemoryStore>,
    workflow: &W,
    input: W::Input,
    after: Duration,
) -> RunId {
    let token = CancellationToken::new();
    let runner = Runner::new(store.clone()).cancellation(token.clone());
    let (report, ()) = tokio::join!(runner.start(workflow, input), async {
        sleep(after).await;
        token.cancel();
    });
    let report = report.expect("the run is created");
    let error = report.outcome.error();
    assert!(matches!(error, Some(Error::Cancelled { .. })), "{error:?}");
    report.id
}

/// The state of run `run` at its latest checkpoint, with the branches saved since.
async fn latest<W: Workflow>(store: &Arc<MemoryStore>, run: RunId) -> serde_json::Value {
    let runner = Runner::new(store.clone());
    let history = runner.history(run).await.expect("the history reads");
    let latest = history.last().expect("a checkpoint");
    let (state, _) = latest.decode::<W>().expect("it reads back");
    serde_json::to_value(&state).expect("states serialize")
}

#[tokio::test(start_paused = true)]
async fn a_fan_out_saves_each_finished_branch_and_resumes_without_it() {
    let store = Arc::new(MemoryStore::new());
    // `sentiment` finishes at 100 ms, `length` would at 300 ms: stopped at 200 ms.
    let review = Review::with_delays(100, 300);
    let run = interrupted(
        &store,
        &review,
        "  I love it ".into(),
        Duration::from_millis(200),
    )
    .await;
    assert_eq!(
        latest::<Review>(&store, run).await,
        serde_json::json!({ "(sentiment, length)": ["I love it", [{ "done": "positive" }, "pending"]] })
    );

    // The resumed run does not run `sentiment` again, and the output is the same.
    let resumed = Review::with_delays(100, 300);
    let report = Runner::new(store.clone())
        .resume(&resumed, run)
        .await
        .expect("the run resumes");
    assert_eq!(
        report.into_output().expect("it finishes"),
        "positive, 9 chars"
    );
    assert_eq!(resumed.runs[0].load(Ordering::SeqCst), 0);
    assert_eq!(resumed.runs[1].load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_map_saves_each_finished_element_and_resumes_without_it() {
    let store = Arc::new(MemoryStore::new());
    // Three elements, two at a time: `aaaa` (25 ms) and `cc` (50 ms, from 25 ms) finish before
    // `b` (100 ms): stopped at 80 ms.
    let sections = Sections::default();
    let run = interrupted(
        &store,
        &sections,
        "aaaa|b|cc".into(),
        Duration::from_millis(80),
    )
    .await;
    assert_eq!(
        latest::<Sections>(&store, run).await,
        serde_json::json!({ "each summarize": [["aaaa", "b", "cc"], [{ "done": 4 }, "pending", { "done": 2 }]] })
    );

    let resumed = Sections::default();
    let report = Runner::new(store.clone())
        .resume(&resumed, run)
        .await
        .expect("the run resumes");
    assert_eq!(report.into_output().expect("it finishes"), "[4, 1, 2]");
    assert_eq!(resumed.runs.load(Ordering::SeqCst), 1);
}

#[test]
fn a_hand_edited_map_state_runs_the_missing_elements() {
    // One result for three elements: the others are pending.
    let state: SectionsState = serde_json::from_value(serde_json::json!(
        { "each summarize": [["aaaa", "b", "cc"], [{ "done": 4 }]] }
    ))
    .expect("a shorter list of results deserializes");
    let resumed = Sections::default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a runtime");
    let out = runtime
        .block_on(Executor::new().start_from(&resumed, state, Loops::new()))
        .expect("the run succeeds");
    assert_eq!(out, "[4, 1, 2]");
    assert_eq!(resumed.runs.load(Ordering::SeqCst), 2);
}

#[test]
fn fork_states_are_checked_like_any_other() {
    for bad in [
        serde_json::json!({ "(sentiment, length)": ["text", ["pending"]] }),
        serde_json::json!({ "(sentiment, length)": ["text", ["pending", "started"]] }),
        serde_json::json!({ "(sentiment, length)": ["text", ["pending", { "done": "nine" }]] }),
        serde_json::json!({ "(length, sentiment)": ["text", ["pending", "pending"]] }),
    ] {
        assert!(
            serde_json::from_value::<ReviewState>(bad.clone()).is_err(),
            "accepted {bad}"
        );
    }
    let pending: Branch<u32> = serde_json::from_str("\"pending\"").expect("pending deserializes");
    assert!(pending.is_pending());
}

#[test]
fn forks_are_part_of_the_definition() {
    assert_eq!(Review::STEPS, ["read", "sentiment", "length", "report"]);
    let state = Review::start("x".into());
    assert_eq!(Review::step_name(&state), "read");
    assert_ne!(Review::FINGERPRINT, Panel::FINGERPRINT);
    assert!(
        Review::MERMAID.contains("fork0{{\"fork\"}}"),
        "{}",
        Review::MERMAID
    );
    assert!(Review::MERMAID.contains("    read --> fork0\n    fork0 --> sentiment\n    sentiment --> join0\n    fork0 --> length\n    length --> join0\n    join0 --> report\n"), "{}", Review::MERMAID);
    assert!(Panel::MERMAID.contains("join0{{\"join all results\"}}"));
    assert!(
        Sections::MERMAID.contains("summarize[[\"each summarize, 2 at a time\"]]"),
        "{}",
        Sections::MERMAID
    );
    assert!(Sections::MERMAID.contains("split --> summarize\n    summarize --> assemble\n"));
}

/// One analyst answers at once and fails the fan-out; the other is mid-call then.
struct Hasty {
    quick: Agent,
    slow: Agent,
}

#[workflow]
impl Hasty {
    async fn quick(&self, proposal: String) -> Result<String> {
        let answer = self.quick.prompt(&proposal).await?;
        Err(Error::Step {
            workflow: "Hasty",
            step: "quick",
            attempts: 1,
            source: format!("rejected: {answer}").into(),
        })
    }

    async fn slow(&self, proposal: String) -> Result<String> {
        self.slow.prompt(&proposal).await
    }

    async fn summary(&self, (up, down): (String, String)) -> String {
        format!("{up} / {down}")
    }

    flow! {
        start -> (quick, slow) -> summary -> end;
    }
}

#[tokio::test(start_paused = true)]
async fn calls_of_failed_and_cancelled_branches_are_still_accounted() {
    let quick = Scripted::new()
        .delay(Duration::from_secs(1))
        .reply(ChatResponse::new("no").with_usage(Usage::new(10, 1)));
    let slow = Scripted::new()
        .delay(Duration::from_secs(5))
        .reply(ChatResponse::new("late").with_usage(Usage::new(20, 2)));
    let hasty = Hasty {
        quick: Agent::builder(Arc::new(quick)).build(),
        slow: Agent::builder(Arc::new(slow)).build(),
    };
    let report = Executor::new()
        .start(&hasty, "a plan".into())
        .report()
        .await;
    let error = report.outcome.error().expect("quick fails the fan-out");
    assert_eq!(error.step(), Some("quick"));
    let quick = report.usage.step("quick").expect("quick made a call");
    assert_eq!(
        (quick.calls, quick.failed_calls, quick.usage.input_tokens),
        (1, 0, 10)
    );
    // The slow call was cut short by the cancellation: a failed call of its own step.
    let slow = report.usage.step("slow").expect("slow made a call");
    assert_eq!((slow.calls, slow.failed_calls), (1, 1));
    assert_eq!(report.usage.total.calls, 2);
}
