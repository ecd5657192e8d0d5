use workflow::prelude::*;

struct Pipeline;

trait Steps {
    async fn a(&self, input: String) -> String;
}

#[workflow]
impl Steps for Pipeline {
    async fn a(&self, input: String) -> String {
        input
    }

    flow! {
        start -> a -> end;
    }
}

fn main() {}
