use workflow::prelude::*;

struct Pipeline;

#[workflow]
impl Pipeline {
    async fn draft(&self, input: String) -> String {
        input
    }

    async fn critique(&self, input: String) -> String {
        input
    }

    flow! {
        type Output = String;
        start -> draft -> critique;
        critique -> match {
            text if text.len() > 100 => end(text),
            text => draft(text),
        };
    }
}

fn main() {}
