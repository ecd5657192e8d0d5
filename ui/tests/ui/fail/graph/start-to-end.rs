use workflow::prelude::*;

struct Pipeline;

#[workflow]
impl Pipeline {
    async fn a(&self, input: String) -> String {
        input
    }

    flow! {
        start -> end;
        a -> end;
    }
}

fn main() {}
