//! A workflow with a fan-out and a map, twice: with `#[workflow]`, and written by hand against
//! the public runtime API only (`Branch`, `Context::branch`, `Context::checkpoint`,
//! `parallel::run_each`). Both must give the same outputs, errors, states and checkpoints.

use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use workflow::parallel::{run_each, StateView};
use workflow::prelude::*;
use workflow::{BoxFuture, Branch, Checkpointer, Context, Loops, StepPolicy};

#[derive(Debug)]
struct NoFacts;

impl std::fmt::Display for NoFacts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("no facts on this topic")
    }
}

impl std::error::Error for NoFacts {}

/// What both versions call.
struct Desk;

impl Desk {
    async fn outline(&self, topic: String) -> String {
        format!("outline of {topic}")
    }

    async fn facts(&self, outline: String) -> Result<Vec<String>, NoFacts> {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if outline.contains("nothing") {
            return Err(NoFacts);
        }
        Ok(outline.split(' ').map(str::to_owned).collect())
    }

    async fn quotes(&self, outline: String) -> usize {
        tokio::time::sleep(Duration::from_millis(10)).await;
        outline.len()
    }

    async fn write(&self, (facts, quotes): (Vec<String>, usize)) -> Vec<String> {
        facts
            .into_iter()
            .map(|fact| format!("{fact}:{quotes}"))
            .collect()
    }

    async fn polish(&self, paragraph: String) -> String {
        tokio::time::sleep(Duration::from_millis(30 / paragraph.len() as u64)).await;
        paragraph.to_uppercase()
    }

    async fn assemble(&self, paragraphs: Vec<String>) -> String {
        paragraphs.join(" ")
    }
}

// ---- with the macro -------------------------------------------------------------------------

struct Brief(Desk);

#[workflow]
impl Brief {
    async fn outline(&self, topic: String) -> String {
        self.0.outline(topic).await
    }

    async fn facts(&self, outline: String) -> Result<Vec<String>, NoFacts> {
        self.0.facts(outline).await
    }

    async fn quotes(&self, outline: String) -> usize {
        self.0.quotes(outline).await
    }

    async fn write(&self, input: (Vec<String>, usize)) -> Vec<String> {
        self.0.write(input).await
    }

    async fn polish(&self, paragraph: String) -> String {
        self.0.polish(paragraph).await
    }

    async fn assemble(&self, paragraphs: Vec<String>) -> String {
        self.0.assemble(paragraphs).await
    }

    flow! {
        start -> outline -> (facts, quotes) -> write -> each polish [concurrency 2] -> assemble -> end;
    }
}

// ---- by hand --------------------------------------------------------------------------------

struct ByHand(Desk);

/// The same variants, in the same order, with the same tags.
#[derive(Serialize, Deserialize)]
enum ByHandState {
    #[serde(rename = "outline")]
    Outline(String),
    #[serde(rename = "write")]
    Write((Vec<String>, usize)),
    #[serde(rename = "assemble")]
    Assemble(Vec<String>),
    #[serde(rename = "(facts, quotes)")]
    FanOut((String, (Branch<Vec<String>>, Branch<usize>))),
    #[serde(rename = "each polish")]
    Each((Vec<String>, Vec<Branch<String>>)),
    #[serde(rename = "end")]
    End(String),
}

const STEPS: &[&str] = &["outline", "facts", "quotes", "write", "polish", "assemble"];
const POLICY: StepPolicy = StepPolicy::new();

impl Workflow for ByHand {
    type Input = String;
    type Output = String;
    type State = ByHandState;
    const NAME: &'static str = "Brief";
    const FINGERPRINT: u64 = 1;
    const STEPS: &'static [&'static str] = STEPS;

    fn start(input: String) -> ByHandState {
        ByHandState::Outline(input)
    }

    fn finish(state: ByHandState) -> Result<String, ByHandState> {
        match state {
            ByHandState::End(out) => Ok(out),
            other => Err(other),
        }
    }

    fn step_name(state: &ByHandState) -> &'static str {
        match state {
            ByHandState::Outline(_) => "outline",
            ByHandState::Write(_) => "write",
            ByHandState::Assemble(_) => "assemble",
            ByHandState::FanOut(_) => "(facts, quotes)",
            ByHandState::Each(_) => "each polish",
            ByHandState::End(_) => "end",
        }
    }

    async fn transition(
        &self,
        state: ByHandState,
        loops: &mut Loops,
        cx: &Context,
    ) -> Result<ByHandState, Error> {
        {
            let desk = &self.0;
            Ok(match state {
                ByHandState::Outline(topic) => {
                    let outline = desk.outline(topic).await;
                    ByHandState::FanOut((outline, (Branch::Pending, Branch::Pending)))
                }
                ByHandState::FanOut(mut content) => {
                    let outline = &content.0;
                    let mut facts = pin!(cx.branch(1, 0, async {
                        let outline = outline.clone();
                        cx.step("facts", &POLICY, async {
                            desk.facts(outline).await.map_err(Into::into)
                        })
                        .await
                    }));
                    let mut quotes = pin!(cx.branch(2, 1, async {
                        Ok::<_, Error>(desk.quotes(outline.clone()).await)
                    }));
                    loop {
                        if let (Branch::Done(_), Branch::Done(_)) = &content.1 {
                            break;
                        }
                        // In declaration order when both are ready, like the macro.
                        tokio::select! {
                            biased;
                            facts = &mut facts, if content.1 .0.is_pending() => {
                                content.1 .0 = Branch::Done(facts?);
                            }
                            quotes = &mut quotes, if content.1 .1.is_pending() => {
                                content.1 .1 = Branch::Done(quotes?);
                            }
                        }
                        let view = StateView::new("BriefState", 3, "(facts, quotes)", &content);
                        cx.checkpoint(&view, loops).await?;
                    }
                    match content.1 {
                        (Branch::Done(facts), Branch::Done(quotes)) => {
                            ByHandState::Write((facts, quotes))
                        }
                        _ => unreachable!("the loop ends when both are done"),
                    }
                }
                ByHandState::Write(input) => {
                    let paragraphs = desk.write(input).await;
                    let pending = Branch::pending(paragraphs.len());
                    ByHandState::Each((paragraphs, pending))
                }
                ByHandState::Each(mut content) => {
                    let polished = run_each(
                        cx,
                        loops,
                        ("BriefState", 4, "each polish"),
                        &mut content,
                        4,
                        2,
                        |paragraph: &String| {
                            let paragraph = paragraph.clone();
                            async move { Ok(desk.polish(paragraph).await) }
                        },
                    )
                    .await?;
                    ByHandState::Assemble(polished)
                }
                ByHandState::Assemble(paragraphs) => {
                    ByHandState::End(desk.assemble(paragraphs).await)
                }
                done @ ByHandState::End(_) => done,
            })
        }
    }
}

// ---- the comparison -------------------------------------------------------------------------

#[derive(Default)]
struct Recorder(Mutex<Vec<serde_json::Value>>);

impl Checkpointer for Recorder {
    fn save<'a>(
        &'a self,
        state: serde_json::Value,
        _loops: &'a Loops,
    ) -> BoxFuture<'a, Result<(), Error>> {
        self.0.lock().expect("not poisoned").push(state);
        Box::pin(async { Ok(()) })
    }
}

/// Every state a run goes through, and every checkpoint saved inside a step, as JSON.
async fn trace<W: Workflow>(workflow: &W, input: W::Input) -> (Vec<String>, Result<(), String>) {
    let recorder = Arc::new(Recorder::default());
    let cx = Context::of::<W>().with_checkpoints(recorder.clone());
    let mut loops = Loops::new();
    let mut state = W::start(input);
    let mut trace = Vec::new();
    let result = loop {
        trace.push(serde_json::to_string(&state).expect("states serialize"));
        state = match W::finish(state) {
            Ok(_) => break Ok(()),
            Err(state) => state,
        };
        let next = workflow.transition(state, &mut loops, &cx).await;
        for saved in recorder.0.lock().expect("not poisoned").drain(..) {
            trace.push(format!("saved {saved}"));
        }
        state = match next {
            Ok(state) => state,
            Err(error) => break Err(error.to_string()),
        };
    };
    (trace, result)
}

#[tokio::test(start_paused = true)]
async fn both_versions_go_through_the_same_states_and_checkpoints() {
    for topic in ["rust workflows", "nothing at all"] {
        let ours = trace(&Brief(Desk), topic.to_owned()).await;
        let theirs = trace(&ByHand(Desk), topic.to_owned()).await;
        assert_eq!(ours, theirs, "on {topic:?}");
        // `quotes` finishes first and is saved, in both cases.
        assert!(
            ours.0
                .iter()
                .any(|line| line.contains("[\"pending\",{\"done\":")),
            "{ours:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn both_versions_give_the_same_outputs_and_errors() {
    let ours = Brief(Desk).run("a b".into()).await;
    let theirs = workflow::run(&ByHand(Desk), "a b".into()).await;
    assert_eq!(
        ours.expect("ours succeeds"),
        theirs.expect("theirs succeeds")
    );
    let ours = Brief(Desk)
        .run("nothing".into())
        .await
        .expect_err("the run fails");
    let theirs = workflow::run(&ByHand(Desk), "nothing".into())
        .await
        .expect_err("the run fails");
    assert_eq!(ours.to_string(), theirs.to_string());
    assert!(ours.step_error::<NoFacts>().is_some());
    assert!(theirs.step_error::<NoFacts>().is_some());
}
