// `?` on an `Option` in a step that returns a `Result`: one error, in our words, that says how
// to turn the `Option` into a `Result`.
use workflow::prelude::*;

struct Pipeline;

#[workflow]
impl Pipeline {
    async fn first_word(&self, text: String) -> Result<String> {
        let word = text.split_whitespace().next()?;
        Ok(word.to_string())
    }

    flow! {
        start -> first_word -> end;
    }
}

fn main() {}
