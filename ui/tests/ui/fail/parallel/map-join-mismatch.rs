use workflow::prelude::*;

struct Document;

#[workflow]
impl Document {
    async fn split(&self, doc: String) -> Vec<String> {
        vec![doc]
    }

    async fn summarize(&self, section: String) -> usize {
        section.len()
    }

    async fn assemble(&self, parts: Vec<String>) -> String {
        parts.concat()
    }

    flow! {
        start -> split -> each summarize [concurrency 4] -> assemble -> end;
    }
}

fn main() {}
