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
            x if x.is_empty() => b(x),
            x => c(x),
        };
        b -> end;
    }
}

fn main() {}
