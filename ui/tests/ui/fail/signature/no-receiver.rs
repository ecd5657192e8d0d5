use workflow::prelude::*;

struct Pipeline;

#[workflow]
impl Pipeline {
    async fn fetch(url: String) -> String {
        url
    }

    flow! {
        start -> fetch -> end;
    }
}

fn main() {}
