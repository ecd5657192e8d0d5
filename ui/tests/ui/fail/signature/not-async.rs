use workflow::prelude::*;

struct Pipeline;

#[workflow]
impl Pipeline {
    fn fetch(&self, url: String) -> String {
        url
    }

    flow! {
        start -> fetch -> end;
    }
}

fn main() {}
