use workflow::prelude::*;

struct Pipeline;

#[workflow]
impl Pipeline {
    #[step(retires = 3)]
    async fn fetch(&self, url: String) -> String {
        url
    }

    flow! {
        start -> fetch -> end;
    }
}

fn main() {}
