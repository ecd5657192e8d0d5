use workflow::prelude::*;

struct Pipeline;

#[workflow]
impl Pipeline {
    async fn count(&self, text: String) -> usize {
        text.len()
    }

    flow! {
        type Output = String;
        start -> count;
        count -> match {
            0 => end("empty".to_string()),
            n => end(n),
        };
    }
}

fn main() {}
