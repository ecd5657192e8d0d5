use workflow::prelude::*;

struct Pipeline;

#[workflow]
impl Pipeline {
    #[step(timeout = "30")]
    async fn fetch(&self, url: String) -> String {
        url
    }

    flow! {
        start -> fetch -> end;
    }
}

fn main() {}
