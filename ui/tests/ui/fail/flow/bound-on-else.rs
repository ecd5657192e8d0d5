use workflow::prelude::*;

struct Pipeline;

#[workflow]
impl Pipeline {
    async fn a(&self, input: String) -> String {
        input
    }

    flow! {
        start -> a;
        a -> match { x if x.is_empty() => a(x) [max 3 else end(x) [max 2]], x => end(x) };
    }
}

fn main() {}
