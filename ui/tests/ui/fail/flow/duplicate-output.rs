use workflow::prelude::*;

struct Pipeline;

#[workflow]
impl Pipeline {
    async fn a(&self, input: String) -> String {
        input
    }

    flow! {
        type Output = String;
        type Output = String;
        start -> a -> end;
    }
}

fn main() {}
