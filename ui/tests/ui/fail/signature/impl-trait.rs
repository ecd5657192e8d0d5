use workflow::prelude::*;

struct Pipeline;

#[workflow]
impl Pipeline {
    async fn fetch(&self, url: String) -> impl std::fmt::Display {
        url
    }

    flow! {
        start -> fetch -> end;
    }
}

fn main() {}
