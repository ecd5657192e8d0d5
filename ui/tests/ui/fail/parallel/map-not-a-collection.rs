use workflow::prelude::*;

struct Document;

#[workflow]
impl Document {
    async fn split(&self, doc: String) -> String {
        doc
    }

    async fn summarize(&self, section: String) -> String {
        section
    }

    async fn assemble(&self, parts: Vec<String>) -> String {
        parts.concat()
    }

    flow! {
        start -> split -> each summarize -> assemble -> end;
    }
}

fn main() {}
