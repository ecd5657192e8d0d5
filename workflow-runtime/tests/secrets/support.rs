//! What the tests of echoed secrets share: both providers pointed at one mock server, the
//! errors of a chat and of a stream, and a check that no piece of a secret shows.

use std::error::Error as _;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use workflow_runtime::provider::{Anthropic, ChatModel, ChatRequest, OpenAi};
use workflow_runtime::Error;

/// The key of these tests: long, and made of pieces no message has by chance.
pub(crate) const KEY: &str = "sk-proj-7Hq2ZxW9cR4tLm8NvB3kY6pD";

/// The shortest piece of a secret that counts as a leak.
const PIECE: usize = 6;

/// Everything about `error` that a log line could show: its `Display` and `Debug`, and those of
/// each source in its chain (what the run's `Failed` event, its span and the stored run error
/// are made of).
pub(crate) fn shown(error: &Error) -> String {
    let mut text = format!("{error} {error:?} {error:#?}");
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(" {cause} {cause:?}"));
        source = cause.source();
    }
    text
}

/// Fails if `text` holds a piece of `secret` of [`PIECE`] characters or more.
#[track_caller]
pub(crate) fn assert_no_piece_of(secret: &str, text: &str, case: &str) {
    let chars: Vec<char> = secret.chars().collect();
    for piece in chars.windows(PIECE) {
        let piece: String = piece.iter().collect();
        assert!(
            !text.contains(&piece),
            "{case}: `{piece}` of the secret leaked: {text}"
        );
    }
}

/// The OpenAI-compatible and the Anthropic provider, calling the mock server at `base`
/// (`http://127.0.0.1:PORT`) with `key`, without retries.
pub(crate) fn models(base: &str, key: &str) -> [(&'static str, Arc<dyn ChatModel>); 2] {
    let timeout = Duration::from_secs(20);
    let openai = OpenAi::builder(format!("{base}/v1"), "gpt-4o-mini")
        .api_key(key)
        .retries(0)
        .timeout(timeout)
        .build()
        .expect("valid config");
    let anthropic = Anthropic::builder(key, "claude-sonnet-4-5")
        .base_url(base)
        .retries(0)
        .timeout(timeout)
        .build()
        .expect("valid config");
    [
        ("openai", Arc::new(openai)),
        ("anthropic", Arc::new(anthropic)),
    ]
}

/// The error of a chat with `model`.
pub(crate) async fn chat_error(model: &dyn ChatModel) -> Error {
    let request = ChatRequest::new().user("hi");
    model.chat(request).await.expect_err("the call fails")
}

/// The error of a stream from `model`: when it starts, or its first error item.
pub(crate) async fn stream_error(model: &dyn ChatModel) -> Error {
    let request = ChatRequest::new().user("hi");
    let mut stream = match model.stream(request).await {
        Ok(stream) => stream,
        Err(error) => return error,
    };
    while let Some(item) = stream.next().await {
        if let Err(error) = item {
            return error;
        }
    }
    panic!("the stream ended without an error");
}
