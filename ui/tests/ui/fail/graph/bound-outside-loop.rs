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
        start -> a -> b [max 3] -> end;
    }
}

fn main() {}
