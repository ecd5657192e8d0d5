//! Map over a collection: split a document into sections, summarize each section with an agent
//! (at most two at a time), then assemble the summaries in the document's order, whatever order
//! they finished in. Run it with `cargo run --example map` (the model: see
//! `examples/support/mod.rs`).

use workflow::prelude::*;

mod support;

const DOCUMENT: &str = "\
# Ownership
Every value in Rust has an owner, and there is only one owner at a time. When the owner goes \
out of scope, the value is dropped and its memory freed.

# Borrowing
Instead of taking ownership, code can borrow a value through a reference. Any number of shared \
references, or exactly one mutable reference, may exist at once.

# Lifetimes
The compiler checks that every reference lives no longer than the value it points to, so a \
dangling reference is a compile error rather than a crash.";

/// A section of the document: its title and its text.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Section {
    title: String,
    text: String,
}

struct Digest {
    summarizer: Agent,
}

#[workflow]
impl Digest {
    /// Splits the document at its `# ` headings.
    async fn split(&self, document: String) -> Vec<Section> {
        document
            .split("# ")
            .filter_map(|part| {
                let (title, text) = part.split_once('\n')?;
                Some(Section {
                    title: title.trim().to_owned(),
                    text: text.trim().to_owned(),
                })
            })
            .collect()
    }

    /// Runs once per section.
    #[step(retry = 2, timeout = "120s")]
    async fn summarize(&self, section: Section) -> Result<String> {
        let prompt = format!("Summarize in one short sentence:\n\n{}", section.text);
        let summary = self.summarizer.prompt(&prompt).await?.trim().to_owned();
        println!("[summarize {}] {summary}", section.title);
        Ok(format!("{}: {summary}", section.title))
    }

    /// Gets the summaries in the order of the sections.
    async fn assemble(&self, summaries: Vec<String>) -> String {
        summaries.join("\n")
    }

    flow! {
        start -> split -> each summarize [concurrency 2] -> assemble -> end;
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let model = support::chat_model().await;
    let digest = Digest {
        summarizer: Agent::builder(model)
            .name("summarizer")
            .system("You summarize technical text in plain words.")
            .temperature(0.2)
            .max_tokens(60)
            .build(),
    };
    let report = Run::new(&digest, DOCUMENT.to_owned()).report().await;
    support::print_usage(&report.usage);
    println!("\n{}", report.into_output()?);
    Ok(())
}
