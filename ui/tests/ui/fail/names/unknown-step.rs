use workflow::prelude::*;

struct Pipeline;

#[workflow]
impl Pipeline {
    async fn research(&self, input: String) -> String {
        input
    }

    async fn review(&self, input: String) -> String {
        input
    }

    flow! {
        start -> research -> publish -> end;
    }
}

fn main() {}
