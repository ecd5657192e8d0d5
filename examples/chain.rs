//! Prompt chaining: a writer drafts a paragraph, an editor polishes it, each step feeding the
//! next. Run it with `cargo run --example chain`.

use workflow::prelude::*;

/// Stands in for an LLM agent prompted as a writer. Deterministic, so the example runs offline.
struct Writer;

impl Writer {
    /// A real writer would send `prompt` to a model and return its completion.
    fn respond(&self, prompt: &str) -> String {
        let topic = prompt.rsplit(": ").next().unwrap_or(prompt);
        format!("so {topic} is basically a really great thing that lots of people use every day")
    }
}

/// Stands in for an LLM agent prompted as an editor.
struct Editor;

impl Editor {
    /// A real editor would send `prompt` to a model; this one tidies the draft by rule.
    fn respond(&self, prompt: &str) -> String {
        let draft = prompt.rsplit("\n\n").next().unwrap_or(prompt);
        let tightened = draft
            .trim_start_matches("so ")
            .replace("basically ", "")
            .replace("a really great thing", "a tool")
            .replace("lots of people", "millions");
        let mut chars = tightened.chars();
        let capitalised: String = chars
            .next()
            .map(|first| first.to_uppercase().chain(chars).collect())
            .unwrap_or_default();
        format!("{capitalised}.")
    }
}

/// The workflow: its steps call the agents it holds.
struct Blog {
    writer: Writer,
    editor: Editor,
}

#[workflow]
impl Blog {
    /// Step 1: the writer drafts a paragraph on the topic.
    async fn write(&self, topic: String) -> Result<String> {
        let prompt = format!("Write one paragraph for a general audience about: {topic}");
        // A real model call goes here: `self.writer.prompt(&prompt).await?`.
        let draft = self.writer.respond(&prompt);
        println!("[write] {draft}");
        Ok(draft)
    }

    /// Step 2: the editor tightens the draft.
    async fn edit(&self, draft: String) -> Result<String> {
        let prompt = format!("Edit this paragraph: cut filler words, keep it factual.\n\n{draft}");
        // A real model call goes here: `self.editor.prompt(&prompt).await?`.
        let edited = self.editor.respond(&prompt);
        println!("[edit]  {edited}");
        Ok(edited)
    }

    flow! {
        start -> write -> edit -> end;
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let blog = Blog {
        writer: Writer,
        editor: Editor,
    };
    let topic = "the Rust programming language";
    println!("topic: {topic}\n");
    let text = blog.run(topic.to_owned()).await?;
    println!("\nresult: {text}");
    Ok(())
}
