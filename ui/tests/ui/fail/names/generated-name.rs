use workflow::prelude::*;

struct Pipeline;

#[workflow]
impl Pipeline {
    async fn research(&self, input: String) -> String {
        input
    }

    async fn run(&self, input: String) -> String {
        input
    }

    flow! {
        start -> research -> run -> end;
    }
}

fn main() {}
