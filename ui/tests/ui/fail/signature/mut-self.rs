use workflow::prelude::*;

struct Pipeline;

#[workflow]
impl Pipeline {
    async fn fetch(&mut self, url: String) -> String {
        url
    }

    flow! {
        start -> fetch -> end;
    }
}

fn main() {}
