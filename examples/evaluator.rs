//! Evaluator-optimizer, the flagship: a writer agent drafts, a critic agent reviews (a typed
//! verdict, through structured output), and the writer revises until the critic approves — at
//! most 3 revisions, after which the last draft is returned as is
//! (`[max 3 else end(draft)]`). Prints the graph as a Mermaid diagram, the result, and what
//! each step spent. Run it with `cargo run --example evaluator` (the model: see
//! `examples/support/mod.rs`; with no key, `scripts/local-model.sh` starts a local one).

use workflow::prelude::*;

mod support;

/// Where the loop goes after a review.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Review {
    Approved(String),
    Revise { draft: String, feedback: String },
}

/// The critic's answer, as JSON that follows this type's schema: even a tiny model answers
/// with a valid verdict, since the schema constrains what it can write. The feedback comes
/// first, so the model writes its reasons before it decides; its length is bounded, so the
/// answer is complete within the critic's `max_tokens`.
#[derive(Debug, Deserialize, JsonSchema)]
struct Critique {
    /// One thing to improve, in a short sentence.
    #[schemars(length(max = 120))]
    feedback: String,
    verdict: Verdict,
}

#[derive(Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Verdict {
    Approve,
    Revise,
}

struct Essay {
    writer: Agent,
    critic: Agent,
}

#[workflow]
impl Essay {
    #[step(retry = 1, timeout = "120s")]
    async fn write(&self, topic: String) -> Result<String> {
        let prompt = format!("Explain {topic}, in three sentences.");
        let draft = self.writer.prompt(&prompt).await?.trim().to_owned();
        println!("[write]    {draft}\n");
        Ok(draft)
    }

    #[step(retry = 1, timeout = "120s")]
    async fn evaluate(&self, draft: String) -> Result<Review> {
        let prompt = format!(
            "{draft}\n\nGive one sentence of feedback on the paragraph above, \
             then approve or revise it."
        );
        let Critique { feedback, verdict } = self.critic.extract(&prompt).await?;
        let feedback = feedback.trim().to_owned();
        println!("[evaluate] {verdict:?}: {feedback}\n");
        Ok(match verdict {
            Verdict::Approve => Review::Approved(draft),
            Verdict::Revise => Review::Revise { draft, feedback },
        })
    }

    #[step(retry = 1, timeout = "120s")]
    async fn revise(&self, (draft, feedback): (String, String)) -> Result<String> {
        let prompt = format!(
            "Rewrite this paragraph to follow the feedback. \
             Answer with the new paragraph only.\n\n\
             Paragraph: {draft}\n\nFeedback: {feedback}"
        );
        let revised = self.writer.prompt(&prompt).await?.trim().to_owned();
        println!("[revise]   {revised}\n");
        Ok(revised)
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
    let model = support::chat_model().await;
    let essay = Essay {
        writer: Agent::builder(model.clone())
            .name("writer")
            .system("You are a writer. You explain things in a few short, plain sentences.")
            .temperature(0.7)
            .max_tokens(100)
            .build(),
        critic: Agent::builder(model)
            .name("critic")
            .system("You are an editor. You approve only clear, accurate, complete paragraphs.")
            .temperature(0.0)
            .max_tokens(80)
            .build(),
    };
    let topic = "why Rust checks memory safety at compile time";
    println!("topic: {topic}\n");

    let report = Run::new(&essay, topic.to_owned()).report().await;
    support::print_usage(&report.usage);
    let text = report.into_output()?;
    println!("\nresult: {text}");
    Ok(())
}
