use workflow::prelude::*;

struct Review;

#[workflow]
impl Review {
    async fn read(&self, text: String) -> String {
        text
    }

    async fn sentiment(&self, text: String) -> String {
        text
    }

    async fn length(&self, text: String) -> usize {
        text.len()
    }

    // With `[collect]`, the join takes `Result<_, BranchError>` for each branch.
    async fn report(&self, (sentiment, length): (String, usize)) -> String {
        format!("{sentiment} {length}")
    }

    flow! {
        start -> read -> (sentiment, length) [collect] -> report -> end;
    }
}

fn main() {}
