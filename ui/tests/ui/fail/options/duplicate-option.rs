use workflow::prelude::*;

struct Pipeline;

#[workflow]
impl Pipeline {
    #[step(retry = 3, retry = 5)]
    async fn fetch(&self, url: String) -> String {
        url
    }

    flow! {
        start -> fetch -> end;
    }
}

fn main() {}
