// Two bad `?`s, in a workflow whose graph has an error too: every error at once, each at its
// token, and none of rustc's own about `?`.
use workflow::prelude::*;

struct Pipeline;

#[workflow]
impl Pipeline {
    async fn count(&self, text: String) -> Result<usize> {
        let first = text.lines().next()?;
        let number: usize = text.parse()?;
        Ok(number + first.len())
    }

    async fn report(&self, number: usize) -> String {
        number.to_string()
    }

    flow! {
        start -> count -> reprot -> end;
    }
}

fn main() {}
