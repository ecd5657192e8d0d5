use workflow::prelude::*;

struct Pipeline;

#[workflow]
impl Pipeline {
    fn fetch(&self, url: String) -> String {
        url
    }

    async fn parse(self, page: String) -> String {
        page
    }

    #[step(retry = 3, timout = "1s")]
    async fn store(&self, a: String, b: String) -> String {
        a + &b
    }

    flow! {
        start -> fetch -> parse -> store -> end;
    }
}

fn main() {}
