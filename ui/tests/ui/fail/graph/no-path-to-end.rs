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
        type Output = String;
        start -> a -> b;
        b -> a [max 3];
    }
}

fn main() {}
