// `?` in steps does what `?` does: converts with `From` into the error type of the step's
// return, however the step names it; `?`s that return from a closure, an `async` block, a
// nested `fn` or inside a macro's arguments are left as written.
use std::num::ParseIntError;

use workflow::prelude::*;

#[derive(Debug, PartialEq)]
enum CountError {
    NotANumber,
    Empty,
}

impl std::fmt::Display for CountError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("cannot count")
    }
}

impl std::error::Error for CountError {}

impl From<ParseIntError> for CountError {
    fn from(_: ParseIntError) -> Self {
        CountError::NotANumber
    }
}

/// `io::Result<T>`: an alias with the error type in it.
fn read(text: &str) -> std::io::Result<String> {
    Ok(text.trim().to_string())
}

/// `workflow::Result<T>`.
fn tidy(text: &str) -> Result<String> {
    Ok(text.trim().to_string())
}

struct Pipeline;

#[workflow]
impl Pipeline {
    /// `From` into the step's own error type; a `?` at the start of a statement, chained and
    /// after `.await`.
    async fn parse(&self, text: String) -> Result<u32, CountError> {
        async { text.len() }.await;
        text.parse::<u32>()?.checked_add(1).ok_or(CountError::Empty)?;
        let number: u32 = async { text.parse::<u32>() }.await?;
        Ok(number)
    }

    /// `Box<dyn Error>`, from two error types.
    async fn double(
        &self,
        number: u32,
    ) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
        let text = read(&number.to_string())?;
        let doubled = text.parse::<u64>()? * 2;
        Ok(doubled.to_string())
    }

    /// The prelude's `Result<T>` (`workflow::Error`); `?` in a closure, an `async` block, a
    /// nested `fn` and a macro's arguments, each on its own terms.
    async fn check(&self, text: String) -> Result<String> {
        let first = |text: &str| -> Option<char> { text.chars().next()?.to_lowercase().next() };
        let parsed = async { Ok::<_, ParseIntError>(text.parse::<u64>()? + 1) };
        fn last(text: &str) -> Option<char> {
            Some(text.chars().last()?)
        }
        let line = format!("{}{:?}{:?}", tidy(&text)?, first(&text), last(&text));
        let number = parsed.await.map_err(Error::other)?;
        Ok(format!("{line}{number}"))
    }

    /// `workflow::Result<T>` written out.
    async fn tidy(&self, text: String) -> workflow::Result<String> {
        tidy(&text)?.truncate(0);
        Ok(tidy(&text)?)
    }

    /// `io::Result<T>`, an alias with its own error type, as `anyhow::Result<T>`.
    async fn finish(&self, text: String) -> std::io::Result<String> {
        Ok(read(&text)?)
    }

    flow! {
        start -> parse -> double -> check -> tidy -> finish -> end;
    }
}

#[tokio::main]
async fn main() {
    assert_eq!(Pipeline.run("21".into()).await.unwrap(), "42Some('4')Some('2')43");
    let error = Pipeline.run("x".into()).await.unwrap_err();
    assert_eq!(error.step_error::<CountError>(), Some(&CountError::NotANumber));
}
