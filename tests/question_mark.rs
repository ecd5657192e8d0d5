//! `?` in a step converts its error with `From`, as `?` does, though `#[workflow]` writes it
//! out to word the compile error of one that cannot.

use std::num::ParseIntError;
use std::sync::atomic::{AtomicUsize, Ordering};

use workflow::prelude::*;

/// How many times `From<ParseIntError>` ran.
static CONVERSIONS: AtomicUsize = AtomicUsize::new(0);

#[derive(Debug)]
struct Invalid(ParseIntError);

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid number: {}", self.0)
    }
}

impl std::error::Error for Invalid {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl From<ParseIntError> for Invalid {
    fn from(error: ParseIntError) -> Self {
        CONVERSIONS.fetch_add(1, Ordering::SeqCst);
        Invalid(error)
    }
}

struct Parse;

#[workflow]
impl Parse {
    async fn parse(&self, text: String) -> Result<u32, Invalid> {
        let number: u32 = text.parse()?;
        Ok(number)
    }

    async fn plus_one(&self, number: u32) -> Result<u32> {
        // `?` on `Poll<Result<T, E>>`, as `?` takes it: `Pending` and `Ready(Ok)` go on.
        let ready = std::task::Poll::Ready(Ok::<u32, Error>(number))?;
        let pending = std::task::Poll::<Result<u32, Error>>::Pending?;
        assert!(pending.is_pending());
        match ready {
            std::task::Poll::Ready(number) => Ok(number + 1),
            std::task::Poll::Pending => Err(Error::other("pending")),
        }
    }

    flow! {
        start -> parse -> plus_one -> end;
    }
}

#[tokio::test]
async fn question_mark_converts_with_from() {
    assert_eq!(Parse.run("41".into()).await.expect("a number"), 42);
    assert_eq!(CONVERSIONS.load(Ordering::SeqCst), 0);
    let error = Parse.run("forty".into()).await.expect_err("not a number");
    assert_eq!(CONVERSIONS.load(Ordering::SeqCst), 1);
    assert_eq!(error.step(), Some("parse"));
    let invalid = error.step_error::<Invalid>().expect("the step's own error");
    assert_eq!(Some(&invalid.0), "forty".parse::<u32>().err().as_ref());
}
