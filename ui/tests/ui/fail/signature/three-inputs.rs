use workflow::prelude::*;

struct Pipeline;

#[workflow]
impl Pipeline {
    async fn fetch(&self, url: String, retries: u32, verbose: bool) -> String {
        format!("{url}{retries}{verbose}")
    }

    flow! {
        start -> fetch -> end;
    }
}

fn main() {}
