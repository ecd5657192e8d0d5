//! What a failed step fails the run with: every failure of a step's own names the step and its
//! attempts, whatever its error type; the retries see through wrapped errors (issue #14).

use std::fmt;
use std::num::ParseIntError;

use workflow::prelude::*;
use workflow::provider::{ChatModel, ChatRequest, ProviderError, ProviderErrorKind, Scripted};
use workflow::BoxError;

fn ask() -> ChatRequest {
    ChatRequest::new().user("draft it")
}

/// Calls its model in a step that retries twice, with `?` from `ProviderError` to `Error`.
struct Drafter {
    model: Scripted,
}

#[workflow]
impl Drafter {
    #[step(retry = 2, backoff = "1ms")]
    async fn draft(&self, _topic: String) -> Result<String> {
        Ok(self.model.chat(ask()).await?.text)
    }

    flow! {
        start -> draft -> end;
    }
}

/// Regression (issue #14): a model call that failed in a step failed the run with the bare
/// `Error::Provider`: no step, no attempts.
#[tokio::test]
async fn a_failed_model_call_names_its_step_and_attempts() {
    let overloaded = ProviderError::new("fake", ProviderErrorKind::Server, "overloaded");
    let model = Scripted::new().replies([overloaded.clone(), overloaded.clone(), overloaded]);
    let drafter = Drafter { model };
    let error = drafter
        .run("rust".into())
        .await
        .expect_err("every call fails");
    assert!(
        matches!(
            error,
            Error::Step {
                workflow: "Drafter",
                step: "draft",
                attempts: 3,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(error.step(), Some("draft"));
    let provider = error.provider().expect("the failed call is kept");
    assert_eq!(provider.kind(), ProviderErrorKind::Server);
    assert_eq!(drafter.model.requests().len(), 3);
}

/// A step's own error type, holding the model's error as its source.
#[derive(Debug)]
struct Summarize(Error);

impl fmt::Display for Summarize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("could not summarize")
    }
}

impl std::error::Error for Summarize {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

struct Summarizer {
    model: Scripted,
}

#[workflow]
impl Summarizer {
    #[step(retry = 3, backoff = "1ms")]
    async fn summarize(&self, _text: String) -> Result<String, Summarize> {
        let response = self.model.chat(ask()).await.map_err(Summarize)?;
        Ok(response.text)
    }

    flow! {
        start -> summarize -> end;
    }
}

/// Regression (issue #14): a step error wrapping a refused request (HTTP 400) was retried,
/// as `is_transient` looked only at the step's error itself, not at its sources.
#[tokio::test]
async fn a_step_error_wrapping_a_refused_call_is_not_retried() {
    let refused = ProviderError::new("fake", ProviderErrorKind::BadRequest, "bad schema");
    let summarizer = Summarizer {
        model: Scripted::new().reply(refused).reply("never"),
    };
    let error = summarizer.run("text".into()).await.expect_err("refused");
    assert!(!error.is_transient(), "{error:?}");
    assert_eq!(summarizer.model.requests().len(), 1, "not retried");
    assert!(
        matches!(error, Error::Step { attempts: 1, .. }),
        "{error:?}"
    );
    assert!(error.step_error::<Summarize>().is_some(), "{error:?}");
    let provider = error
        .step_error::<ProviderError>()
        .expect("found in the chain");
    assert_eq!(provider.kind(), ProviderErrorKind::BadRequest);

    // The same error wrapping a transient failure is retried.
    let overloaded = ProviderError::new("fake", ProviderErrorKind::Server, "overloaded");
    let summarizer = Summarizer {
        model: Scripted::new().reply(overloaded).reply("a summary"),
    };
    let summary = summarizer.run("text".into()).await.expect("retried");
    assert_eq!(summary, "a summary");
}

/// Parses with `?` on a foreign error through `Error::other`.
struct Parser;

#[workflow]
impl Parser {
    async fn parse(&self, text: String) -> Result<u16> {
        let port = text.parse::<u16>().map_err(Error::other)?;
        Ok(port)
    }

    flow! {
        start -> parse -> end;
    }
}

#[tokio::test]
async fn error_other_makes_a_foreign_error_the_steps_own() {
    assert_eq!(Parser.run("8080".into()).await.ok(), Some(8080));
    let error = Parser.run("http".into()).await.expect_err("not a port");
    assert!(
        matches!(error, Error::Step { step: "parse", .. }),
        "{error:?}"
    );
    // The step's error is the foreign error itself, not an `Error::Other` around it.
    let Error::Step { source, .. } = &error else {
        unreachable!()
    };
    assert!(
        source.downcast_ref::<ParseIntError>().is_some(),
        "{source:?}"
    );
    assert!(error.step_error::<ParseIntError>().is_some());
    assert!(error.is_transient(), "a foreign error is transient");
}

/// Steps with the other error types that work: `String`, `BoxError`, `anyhow::Error`; step
/// number `fail` fails.
struct Kinds;

#[workflow]
impl Kinds {
    async fn text(&self, fail: u8) -> std::result::Result<u8, String> {
        match fail {
            0 => Err("no text".to_owned()),
            _ => Ok(fail),
        }
    }

    async fn boxed(&self, fail: u8) -> std::result::Result<u8, BoxError> {
        match fail {
            1 => Err("no box".into()),
            _ => Ok(fail),
        }
    }

    async fn any(&self, fail: u8) -> anyhow::Result<u8> {
        anyhow::ensure!(fail != 2, "no luck");
        Ok(fail)
    }

    flow! {
        start -> text -> boxed -> any -> end;
    }
}

#[tokio::test]
async fn string_boxed_and_anyhow_errors_are_step_errors() {
    assert_eq!(Kinds.run(3).await.ok(), Some(3));
    for (fail, step, message) in [
        (0, "text", "no text"),
        (1, "boxed", "no box"),
        (2, "any", "no luck"),
    ] {
        let error = Kinds.run(fail).await.expect_err("a step fails");
        assert!(
            matches!(error, Error::Step { step: s, attempts: 1, .. } if s == step),
            "{error:?}"
        );
        let source = std::error::Error::source(&error).expect("the step's error");
        assert_eq!(source.to_string(), message);
    }
}
