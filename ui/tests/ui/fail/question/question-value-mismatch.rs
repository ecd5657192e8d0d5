// A `?` whose value is not the type it is used as: rustc's mismatch, with its help, at the `?`.
use workflow::prelude::*;

struct Pipeline;

#[workflow]
impl Pipeline {
    async fn count(&self, text: String) -> Result<u32> {
        let number: String = text.parse::<u32>().map_err(Error::other)?;
        Ok(number.len() as u32)
    }

    flow! {
        start -> count -> end;
    }
}

fn main() {}
