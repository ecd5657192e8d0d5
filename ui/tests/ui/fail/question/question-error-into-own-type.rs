// A step that returns its own error type, and `?` on another error it has no `From` for: the
// message names both types.
use workflow::prelude::*;

#[derive(Debug)]
enum FetchError {
    Empty,
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("empty")
    }
}

impl std::error::Error for FetchError {}

struct Fetch;

#[workflow]
impl Fetch {
    async fn fetch(&self, url: String) -> Result<usize, FetchError> {
        if url.is_empty() {
            return Err(FetchError::Empty);
        }
        let port: u16 = url.parse()?;
        Ok(usize::from(port))
    }

    flow! {
        start -> fetch -> end;
    }
}

fn main() {}
