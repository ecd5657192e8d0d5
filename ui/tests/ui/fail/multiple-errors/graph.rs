use workflow::prelude::*;

struct Pipeline;

#[workflow]
impl Pipeline {
    async fn research(&self, input: String) -> String {
        input
    }

    async fn review(&self, input: String) -> String {
        input
    }

    async fn publish(&self, input: String) -> String {
        input
    }

    async fn notify(&self, input: String) -> String {
        input
    }

    flow! {
        start -> research -> reveiw;
        review -> publsh;
        publish -> match { x if x.is_empty() => research(x), x => end(x) };
    }
}

fn main() {}
