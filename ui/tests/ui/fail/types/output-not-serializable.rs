use workflow::prelude::*;

struct Pipeline;

struct Page(String);

#[workflow]
impl Pipeline {
    async fn fetch(&self, url: String) -> Page {
        Page(url)
    }

    flow! {
        start -> fetch -> end;
    }
}

fn main() {}
