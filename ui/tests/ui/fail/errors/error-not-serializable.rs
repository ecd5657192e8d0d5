use workflow::prelude::*;

/// Not `Serialize`: the run's state cannot store it.
#[derive(Debug)]
struct Unreachable(String);

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is unreachable", self.0)
    }
}

impl std::error::Error for Unreachable {}

struct Fetch;

#[workflow]
impl Fetch {
    async fn fetch(&self, url: String) -> Result<String, Unreachable> {
        Ok(url)
    }

    async fn give_up(&self, error: Unreachable) -> String {
        error.to_string()
    }

    flow! {
        start -> fetch -> end;
        fetch? -> give_up -> end;
    }
}

fn main() {}
