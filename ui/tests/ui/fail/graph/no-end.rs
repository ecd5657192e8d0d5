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
        type Output = String;
        start -> research -> review;
    }
}

fn main() {}
