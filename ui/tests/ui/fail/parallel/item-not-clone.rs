use workflow::prelude::*;

struct Document;

#[derive(Serialize, Deserialize)]
struct Section(String);

#[workflow]
impl Document {
    async fn split(&self, doc: String) -> Vec<Section> {
        vec![Section(doc)]
    }

    async fn summarize(&self, section: Section) -> String {
        section.0
    }

    async fn assemble(&self, parts: Vec<String>) -> String {
        parts.concat()
    }

    flow! {
        start -> split -> each summarize -> assemble -> end;
    }
}

fn main() {}
