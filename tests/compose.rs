//! Composition: a workflow that runs as a step of another (`fn research(&self) -> &Research`),
//! in memory. Its events in the parent's stream, tagged with the parent step; its usage per
//! child step and rolled up into the parent's step and run; its failure as the parent step's,
//! naming the child's step; cancellation and the step budget reaching into it; a pause inside
//! it answered through the parent; what the macro generates for it; the same parent written by
//! hand with the public API.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use workflow::event::{Event, EventKind};
use workflow::prelude::*;
use workflow::provider::{Scripted, Usage};
use workflow::state::{ChildState, ChildStop};
use workflow::usage::{Price, Pricing};
use workflow::{Answer, CancellationToken, Context, StepPolicy, Workflow};

/// The child: searches, then summarizes, each with a model call.
struct Research {
    model: Agent,
    summaries: AtomicU32,
}

#[derive(Debug)]
struct NoSources(String);

impl std::fmt::Display for NoSources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no sources for `{}`", self.0)
    }
}

impl std::error::Error for NoSources {}

/// `error` and its sources, separated by `: `.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

#[workflow]
impl Research {
    async fn search(&self, topic: String) -> Result<String> {
        self.model.prompt(&format!("search {topic}")).await
    }

    async fn summarize(&self, notes: String) -> Result<String, NoSources> {
        self.summaries.fetch_add(1, Ordering::SeqCst);
        if notes.contains("nothing") {
            return Err(NoSources(notes));
        }
        Ok(format!("summary of {notes}"))
    }

    flow! {
        start -> search -> summarize -> end;
    }
}

/// The parent: plans, runs `Research` as its `research` step, writes.
struct Article {
    research: Research,
    writer: Agent,
}

#[workflow]
impl Article {
    async fn plan(&self, topic: String) -> String {
        format!("{topic} plan")
    }

    fn research(&self) -> &Research {
        &self.research
    }

    async fn write(&self, summary: String) -> Result<String> {
        self.writer.prompt(&summary).await
    }

    flow! {
        start -> plan -> research -> write -> end;
    }
}

fn reply(text: &str, usage: Usage) -> ChatResponse {
    ChatResponse::new(text).with_usage(usage).with_model("m-1")
}

fn article(search: Scripted) -> Article {
    let writer = Scripted::new().reply(reply("an article", Usage::new(30, 40)));
    Article {
        research: Research {
            model: Agent::builder(Arc::new(search)).name("searcher").build(),
            summaries: AtomicU32::new(0),
        },
        writer: Agent::builder(Arc::new(writer)).name("writer").build(),
    }
}

/// Runs `workflow` with `executor`; its report and its events.
async fn watch<W: Workflow>(
    executor: &Executor,
    workflow: &W,
    input: W::Input,
) -> (workflow::Report<W::Output>, Vec<Event>) {
    let mut run = executor.start(workflow, input);
    let mut events = run.events();
    tokio::join!(run.report(), async {
        let mut all = Vec::new();
        while let Some(event) = events.recv().await {
            all.push(event);
        }
        all
    })
}

/// One line per event: its path, its workflow and what happened.
fn show(event: &Event) -> String {
    let at = if event.path.is_empty() {
        String::new()
    } else {
        format!("{}/", event.path.join("/"))
    };
    let what = match &event.kind {
        EventKind::RunStarted { .. } => "run started".to_owned(),
        EventKind::StepStarted { step, .. } => format!("start {step}"),
        EventKind::StepFinished { step, .. } => format!("finish {step}"),
        EventKind::CallFinished { step, .. } => format!("call {}", step.unwrap_or("-")),
        EventKind::Completed { .. } => "completed".to_owned(),
        EventKind::Suspended { step, .. } => format!("suspended {step}"),
        EventKind::Failed { step, .. } => format!("failed {}", step.unwrap_or("-")),
        other => other.name().to_owned(),
    };
    format!("{at}{} {what}", event.workflow)
}

#[tokio::test]
async fn the_child_s_events_are_in_the_parent_s_stream_with_their_path() {
    let search = Scripted::new().reply(reply("notes", Usage::new(10, 20)));
    let executor = Executor::new().pricing(Pricing::new().model("m-1", Price::new(1.0, 2.0)));
    let (report, events) = watch(&executor, &article(search), "rust".into()).await;
    assert_eq!(
        report.outcome.output().map(String::as_str),
        Some("an article")
    );
    let lines: Vec<String> = events.iter().map(show).collect();
    assert_eq!(
        lines,
        [
            "Article run started",
            "Article start plan",
            "Article finish plan",
            "Article start research",
            "research/Research run started",
            "research/Research start search",
            "research/Research call search",
            "research/Research finish search",
            "research/Research start summarize",
            "research/Research finish summarize",
            "research/Research completed",
            "Article finish research",
            "Article start write",
            "Article call write",
            "Article finish write",
            "Article completed",
        ]
    );
    // One run, one sequence without gaps.
    assert!(events.iter().all(|event| event.run == report.id));
    let seqs: Vec<u64> = events.iter().map(|event| event.seq).collect();
    assert_eq!(seqs, (0..events.len() as u64).collect::<Vec<_>>());
}

#[tokio::test]
async fn the_child_s_usage_is_per_child_step_and_rolled_up_into_the_parent() {
    let search = Scripted::new().reply(reply("notes", Usage::new(10, 20)));
    let executor = Executor::new().pricing(Pricing::new().model("m-1", Price::new(1.0, 2.0)));
    let (report, events) = watch(&executor, &article(search), "rust".into()).await;
    let finished = |path: &[&str], name: &str| {
        events.iter().find_map(|event| match &event.kind {
            EventKind::StepFinished { step, usage, .. } if *step == name && event.path == path => {
                *usage
            }
            _ => None,
        })
    };
    // Per child step, in the child's events.
    let search = finished(&["research"], "search").expect("search's usage");
    assert_eq!(
        (search.usage.input_tokens, search.usage.output_tokens),
        (10, 20)
    );
    assert_eq!(search.calls, 1);
    let summarize = finished(&["research"], "summarize").expect("summarize's usage");
    assert_eq!(summarize.calls, 0);
    // Rolled up into the parent's step, in its event and its report, and into the run.
    let research = finished(&[], "research").expect("research's usage");
    assert_eq!(research.usage, search.usage);
    assert!((research.cost_usd - search.cost_usd).abs() < 1e-12);
    assert!(search.cost_usd > 0.0);
    let in_report = report
        .usage
        .step("research")
        .expect("research in the report");
    assert_eq!(in_report.usage, search.usage);
    assert_eq!(report.usage.total.calls, 2);
    assert_eq!(report.usage.total.usage.input_tokens, 10 + 30);
}

#[tokio::test]
async fn a_child_s_failure_is_the_parent_step_s_and_names_the_child_s_step() {
    let search = Scripted::new().reply(reply("nothing", Usage::new(1, 1)));
    let wf = article(search);
    let executor = Executor::new();
    let (report, events) = watch(&executor, &wf, "rust".into()).await;
    let error = report.outcome.error().expect("it fails");
    let Error::Step { workflow, step, .. } = error else {
        panic!("not a step error: {error:?}");
    };
    assert_eq!((*workflow, *step), ("Article", "research"));
    let message = chain(error);
    assert!(
        message.contains("`Research`: step `summarize` failed"),
        "{message}"
    );
    let inner = error
        .step_error::<NoSources>()
        .expect("the child step's own error");
    assert_eq!(inner.0, "nothing");
    let failed: Vec<String> = events
        .iter()
        .filter(|event| matches!(event.kind, EventKind::Failed { .. }))
        .map(show)
        .collect();
    assert_eq!(
        failed,
        [
            "research/Research failed summarize",
            "Article failed research"
        ]
    );
}

/// A child whose first step waits until it is cancelled.
struct Slow {
    after: AtomicU32,
}

#[workflow]
impl Slow {
    async fn wait(&self, input: String) -> String {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        input
    }

    async fn after(&self, input: String) -> String {
        self.after.fetch_add(1, Ordering::SeqCst);
        input
    }

    flow! {
        start -> wait -> after -> end;
    }
}

/// `$name`: a step, then the workflow `$child` as step `slow`.
macro_rules! outer {
    ($name:ident, $child:ty) => {
        struct $name {
            slow: $child,
        }

        #[workflow]
        impl $name {
            async fn first(&self, input: String) -> String {
                input
            }

            fn slow(&self) -> &$child {
                &self.slow
            }

            flow! {
                start -> first -> slow -> end;
            }
        }
    };
}

outer!(Outer, Slow);
// The same graph with another child: only the child's definition differs.
outer!(Outer2, Research);

#[tokio::test(start_paused = true)]
async fn cancellation_reaches_into_the_child() {
    let outer = Outer {
        slow: Slow {
            after: AtomicU32::new(0),
        },
    };
    let token = CancellationToken::new();
    let executor = Executor::new().cancellation(token.clone());
    let cancel = async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        token.cancel();
    };
    let ((report, events), ()) = tokio::join!(watch(&executor, &outer, "x".into()), cancel);
    let error = report.outcome.error().expect("cancelled");
    assert!(
        matches!(
            error,
            Error::Cancelled {
                workflow: "Outer",
                step: Some("slow")
            }
        ),
        "{error:?}"
    );
    assert_eq!(outer.slow.after.load(Ordering::SeqCst), 0);
    let started: Vec<String> = events.iter().map(show).collect();
    assert!(
        started.contains(&"slow/Slow start wait".to_owned()),
        "{started:?}"
    );
    assert_eq!(
        started.last().map(String::as_str),
        Some("Outer failed slow")
    );
}

#[tokio::test]
async fn the_step_budget_counts_the_child_s_steps() {
    // `plan`, `research`, `search`, `summarize`, `write`: five steps.
    assert_eq!(Article::MAX_STEPS, Some(5));
    assert_eq!(<Article as Workflow>::MAX_STEPS, Some(5));
    let ok = Scripted::new().reply(reply("notes", Usage::new(1, 1)));
    let output = Executor::new()
        .max_steps(5)
        .start(&article(ok), "rust".into())
        .await;
    assert_eq!(output.expect("five steps are enough"), "an article");
    let search = Scripted::new().reply(reply("notes", Usage::new(1, 1)));
    let wf = article(search);
    let error = Executor::new()
        .max_steps(3)
        .start(&wf, "rust".into())
        .await
        .expect_err("three steps are not");
    assert!(
        matches!(error, Error::StepLimit { max: 3, .. }),
        "{error:?}"
    );
    // `plan`, `research` and `search` ran; `summarize` would have been the fourth.
    assert_eq!(wf.research.summaries.load(Ordering::SeqCst), 0);
}

/// What a human decides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Decision {
    Approve,
    Reject,
}

/// A child with a pause.
#[derive(Default)]
struct Review {
    drafts: AtomicU32,
}

#[workflow]
impl Review {
    async fn draft(&self, topic: String) -> String {
        self.drafts.fetch_add(1, Ordering::SeqCst);
        format!("a post about {topic}")
    }

    async fn decide(&self, draft: String, decision: Decision) -> (String, bool) {
        (draft, decision == Decision::Approve)
    }

    flow! {
        start -> draft -> pause decide -> end;
    }
}

#[derive(Default)]
struct Publish {
    review: Review,
}

#[workflow]
impl Publish {
    fn review(&self) -> &Review {
        &self.review
    }

    async fn publish(&self, (draft, approved): (String, bool)) -> String {
        if approved {
            format!("published: {draft}")
        } else {
            "dropped".to_owned()
        }
    }

    flow! {
        start -> review -> publish -> end;
    }
}

/// The pause a run of `Publish` (or of the same written by hand) stopped at: `Review`'s
/// `decide`, inside the parent's step `review`.
fn paused_in_review(report: &workflow::Report<String>) -> workflow::Pause {
    let pause = report.outcome.pause().expect("suspended in the child");
    assert_eq!(
        (pause.step, pause.path.as_slice()),
        ("decide", &["review"][..])
    );
    assert_eq!(pause.outer_step(), "review");
    pause.clone()
}

#[tokio::test]
async fn a_pause_inside_the_child_is_answered_through_the_parent() {
    let wf = Publish::default();
    let executor = Executor::new();
    let (report, events) = watch(&executor, &wf, "rust".into()).await;
    let pause = paused_in_review(&report);
    assert_eq!(pause.payload, serde_json::json!("a post about rust"));
    let lines: Vec<String> = events.iter().map(show).collect();
    assert_eq!(
        &lines[lines.len() - 2..],
        ["review/Review suspended decide", "Publish suspended review"]
    );
    assert!(
        !lines.contains(&"Publish finish review".to_owned()),
        "{lines:?}"
    );

    // Typed: `Publish` takes what `Review`'s pauses take.
    let published = executor
        .answer(&wf, &pause, Decision::Approve)
        .expect("a pause of this run")
        .await
        .expect("it finishes");
    assert_eq!(published, "published: a post about rust");
    // As JSON, from outside.
    let dropped = executor
        .answer_json(&wf, &pause, serde_json::json!("Reject"))
        .expect("a pause of this run")
        .await
        .expect("it finishes");
    assert_eq!(dropped, "dropped");
    // The child's first step never ran again.
    assert_eq!(wf.review.drafts.load(Ordering::SeqCst), 1);
    let Err(error) = executor.answer_json(&wf, &pause, serde_json::json!({"Maybe": 1})) else {
        panic!("a value the pause does not take was given");
    };
    assert!(matches!(error, Error::AnswerValue { .. }), "{error:?}");
}

#[tokio::test]
async fn a_plain_run_stops_at_a_pause_inside_its_child() {
    // Nothing watches `wf.run(input)`: its steps are taken one after another in one future
    // (`Workflow::__steps`), which must hand the run back where the child waits.
    let wf = Publish::default();
    let run = tokio::time::timeout(Duration::from_secs(10), wf.run("rust".into()));
    let error = run
        .await
        .expect("it stops")
        .expect_err("suspended in the child");
    assert!(
        matches!(
            error,
            Error::Suspended {
                workflow: "Publish",
                step: "decide"
            }
        ),
        "{error:?}"
    );
    assert_eq!(wf.review.drafts.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_state_holds_the_child_s_state() {
    let state = <Publish as Workflow>::start("rust".into());
    assert_eq!(<Publish as Workflow>::step_name(&state), "review");
    let json = serde_json::to_value(&state).expect("serializes");
    assert_eq!(
        json,
        serde_json::json!({"review": {"state": {"draft": "rust"}, "loops": []}})
    );
    let back: <Publish as Workflow>::State = serde_json::from_value(json).expect("reads back");
    assert_eq!(<Publish as Workflow>::step_name(&back), "review");
    // Not waiting yet: the child has not reached its pause.
    assert!(<Publish as Workflow>::pause(&state).is_none());
    let Err(error) = <Publish as Answer<Decision>>::answer(state, Decision::Approve) else {
        panic!("a run that does not wait was answered");
    };
    assert!(
        matches!(
            error,
            Error::NotPaused {
                workflow: "Review",
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn the_child_enters_the_parent_s_definition() {
    assert!(
        Article::MERMAID.contains("research[[\"research: workflow Research\"]]"),
        "{}",
        Article::MERMAID
    );
    assert_ne!(
        <Article as Workflow>::FINGERPRINT,
        <Research as Workflow>::FINGERPRINT
    );
    // The same parent graph with another child is another definition.
    assert_ne!(
        <Outer as Workflow>::FINGERPRINT,
        <Outer2 as Workflow>::FINGERPRINT
    );
}

/// `Publish`, written by hand with the public API: what `#[workflow]` generates for it.
struct HandPublish {
    review: Review,
}

#[derive(Debug, Serialize, Deserialize)]
enum HandState {
    Review(ChildState<<Review as Workflow>::State>),
    Publish((String, bool)),
    End(String),
}

impl Workflow for HandPublish {
    type Input = String;
    type Output = String;
    type State = HandState;
    const NAME: &'static str = "HandPublish";
    const FINGERPRINT: u64 = 7;
    const STEPS: &'static [&'static str] = &["review", "publish"];

    fn start(input: String) -> HandState {
        HandState::Review(ChildState::new(Review::start(input)))
    }

    fn finish(state: HandState) -> Result<String, HandState> {
        match state {
            HandState::End(out) => Ok(out),
            other => Err(other),
        }
    }

    fn step_name(state: &HandState) -> &'static str {
        match state {
            HandState::Review(_) => "review",
            HandState::Publish(_) => "publish",
            HandState::End(_) => "end",
        }
    }

    fn pause(state: &HandState) -> Option<workflow::Pause> {
        match state {
            HandState::Review(child) => Review::pause(&child.state).map(|p| p.within("review")),
            _ => None,
        }
    }

    fn answer_json(state: HandState, value: serde_json::Value) -> Result<HandState, Error> {
        match state {
            HandState::Review(child) => Ok(HandState::Review(ChildState {
                state: Review::answer_json(child.state, value)?,
                ..child
            })),
            other => Err(Error::NotPaused {
                workflow: Self::NAME,
                step: Self::step_name(&other),
            }),
        }
    }

    async fn transition(&self, state: HandState, cx: &mut Context) -> Result<HandState, Error> {
        const POLICY: StepPolicy = StepPolicy::new();
        Ok(match state {
            HandState::Review(child) => {
                match cx.child("review", &POLICY, &self.review, child).await? {
                    ChildStop::Finished(decided) => HandState::Publish(decided),
                    ChildStop::Waiting(child) => return Ok(HandState::Review(child)),
                }
            }
            HandState::Publish((draft, approved)) => HandState::End(if approved {
                format!("published: {draft}")
            } else {
                "dropped".to_owned()
            }),
            done @ HandState::End(_) => done,
        })
    }
}

#[tokio::test]
async fn the_same_parent_written_by_hand() {
    let wf = HandPublish {
        review: Review::default(),
    };
    let executor = Executor::new();
    let (report, events) = watch(&executor, &wf, "rust".into()).await;
    let pause = paused_in_review(&report);
    assert!(events.iter().any(|event| event.path == ["review"]));
    let published = executor
        .answer_json(&wf, &pause, serde_json::json!("Approve"))
        .expect("a pause of this run")
        .await
        .expect("it finishes");
    assert_eq!(published, "published: a post about rust");
}

/// A durable parent: the child's pause suspends the parent's run in its store (a real SQLite
/// file), and the parent's answer goes to the child, whose first step does not run again.
#[tokio::test]
async fn a_pause_inside_the_child_suspends_a_durable_parent() {
    use workflow::{Outcome, Runner, SqliteStore};

    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(dir.path().join("runs.db")).expect("a store");
    let runner = Runner::new(Arc::new(store));
    let wf = Publish::default();
    let run = runner.start(&wf, "rust".into()).await.expect("created");
    let Outcome::Suspended(pause) = &run.outcome else {
        panic!("not suspended: {:?}", run.outcome);
    };
    assert_eq!(pause.step, "decide");
    let pending = runner.pending::<Publish>(run.id).await.expect("readable");
    assert_eq!(pending.map(|pause| pause.step), Some("decide"));
    let token = pause.token().expect("a durable pause has a token");
    let done = runner
        .answer(&wf, token, Decision::Approve)
        .await
        .expect("resumed");
    assert_eq!(
        done.into_output().expect("finished"),
        "published: a post about rust"
    );
    assert_eq!(wf.review.drafts.load(Ordering::SeqCst), 1);
}

/// A child of three steps whose second fails on its first attempt, as a crash would stop it.
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
    first: AtomicU32,
    three: Three,
}

#[workflow]
impl Wrap {
    async fn first(&self, x: u32) -> u32 {
        self.first.fetch_add(1, Ordering::SeqCst);
        x
    }

    fn three(&self) -> &Three {
        &self.three
    }

    flow! {
        start -> first -> three -> end;
    }
}

/// A durable parent saves a checkpoint after each step of its child: a run stopped in the
/// middle of the child resumes there, and no finished step of the child runs again.
#[tokio::test]
async fn a_durable_child_resumes_where_it_stopped() {
    use workflow::{Outcome, Runner, SqliteStore};

    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(dir.path().join("runs.db")).expect("a store");
    let runner = Runner::new(Arc::new(store));
    let mut events = runner.subscribe();
    let wf = Wrap::default();
    let run = runner.start(&wf, 0).await.expect("created");
    let Outcome::Failed(error) = &run.outcome else {
        panic!("it did not stop: {:?}", run.outcome);
    };
    assert!(
        matches!(error, Error::Step { step: "three", .. }),
        "{error:?}"
    );
    // Before `first`, before `three`, then after `a`: the child's state in the parent's,
    // with the parent's checkpoint it started from (its run id is derived from it) and the
    // number of its own latest checkpoint.
    let history = runner.history(run.id).await.expect("its checkpoints");
    assert_eq!(history.len(), 3);
    let last = history.last().expect("a checkpoint");
    assert_eq!(last.step, "three");
    let state: serde_json::Value = serde_json::from_str(&last.state).expect("JSON");
    assert_eq!(
        state,
        serde_json::json!({"three": {"state": {"b": 1}, "loops": [], "started": 1, "seq": 0}})
    );

    let done = runner.resume(&wf, run.id).await.expect("resumed");
    assert_eq!(done.into_output().expect("finished"), 111);
    let runs = |three: &Three| three.runs.each_ref().map(|n| n.load(Ordering::SeqCst));
    assert_eq!(wf.first.load(Ordering::SeqCst), 1);
    assert_eq!(runs(&wf.three), [1, 2, 1]);

    let mut lines = Vec::new();
    while let Some(event) = events.try_recv() {
        lines.push(show(&event));
    }
    assert_eq!(
        lines,
        [
            "Wrap run started",
            "Wrap start first",
            "Wrap finish first",
            "Wrap start three",
            "three/Three run started",
            "three/Three start a",
            "three/Three finish a",
            "three/Three start b",
            "three/Three failed b",
            "Wrap failed three",
            "Wrap resumed",
            "Wrap start three",
            "three/Three run started",
            "three/Three start b",
            "three/Three finish b",
            "three/Three start c",
            "three/Three finish c",
            "three/Three completed",
            "Wrap finish three",
            "Wrap completed",
        ]
    );
}

/// A parent whose fan-out has a child as one of its branches.
#[derive(Default)]
struct Fanned {
    other: AtomicU32,
    three: Three,
}

#[workflow]
impl Fanned {
    async fn split(&self, x: u32) -> u32 {
        x
    }

    fn three(&self) -> &Three {
        &self.three
    }

    async fn other(&self, x: u32) -> u32 {
        self.other.fetch_add(1, Ordering::SeqCst);
        x * 2
    }

    async fn join(&self, (three, other): (u32, u32)) -> u32 {
        three + other
    }

    flow! {
        start -> split -> (three, other) -> join -> end;
    }
}

/// A child as a branch of a fan-out runs inline to its end, beside the other branches; its
/// events are the branch's. In a durable run a branch is saved when it finishes: a child that
/// had not finished runs again from its first step, the finished branches do not.
#[tokio::test]
async fn a_child_runs_as_a_branch_of_a_fan_out() {
    use workflow::{Outcome, Runner, SqliteStore};

    // In memory: `b` fails its first attempt, which fails the run.
    let wf = Fanned::default();
    let (report, events) = watch(&Executor::new(), &wf, 1).await;
    assert!(
        matches!(
            &report.outcome,
            Outcome::Failed(Error::Step { step: "three", .. })
        ),
        "{:?}",
        report.outcome
    );
    let lines: Vec<String> = events.iter().map(show).collect();
    assert!(
        lines.contains(&"three/Three start b".to_owned()),
        "{lines:#?}"
    );
    let (report, _) = watch(&Executor::new(), &wf, 1).await;
    assert_eq!(report.into_output().expect("finished"), 112 + 2);

    // Durably: the first run fails in the child; `other` finished and is saved.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(dir.path().join("runs.db")).expect("a store");
    let runner = Runner::new(Arc::new(store));
    let wf = Fanned::default();
    let run = runner.start(&wf, 1).await.expect("created");
    assert!(
        matches!(
            &run.outcome,
            Outcome::Failed(Error::Step { step: "three", .. })
        ),
        "{:?}",
        run.outcome
    );
    let done = runner.resume(&wf, run.id).await.expect("resumed");
    assert_eq!(done.into_output().expect("finished"), 112 + 2);
    let runs = |three: &Three| three.runs.each_ref().map(|n| n.load(Ordering::SeqCst));
    assert_eq!(runs(&wf.three), [2, 2, 1], "the child ran again from `a`");
    assert_eq!(
        wf.other.load(Ordering::SeqCst),
        1,
        "`other` did not run again"
    );
}

/// A parent that runs its child once per element of a collection.
struct Mapped {
    three: Three,
}

#[workflow]
impl Mapped {
    async fn items(&self, n: u32) -> Vec<u32> {
        (0..n).collect()
    }

    fn three(&self) -> &Three {
        &self.three
    }

    async fn total(&self, all: Vec<u32>) -> u32 {
        all.into_iter().sum()
    }

    flow! {
        start -> items -> each three -> total -> end;
    }
}

#[tokio::test]
async fn a_map_runs_its_child_for_each_element() {
    let wf = Mapped {
        three: Three::default(),
    };
    // The first element's `b` fails once: `b` has run since, so the next run goes through.
    assert!(wf.run(3).await.is_err());
    assert_eq!(
        wf.run(3).await.expect("finished"),
        (0..3).map(|x| x + 111).sum::<u32>()
    );
    assert_eq!(
        Mapped::MAX_STEPS,
        None,
        "how often the child runs depends on the data"
    );
    assert_eq!(
        Fanned::MAX_STEPS,
        Some(3 + 3),
        "split, the fork, join; and the child's three"
    );
}

/// A parent whose branch is a workflow that pauses: refused when the child reaches its pause.
struct ReviewBranch {
    review: Review,
}

#[workflow]
impl ReviewBranch {
    async fn split(&self, topic: String) -> String {
        topic
    }

    fn review(&self) -> &Review {
        &self.review
    }

    async fn other(&self, topic: String) -> String {
        topic
    }

    async fn join(&self, ((draft, _), other): ((String, bool), String)) -> String {
        draft + &other
    }

    flow! {
        start -> split -> (review, other) -> join -> end;
    }
}

#[tokio::test]
async fn a_child_that_waits_cannot_be_a_branch() {
    let wf = ReviewBranch {
        review: Review::default(),
    };
    let error = wf
        .run("rust".into())
        .await
        .expect_err("a branch cannot wait");
    let Error::Step {
        step: "review",
        source,
        ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert!(
        source
            .to_string()
            .contains("which a branch of a fan-out or a map cannot do"),
        "{source}"
    );
    // A branch's pauses are not the parent's.
    assert!(ReviewBranch::pauses().is_empty());
}

/// A child with a bounded loop of its own: `tick` goes round twice at most.
struct Ticks;

#[workflow]
impl Ticks {
    async fn tick(&self, n: u32) -> u32 {
        n + 1
    }

    flow! {
        type Output = u32;
        start -> tick;
        tick -> match {
            n if n < 3 => tick(n) [max 2 else end(n)],
            n => end(n),
        };
    }
}

/// A parent whose loop (edge 0, as the child's) goes round the child twice at most.
struct Rounds {
    ticks: Ticks,
}

#[workflow]
impl Rounds {
    async fn prepare(&self, n: u32) -> u32 {
        n
    }

    fn ticks(&self) -> &Ticks {
        &self.ticks
    }

    async fn check(&self, n: u32) -> u32 {
        n
    }

    flow! {
        type Output = u32;
        start -> prepare -> ticks -> check;
        check -> match {
            n if n < 9 => prepare(n) [max 2 else end(n)],
            n => end(n),
        };
    }
}

#[tokio::test]
async fn a_child_and_its_parent_count_their_loops_apart() {
    // The child takes its edge 0 twice on its first run (0 -> 3); had it counted on the
    // parent's edge 0, the parent's loop would be spent at once and the run would end at 3.
    let rounds = Rounds { ticks: Ticks };
    assert_eq!(rounds.run(0).await.expect("the run ends"), 5);
    let report = Executor::new().start(&rounds, 0).report().await;
    assert!(matches!(report.outcome, Outcome::Finished(5)));
}

#[tokio::test]
async fn a_context_lent_to_a_child_is_the_parent_s_again_after_it() {
    let mut cx = Context::new("Rounds");
    assert!(cx.take_edge(0, 2));
    let child = ChildState::new(Ticks::start(0));
    let stop = cx
        .child("ticks", &StepPolicy::new(), &Ticks, child)
        .await
        .expect("the child ends");
    assert!(matches!(stop, ChildStop::Finished(3)));
    assert_eq!((cx.workflow(), cx.loops().count(0)), ("Rounds", 1));
}

/// A child written by hand that counts down to 0: its state at 0 is its end, and its
/// `transition` must not be given it (it would count on).
struct Countdown;

impl Workflow for Countdown {
    type Input = u32;
    type Output = u32;
    type State = u32;
    const NAME: &'static str = "Countdown";
    const FINGERPRINT: u64 = 1;
    const STEPS: &'static [&'static str] = &["down"];

    fn start(input: u32) -> u32 {
        input
    }

    fn finish(state: u32) -> Result<u32, u32> {
        match state {
            0 => Ok(100),
            _ => Err(state),
        }
    }

    fn step_name(state: &u32) -> &'static str {
        match state {
            0 => "end",
            _ => "down",
        }
    }

    async fn transition(&self, state: u32, _: &mut Context) -> Result<u32, Error> {
        state
            .checked_sub(1)
            .ok_or_else(|| Error::other("`transition` was given the end"))
    }
}

#[tokio::test]
async fn a_child_that_starts_at_its_end_takes_no_step() {
    for (input, steps) in [(0, "none"), (3, "three")] {
        let mut cx = Context::new("Parent");
        let child = ChildState::new(Countdown::start(input));
        let stop = cx
            .child("countdown", &StepPolicy::new(), &Countdown, child)
            .await
            .expect("the child ends");
        assert!(
            matches!(stop, ChildStop::Finished(100)),
            "{steps} steps: {stop:?}"
        );
    }
}
