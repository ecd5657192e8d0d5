// `?` on an error that the step's error type has no `From` for: one error, in our words, at
// the `?`, with the ways to fix it.
use workflow::prelude::*;

#[derive(Debug)]
struct ParseFailed;

impl std::fmt::Display for ParseFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("parse failed")
    }
}

impl std::error::Error for ParseFailed {}

fn parse(text: &str) -> Result<u32, ParseFailed> {
    text.parse().map_err(|_| ParseFailed)
}

struct Pipeline;

#[workflow]
impl Pipeline {
    async fn count(&self, text: String) -> Result<u32> {
        let number = parse(&text)?;
        Ok(number + 1)
    }

    flow! {
        start -> count -> end;
    }
}

fn main() {}
