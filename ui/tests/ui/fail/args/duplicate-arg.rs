use workflow::prelude::*;

struct Pipeline;

#[workflow(state = First, state = Second)]
impl Pipeline {
    async fn a(&self, input: String) -> String {
        input
    }

    flow! {
        start -> a -> end;
    }
}

fn main() {}
