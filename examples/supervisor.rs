//! A supervisor: a planner agent decides, with a typed answer, which specialist works on the
//! question next — a research workflow or a calculation workflow, each a workflow of its own
//! used as one step — reads what they found, and decides again until it can answer; then a
//! writer aggregates the findings into the answer. The specialists' steps run inside the
//! supervisor's run: their events and usage are the run's, tagged with the step they run in.
//! Run it with `cargo run --example supervisor` (the model: see `examples/support/mod.rs`), or
//! offline on scripted models with `cargo run --example supervisor -- --scripted`.

use std::sync::Arc;

use workflow::event::EventKind;
use workflow::prelude::*;
use workflow::provider::{ChatModel, Scripted};

mod support;

/// What the specialists have found so far about a question: the state the supervisor and its
/// specialists pass around.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Notes {
    question: String,
    findings: Vec<String>,
}

impl Notes {
    fn found(mut self, by: &str, finding: &str) -> Self {
        self.findings.push(format!("{by}: {finding}"));
        self
    }

    /// The question and the findings, as a prompt.
    fn brief(&self) -> String {
        let findings = match self.findings.is_empty() {
            true => "Findings so far: none.".to_owned(),
            false => format!("Findings so far:\n- {}", self.findings.join("\n- ")),
        };
        format!("Question: {}\n{findings}", self.question)
    }
}

/// A specialist: what is known about the question, in two or three facts.
struct Research {
    model: Agent,
}

#[workflow]
impl Research {
    #[step(retry = 1, timeout = "120s")]
    async fn gather(&self, notes: Notes) -> Result<(Notes, String)> {
        let prompt = format!(
            "{}\n\nList two facts that help answer the question.",
            notes.brief()
        );
        let facts = self.model.prompt(&prompt).await?;
        Ok((notes, facts))
    }

    #[step(retry = 1, timeout = "120s")]
    async fn condense(&self, (notes, facts): (Notes, String)) -> Result<Notes> {
        let prompt = format!("{facts}\n\nSay this in one sentence.");
        let fact = self.model.prompt(&prompt).await?.trim().to_owned();
        Ok(notes.found("research", &fact))
    }

    flow! {
        start -> gather -> condense -> end;
    }
}

/// The operation of a calculation, as the model writes it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
enum Op {
    #[serde(rename = "+")]
    Add,
    #[serde(rename = "-")]
    Subtract,
    #[serde(rename = "*")]
    Multiply,
    #[serde(rename = "/")]
    Divide,
}

/// A calculation the question needs: the model writes it, the program computes it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
struct Sum {
    a: f64,
    op: Op,
    b: f64,
}

impl Sum {
    fn value(&self) -> Option<f64> {
        let value = match self.op {
            Op::Add => self.a + self.b,
            Op::Subtract => self.a - self.b,
            Op::Multiply => self.a * self.b,
            Op::Divide => self.a / self.b,
        };
        value.is_finite().then_some(value)
    }
}

/// A specialist: the arithmetic the question needs, computed exactly.
struct Calculate {
    model: Agent,
}

#[workflow]
impl Calculate {
    #[step(retry = 1, timeout = "120s")]
    async fn formulate(&self, notes: Notes) -> Result<(Notes, Sum)> {
        let prompt = format!(
            "{}\n\nWrite the one calculation that answers the question.",
            notes.brief()
        );
        let sum = self.model.extract::<Sum>(&prompt).await?;
        Ok((notes, sum))
    }

    async fn compute(&self, (notes, sum): (Notes, Sum)) -> Notes {
        let symbol = serde_json::to_value(sum.op).unwrap_or_default();
        let symbol = symbol.as_str().unwrap_or("?");
        let finding = match sum.value() {
            Some(value) => format!("{} {symbol} {} = {value}", sum.a, sum.b),
            None => format!("{} {symbol} {} has no value", sum.a, sum.b),
        };
        notes.found("calculation", &finding)
    }

    flow! {
        start -> formulate -> compute -> end;
    }
}

/// Who works on the question next, as the planner answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Next {
    Research,
    Calculate,
    Answer,
}

/// The planner's answer, as JSON that follows this type's schema.
#[derive(Debug, Deserialize, JsonSchema)]
struct Plan {
    /// research: facts are missing; calculate: a number must be computed from the facts;
    /// answer: the findings answer the question.
    next: Next,
}

/// The supervisor's decision: the specialist to run, with the notes it works on.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Decision {
    Research(Notes),
    Calculate(Notes),
    Answer(Notes),
}

struct Supervisor {
    planner: Agent,
    writer: Agent,
    research: Research,
    calculate: Calculate,
}

#[workflow]
impl Supervisor {
    async fn brief(&self, question: String) -> Notes {
        Notes {
            question,
            findings: Vec::new(),
        }
    }

    /// Asks the planner who works on the question next.
    #[step(retry = 1, timeout = "120s")]
    async fn decide(&self, notes: Notes) -> Result<Decision> {
        let prompt = format!(
            "{}\n\nWho works on the question next: research, calculate, or answer?",
            notes.brief()
        );
        let Plan { next } = self.planner.extract(&prompt).await?;
        println!("[decide] {next:?}");
        Ok(match next {
            Next::Research => Decision::Research(notes),
            Next::Calculate => Decision::Calculate(notes),
            Next::Answer => Decision::Answer(notes),
        })
    }

    fn research(&self) -> &Research {
        &self.research
    }

    fn calculate(&self) -> &Calculate {
        &self.calculate
    }

    /// Aggregates the findings into the answer.
    #[step(retry = 1, timeout = "120s")]
    async fn answer(&self, notes: Notes) -> Result<String> {
        let prompt = format!("{}\n\nAnswer the question in one sentence.", notes.brief());
        Ok(self.writer.prompt(&prompt).await?.trim().to_owned())
    }

    flow! {
        type Output = String;
        start -> brief -> decide -> match {
            Decision::Research(notes) => research(notes) [max 2 else answer(notes)],
            Decision::Calculate(notes) => calculate(notes) [max 2 else answer(notes)],
            Decision::Answer(notes) => answer(notes),
        };
        research -> decide;
        calculate -> decide;
        answer -> end;
    }
}

/// Models that answer like capable ones would, for `--scripted`: the planner asks for
/// research, then a calculation, then answers.
fn scripted() -> (Arc<dyn ChatModel>, Arc<dyn ChatModel>) {
    let planner = Scripted::new()
        .when("calculation:", r#"{"next":"answer"}"#)
        .when("research:", r#"{"next":"calculate"}"#)
        .when("none.", r#"{"next":"research"}"#);
    let worker = Scripted::new()
        .when(
            "Answer the question",
            "A marathon is about 105.5 laps of a 400 m track.",
        )
        .when(
            "List two facts",
            "A lap of the track is 400 m. A marathon is 42,195 m.",
        )
        .when(
            "Say this in one sentence.",
            "A lap is 400 m and a marathon 42,195 m.",
        )
        .when("calculation that", r#"{"a":42195,"op":"/","b":400}"#);
    (Arc::new(planner), Arc::new(worker))
}

fn build(planner: &Arc<dyn ChatModel>, worker: &Arc<dyn ChatModel>) -> Supervisor {
    let agent = |model: &Arc<dyn ChatModel>, name: &str, system: &str, tokens: u32| {
        Agent::builder(Arc::clone(model))
            .name(name)
            .system(system)
            .temperature(0.0)
            .max_tokens(tokens)
            .build()
    };
    Supervisor {
        planner: agent(
            planner,
            "planner",
            "You plan the work on a question: research when facts are missing, calculate when a \
             number must be computed from the facts, answer when the findings answer it.",
            24,
        ),
        writer: agent(worker, "writer", "You answer briefly and plainly.", 80),
        research: Research {
            model: agent(worker, "researcher", "You state facts briefly.", 80),
        },
        calculate: Calculate {
            model: agent(
                worker,
                "calculator",
                "You turn questions into arithmetic.",
                40,
            ),
        },
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let (planner, worker) = match std::env::args().any(|arg| arg == "--scripted") {
        true => scripted(),
        false => {
            let model = support::chat_model().await;
            (model.clone(), model)
        }
    };
    let supervisor = build(&planner, &worker);
    println!("{}", Supervisor::MERMAID);

    let question = "How many laps of a 400 m running track make a marathon?";
    println!("Q: {question}");
    let mut run = Run::new(&supervisor, question.to_owned());
    let mut events = run.events();
    let show = async move {
        while let Some(event) = events.recv().await {
            if let EventKind::StepFinished { step, elapsed, .. } = event.kind {
                let path: Vec<&str> = event.path.iter().map(|step| &**step).collect();
                let at = [path.as_slice(), &[step]].concat().join(" / ");
                println!("[{at}] done in {elapsed:.1?}");
            }
        }
    };
    let (report, ()) = tokio::join!(run.report(), show);
    support::print_usage(&report.usage);
    println!("A: {}", report.into_output()?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use workflow::Executor;

    #[tokio::test]
    async fn the_supervisor_runs_each_specialist_then_answers() {
        let (planner, worker) = scripted();
        let supervisor = build(&planner, &worker);
        let executor = Executor::new();
        let mut events = executor.subscribe();
        let answer = executor
            .start(&supervisor, "How many laps make a marathon?".to_owned())
            .await;
        assert_eq!(
            answer.expect("the run finishes"),
            "A marathon is about 105.5 laps of a 400 m track."
        );
        // The specialists' steps ran inside the supervisor's run, tagged with their step.
        let mut finished = Vec::new();
        while let Some(event) = events.try_recv() {
            if let EventKind::StepFinished { step, .. } = event.kind {
                let path: Vec<&str> = event.path.iter().map(|step| &**step).collect();
                finished.push([path.as_slice(), &[step]].concat().join("/"));
            }
        }
        assert_eq!(
            finished,
            [
                "brief",
                "decide",
                "research/gather",
                "research/condense",
                "research",
                "decide",
                "calculate/formulate",
                "calculate/compute",
                "calculate",
                "decide",
                "answer"
            ]
        );
    }

    #[test]
    fn a_calculation_is_computed_by_the_program() {
        let sum = Sum {
            a: 42195.0,
            op: Op::Divide,
            b: 400.0,
        };
        assert_eq!(sum.value(), Some(105.4875));
        let by_zero = Sum {
            a: 1.0,
            op: Op::Divide,
            b: 0.0,
        };
        assert_eq!(by_zero.value(), None);
    }
}
