//! Error routes: a step's error, named through a `Result` alias, goes to a handler that tries
//! again later, in a bounded loop whose `else` gives up.

use std::sync::atomic::{AtomicU32, Ordering};

use workflow::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Unreachable(String);

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is unreachable", self.0)
    }
}

impl std::error::Error for Unreachable {}

/// The error type is not written in the step's signature.
type Result<T> = std::result::Result<T, Unreachable>;

struct Fetch {
    up_after: u32,
    tries: AtomicU32,
}

#[workflow]
impl Fetch {
    async fn fetch(&self, url: String) -> Result<String> {
        if self.tries.fetch_add(1, Ordering::SeqCst) < self.up_after {
            return Err(Unreachable(url));
        }
        Ok(format!("page at {url}"))
    }

    async fn later(&self, error: Unreachable) -> String {
        error.0
    }

    async fn give_up(&self, url: String) -> String {
        format!("gave up on {url}")
    }

    flow! {
        start -> fetch -> end;
        fetch? -> later -> fetch [max 2 else give_up];
        give_up -> end;
    }
}

#[tokio::main]
async fn main() {
    let twice = Fetch { up_after: 2, tries: AtomicU32::new(0) };
    assert_eq!(twice.run("a".into()).await.unwrap(), "page at a");
    let never = Fetch { up_after: 9, tries: AtomicU32::new(0) };
    assert_eq!(never.run("a".into()).await.unwrap(), "gave up on a");
    assert_eq!(never.tries.load(Ordering::SeqCst), 3);
}
