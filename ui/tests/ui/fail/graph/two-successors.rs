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

    async fn c(&self, input: String) -> String {
        input
    }

    flow! {
        start -> a -> b -> end;
        a -> c -> end;
    }
}

fn main() {}
