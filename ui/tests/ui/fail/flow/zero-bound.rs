use workflow::prelude::*;

struct Pipeline;

#[workflow]
impl Pipeline {
    async fn a(&self, input: String) -> String {
        input
    }

    flow! {
        start -> a;
        a -> match { x if x.is_empty() => a(x) [max 0], x => end(x) };
    }
}

fn main() {}
