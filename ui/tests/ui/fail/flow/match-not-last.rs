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
        start -> a -> match { x => end(x) } -> b;
    }
}

fn main() {}
