use workflow::prelude::*;

struct Pipeline;

#[derive(Debug)]
struct NotAnError;

#[workflow]
impl Pipeline {
    async fn fetch(&self, url: String) -> Result<String, NotAnError> {
        Ok(url)
    }

    flow! {
        start -> fetch -> end;
    }
}

fn main() {}
