//! Prompt chaining: a writer agent drafts a paragraph, an editor agent tightens it, each step
//! feeding the next. Prints the result and what each step spent. Run it with
//! `cargo run --example chain` (the model: see `examples/support/mod.rs`).

use workflow::prelude::*;

mod support;

/// The workflow: its steps call the agents it holds.
struct Blog {
    writer: Agent,
    editor: Agent,
}

#[workflow]
impl Blog {
    /// Step 1: the writer drafts a paragraph on the topic.
    #[step(retry = 1, timeout = "120s")]
    async fn write(&self, topic: String) -> Result<String> {
        let prompt = format!("Explain {topic}, in three sentences.");
        let draft = self.writer.prompt(&prompt).await?;
        println!("[write] {}\n", draft.trim());
        Ok(draft)
    }

    /// Step 2: the editor tightens the draft.
    #[step(retry = 1, timeout = "120s")]
    async fn edit(&self, draft: String) -> Result<String> {
        let prompt = format!(
            "{}\n\nRewrite the paragraph above in two short sentences.",
            draft.trim()
        );
        let edited = self.editor.prompt(&prompt).await?;
        println!("[edit]  {}\n", edited.trim());
        Ok(edited.trim().to_owned())
    }

    flow! {
        start -> write -> edit -> end;
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let model = support::chat_model().await;
    let blog = Blog {
        writer: Agent::builder(model.clone())
            .name("writer")
            .system("You are a writer. You explain things in a few short, plain sentences.")
            .temperature(0.7)
            .max_tokens(100)
            .build(),
        editor: Agent::builder(model)
            .name("editor")
            .system("You are an editor. You make paragraphs shorter and clearer.")
            .temperature(0.2)
            .max_tokens(100)
            .build(),
    };
    let topic = "the Rust programming language";
    println!("topic: {topic}\n");

    let report = Run::new(&blog, topic.to_owned()).report().await;
    support::print_usage(&report.usage);
    let text = report.into_output()?;
    println!("\nresult: {text}");
    Ok(())
}
