use workflow::prelude::*;

struct Pipeline;

#[workflow]
impl Pipeline {
    async fn count(&self, text: String) -> usize {
        text.len()
    }

    async fn shout(&self, text: String) -> String {
        text.to_uppercase()
    }

    flow! {
        start -> shout;
        shout -> match {
            text if text.is_empty() => count(text),
            text => end(text),
        };
        count -> end;
    }
}

fn main() {}
