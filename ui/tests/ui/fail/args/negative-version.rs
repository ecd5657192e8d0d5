use workflow::prelude::*;

struct Pipeline;

#[workflow(version = -1)]
impl Pipeline {
    async fn a(&self, input: String) -> String {
        input
    }

    flow! {
        start -> a -> end;
    }
}

fn main() {}
