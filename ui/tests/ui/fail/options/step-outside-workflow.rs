use workflow::prelude::*;

struct Pipeline;

impl Pipeline {
    #[step(retry = 3)]
    async fn fetch(&self, url: String) -> String {
        url
    }
}

fn main() {}
