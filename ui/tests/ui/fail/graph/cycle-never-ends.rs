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
        start -> a;
        a -> match {
            x if x.is_empty() => end(x),
            x => b(x),
        };
        b -> c;
        c -> b [max 3];
    }
}

fn main() {}
