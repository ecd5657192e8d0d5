use workflow::prelude::*;

struct Pipeline;

#[workflow]
impl Pipeline {
    async fn fetch(&self, url: String, retries: u32) -> String {
        format!("{url}{retries}")
    }

    flow! {
        start -> fetch -> end;
    }
}

fn main() {}
