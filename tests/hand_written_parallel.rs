//! A workflow with a fan-out and a map, twice: with `#[workflow]`, and written by hand against
//! the public runtime API only (`Branch`, `Context::branch`, `Context::each`). Both must give
//! the same outputs, errors, states and checkpoints.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use workflow::prelude::*;
use workflow::state::Branch;
use workflow::{Context, MemoryStore, Run, StepPolicy};

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

    async fn transition(&self, state: ByHandState, cx: &mut Context) -> Result<ByHandState, Error> {
        let desk = &self.0;
        Ok(match state {
            ByHandState::Outline(topic) => {
                let outline = desk.outline(topic).await;
                ByHandState::FanOut((outline, (Branch::Pending, Branch::Pending)))
            }
            ByHandState::FanOut((outline, (facts, quotes))) => {
                let cx = &*cx;
                let (facts, quotes) = tokio::try_join!(
                    cx.branch("facts", 0, facts, async {
                        let facts = desk.facts(outline.clone());
                        cx.step("facts", &POLICY, async { Ok(facts.await?) }).await
                    }),
                    cx.branch("quotes", 1, quotes, async {
                        Ok(desk.quotes(outline.clone()).await)
                    }),
                )?;
                ByHandState::Write((facts, quotes))
            }
            ByHandState::Write(input) => {
                let paragraphs = desk.write(input).await;
                let pending = Branch::pending(paragraphs.len());
                ByHandState::Each((paragraphs, pending))
            }
            ByHandState::Each((paragraphs, done)) => {
                let polished = cx
                    .each("polish", &paragraphs, done, 2, |paragraph: &String| {
                        let paragraph = paragraph.clone();
                        async move { Ok(desk.polish(paragraph).await) }
                    })
                    .await?;
                ByHandState::Assemble(polished)
            }
            ByHandState::Assemble(paragraphs) => ByHandState::End(desk.assemble(paragraphs).await),
            done @ ByHandState::End(_) => done,
        })
    }
}

impl ByHand {
    /// What the macro's `run` does.
    fn run(&self, topic: String) -> Run<'_, Self> {
        Run::new(self, topic)
    }
}

// ---- the comparison -------------------------------------------------------------------------

/// Every checkpoint a durable run saves, with the branches saved at each as they finished, and
/// how the run ended.
async fn trace<W: Workflow>(workflow: &W, input: W::Input) -> (Vec<String>, Result<(), String>) {
    let runner = Runner::new(Arc::new(MemoryStore::new()));
    let report = runner
        .start(workflow, input)
        .await
        .expect("the run is created");
    let mut trace = Vec::new();
    for checkpoint in runner.history(report.id).await.expect("its history reads") {
        trace.push(checkpoint.state);
        for branch in checkpoint.branches {
            trace.push(format!("saved branch {}: {}", branch.index, branch.value));
        }
    }
    let result = match report.outcome {
        Outcome::Finished(_) => Ok(()),
        Outcome::Suspended(pause) => Err(format!("suspended before {}", pause.step)),
        Outcome::Sleeping { step, .. } => Err(format!("asleep before {step}")),
        Outcome::Receiving { step, .. } => Err(format!("waiting for a signal before {step}")),
        Outcome::Failed(error) => Err(error.to_string()),
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
                .any(|line| line.starts_with("saved branch 1: ")),
            "{ours:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn both_versions_give_the_same_outputs_and_errors() {
    let ours = Brief(Desk).run("a b".into()).await;
    let theirs = ByHand(Desk).run("a b".into()).await;
    assert_eq!(
        ours.expect("ours succeeds"),
        theirs.expect("theirs succeeds")
    );
    let ours = Brief(Desk)
        .run("nothing".into())
        .await
        .expect_err("the run fails");
    let theirs = ByHand(Desk)
        .run("nothing".into())
        .await
        .expect_err("the run fails");
    assert_eq!(ours.to_string(), theirs.to_string());
    assert!(ours.step_error::<NoFacts>().is_some());
    assert!(theirs.step_error::<NoFacts>().is_some());
}
