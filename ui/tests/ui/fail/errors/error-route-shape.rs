use workflow::prelude::*;

#[derive(Debug, Serialize, Deserialize)]
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

    async fn give_up(&self, _error: Unreachable) -> String {
        String::new()
    }

    flow! {
        start -> fetch -> end;
        fetch? -> match { _ => give_up };
        start? -> give_up;
    }
}

fn main() {}
