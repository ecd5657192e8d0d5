use workflow::prelude::*;

struct Pipeline;

#[workflow(version)]
impl Pipeline {
    async fn a(&self, input: String) -> String {
        input
    }

    flow! {
        start -> a -> end;
    }
}

fn main() {}
