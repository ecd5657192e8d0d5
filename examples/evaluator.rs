//! Evaluator-optimizer: a writer drafts, a critic reviews, and the writer revises until the
//! critic approves — at most 3 revisions, after which the last draft is returned as is
//! (`[max 3 else end(draft)]`). Also prints the graph as a Mermaid diagram. Run it with
//! `cargo run --example evaluator`.

use workflow::prelude::*;

/// The critic's verdict on a draft.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Review {
    Approved(String),
    Revise { draft: String, feedback: String },
}

/// Stands in for an LLM agent prompted as a writer. Deterministic, so the example runs offline.
struct Writer;

impl Writer {
    /// A real writer would send `prompt` to a model and return its completion; this one
    /// appends what the feedback asks for.
    fn respond(&self, prompt: &str) -> String {
        match prompt.split_once("\nFeedback: ") {
            None => {
                let topic = prompt.rsplit(": ").next().unwrap_or(prompt);
                format!("{topic} matters.")
            }
            Some((head, feedback)) => {
                let draft = head.rsplit("\n\n").next().unwrap_or(head);
                let missing = feedback.trim_start_matches("add ");
                format!("{draft} It also covers {missing}.")
            }
        }
    }
}

/// Stands in for an LLM agent prompted as a critic with a checklist.
struct Critic {
    checklist: &'static [&'static str],
}

impl Critic {
    /// A real critic would send `prompt` to a model and parse its verdict (structured output);
    /// this one asks for the first checklist item the draft lacks.
    fn respond(&self, prompt: &str) -> Option<String> {
        let draft = prompt.rsplit("\n\n").next().unwrap_or(prompt);
        self.checklist
            .iter()
            .find(|item| !draft.contains(*item))
            .map(|item| format!("add {item}"))
    }
}

struct Essay {
    writer: Writer,
    critic: Critic,
}

#[workflow]
impl Essay {
    async fn write(&self, topic: String) -> Result<String> {
        let prompt = format!("Write a short essay about: {topic}");
        // A real model call goes here: `self.writer.prompt(&prompt).await?`.
        Ok(self.writer.respond(&prompt))
    }

    async fn evaluate(&self, draft: String) -> Result<Review> {
        let prompt = format!("Review this essay. Approve it, or say what to add.\n\n{draft}");
        println!("  critic reads: {draft}");
        // A real model call goes here, e.g. `self.critic.extract::<Review>(&prompt).await?`.
        Ok(match self.critic.respond(&prompt) {
            None => Review::Approved(draft),
            Some(feedback) => Review::Revise { draft, feedback },
        })
    }

    async fn revise(&self, (draft, feedback): (String, String)) -> Result<String> {
        let prompt = format!("Revise this essay.\n\n{draft}\nFeedback: {feedback}");
        println!("  writer revises: {feedback}");
        // A real model call goes here.
        Ok(self.writer.respond(&prompt))
    }

    flow! {
        type Output = String;
        start -> write -> evaluate;
        evaluate -> match {
            Review::Approved(text) => end(text),
            // The evaluator-optimizer loop: at most 3 revisions, then keep the last draft.
            Review::Revise { draft, feedback } => revise((draft, feedback)) [max 3 else end(draft)],
        };
        revise -> evaluate;
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    println!("The graph, as Mermaid:\n\n{}", Essay::MERMAID);

    let lenient = Essay {
        writer: Writer,
        critic: Critic {
            checklist: &["an example", "a conclusion"],
        },
    };
    println!("A lenient critic (approves after 2 revisions):");
    let text = lenient.run("Rust".to_owned()).await?;
    println!("result: {text}\n");

    let strict = Essay {
        writer: Writer,
        critic: Critic {
            checklist: &["an example", "a counterpoint", "sources", "a conclusion"],
        },
    };
    println!("A strict critic (never satisfied within 3 revisions):");
    let text = strict.run("Rust".to_owned()).await?;
    println!("result (last draft): {text}");
    Ok(())
}
