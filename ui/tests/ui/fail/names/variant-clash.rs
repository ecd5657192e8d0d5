use workflow::prelude::*;

struct Pipeline;

#[workflow]
impl Pipeline {
    async fn fetch_page(&self, url: String) -> String {
        url
    }

    async fn fetch__page(&self, url: String) -> String {
        url
    }

    flow! {
        start -> fetch_page -> fetch__page -> end;
    }
}

fn main() {}
