//! A `match` arm leads straight into a fan-out or a map, joined in the arm.

use workflow::prelude::*;

struct Triage;

#[derive(Debug, Clone, Serialize, Deserialize)]
enum Kind {
    Pair(String),
    Many(Vec<String>),
    One(String),
}

#[workflow]
impl Triage {
    async fn classify(&self, input: String) -> Kind {
        match input.split_whitespace().count() {
            1 => Kind::One(input),
            2 => Kind::Pair(input),
            _ => Kind::Many(input.split_whitespace().map(str::to_owned).collect()),
        }
    }

    async fn upper(&self, text: String) -> String {
        text.to_uppercase()
    }

    async fn lower(&self, text: String) -> String {
        text.to_lowercase()
    }

    async fn both(&self, (upper, lower): (String, String)) -> String {
        format!("{upper}/{lower}")
    }

    async fn length(&self, word: String) -> usize {
        word.len()
    }

    async fn total(&self, lengths: Vec<usize>) -> String {
        lengths.iter().sum::<usize>().to_string()
    }

    flow! {
        start -> classify -> match {
            Kind::Pair(text) => (upper, lower)(text) -> both,
            Kind::Many(words) => each length [concurrency 2](words) -> total,
            Kind::One(text) => end(text),
        };
        both -> end;
        total -> end;
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    runtime.block_on(async {
        assert_eq!(Triage.run("Ab Cd".into()).await.unwrap(), "AB CD/ab cd");
        assert_eq!(Triage.run("a bb ccc".into()).await.unwrap(), "6");
        assert_eq!(Triage.run("one".into()).await.unwrap(), "one");
        // `classify`, then the fan-out or the map (one step), then its join.
        assert_eq!(Triage::MAX_STEPS, Some(3));
        assert!(Triage::MERMAID.contains("fork"), "{}", Triage::MERMAID);
    });
}
