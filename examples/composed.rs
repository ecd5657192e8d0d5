//! Composition: a workflow built from smaller workflows, each one step of it. `Analyze` runs a
//! parallel block (a summary and keywords, at once); `Polish` is a sequence (draft, then edit).
//! `Article` is a sequence that contains `Analyze`, and a bounded loop around `Polish`. Every
//! step's events arrive in the one stream of the run, tagged with the step they run in. Run it
//! with `cargo run --example composed` (the model: see `examples/support/mod.rs`).

use workflow::event::EventKind;
use workflow::prelude::*;

mod support;

/// A parallel block: a summary and keywords of a text, at once, then both together.
struct Analyze {
    model: Agent,
}

#[workflow]
impl Analyze {
    async fn read(&self, topic: String) -> String {
        format!("The topic is {topic}.")
    }

    #[step(retry = 1, timeout = "120s")]
    async fn summary(&self, text: String) -> Result<String> {
        let prompt = format!("{text}\nSay in one sentence what it is.");
        Ok(self.model.prompt(&prompt).await?.trim().to_owned())
    }

    #[step(retry = 1, timeout = "120s")]
    async fn keywords(&self, text: String) -> Result<String> {
        let prompt = format!("{text}\nGive three keywords about it, separated by commas.");
        Ok(self.model.prompt(&prompt).await?.trim().to_owned())
    }

    async fn combine(&self, (summary, keywords): (String, String)) -> String {
        format!("{summary}\nKeywords: {keywords}")
    }

    flow! {
        start -> read -> (summary, keywords) -> combine -> end;
    }
}

/// A sequence: a draft from notes, then an edit of the draft.
struct Polish {
    writer: Agent,
    editor: Agent,
}

#[workflow]
impl Polish {
    #[step(retry = 1, timeout = "120s")]
    async fn draft(&self, notes: String) -> Result<String> {
        let prompt = format!("{notes}\n\nWrite two sentences from these notes.");
        Ok(self.writer.prompt(&prompt).await?.trim().to_owned())
    }

    #[step(retry = 1, timeout = "120s")]
    async fn edit(&self, draft: String) -> Result<String> {
        let prompt = format!("{draft}\n\nRewrite this in one short, clear sentence.");
        Ok(self.editor.prompt(&prompt).await?.trim().to_owned())
    }

    flow! {
        start -> draft -> edit -> end;
    }
}

/// The whole: analyze the topic, then polish until the text is short enough, at most three
/// times.
struct Article {
    analyze: Analyze,
    polish: Polish,
}

#[workflow]
impl Article {
    async fn topic(&self, topic: String) -> String {
        topic.trim().to_owned()
    }

    fn analyze(&self) -> &Analyze {
        &self.analyze
    }

    fn polish(&self) -> &Polish {
        &self.polish
    }

    /// Short enough, or polished again.
    async fn check(&self, text: String) -> (String, bool) {
        let short = text.split_whitespace().count() <= 25;
        (text, short)
    }

    flow! {
        type Output = String;
        start -> topic -> analyze -> polish -> check -> match {
            (text, true) => end(text),
            (text, false) => polish(text) [max 2 else end(text)],
        };
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let model = support::chat_model().await;
    let agent = |name: &str, system: &str| {
        Agent::builder(model.clone())
            .name(name)
            .system(system)
            .temperature(0.3)
            .max_tokens(80)
            .build()
    };
    let article = Article {
        analyze: Analyze {
            model: agent("analyst", "You answer briefly and plainly."),
        },
        polish: Polish {
            writer: agent("writer", "You write short, plain sentences."),
            editor: agent("editor", "You make sentences shorter and clearer."),
        },
    };
    println!("{}", Article::MERMAID);

    let mut run = Run::new(&article, "the Rust programming language".to_owned());
    let mut events = run.events();
    let show = async move {
        while let Some(event) = events.recv().await {
            let path = event.path.join("/");
            let at = if path.is_empty() {
                String::new()
            } else {
                format!("{path} / ")
            };
            match event.kind {
                EventKind::StepFinished { step, elapsed, .. } => {
                    println!("[{at}{step}] done in {elapsed:.1?}");
                }
                EventKind::BranchFinished { step, elapsed, .. } => {
                    println!("[{at}{step}] branch done in {elapsed:.1?}");
                }
                _ => {}
            }
        }
    };
    let (report, ()) = tokio::join!(run.report(), show);
    support::print_usage(&report.usage);
    let text = report.into_output()?;
    println!("\nresult: {text}");
    Ok(())
}
