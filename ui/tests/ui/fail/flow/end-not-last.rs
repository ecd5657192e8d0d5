use workflow::prelude::*;

struct Pipeline;

#[workflow]
impl Pipeline {
    async fn a(&self, input: String) -> String {
        input
    }

    async fn b(&self, input: String) -> String {
        input
    }

    flow! {
        start -> a -> end -> b;
    }
}

fn main() {}
