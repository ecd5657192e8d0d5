//! [`Scripted`]: a [`ChatModel`] that answers from a script, for offline tests.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::{
    replay, BoxFuture, ChatModel, ChatRequest, ChatResponse, ChatStream, ProviderError,
    ProviderErrorKind,
};
use crate::Error;

/// One scripted answer: a response, or an error the call fails with.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Reply {
    /// The call answers with this response.
    Response(ChatResponse),
    /// The call fails with [`Error::Provider`] holding this error.
    Error(ProviderError),
}

impl From<ChatResponse> for Reply {
    fn from(response: ChatResponse) -> Self {
        Reply::Response(response)
    }
}

impl From<&str> for Reply {
    fn from(text: &str) -> Self {
        Reply::Response(ChatResponse::new(text))
    }
}

impl From<String> for Reply {
    fn from(text: String) -> Self {
        Reply::Response(ChatResponse::new(text))
    }
}

impl From<ProviderError> for Reply {
    fn from(error: ProviderError) -> Self {
        Reply::Error(error)
    }
}

/// A [`ChatModel`] that answers from a script: to test workflows without a network or a model.
///
/// Replies added with [`reply`](Self::reply) are used once each, in order. Rules added with
/// [`when`](Self::when) answer every request whose last user message contains their pattern,
/// and take precedence. A request that nothing answers fails with
/// [`ProviderErrorKind::ScriptExhausted`]. [`stream`](ChatModel::stream) streams the text word
/// by word. Every request is recorded: see [`requests`](Self::requests). Calls answer at once,
/// or after [`delay`](Self::delay).
///
/// ```
/// use serde_json::json;
/// use workflow_runtime::provider::{
///     ChatModel, ChatRequest, ChatResponse, ProviderError, ProviderErrorKind, Scripted,
///     ToolCall, Usage,
/// };
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), workflow_runtime::Error> {
/// let model = Scripted::new()
///     .when("weather", ChatResponse::new("").with_tool_call(
///         ToolCall::new("call_1", "get_weather", json!({"city": "Paris"})),
///     ))
///     .reply(ChatResponse::new("a first draft").with_usage(Usage::new(12, 3)))
///     .reply(ProviderError::new("scripted", ProviderErrorKind::Server, "overloaded"))
///     .reply("a second draft");
///
/// let draft = model.chat(ChatRequest::new().user("write a draft")).await?;
/// assert_eq!(draft.text, "a first draft");
/// let call = model.chat(ChatRequest::new().user("what's the weather?")).await?;
/// assert_eq!(call.tool_calls[0].name, "get_weather");
/// assert!(model.chat(ChatRequest::new().user("again")).await.unwrap_err().is_transient());
/// assert_eq!(model.chat(ChatRequest::new().user("again")).await?.text, "a second draft");
/// assert!(model.chat(ChatRequest::new().user("more?")).await.is_err());
/// assert_eq!(model.requests().len(), 5);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Default)]
pub struct Scripted {
    script: Mutex<Script>,
    delay: Duration,
}

#[derive(Debug, Default)]
struct Script {
    replies: VecDeque<Reply>,
    rules: Vec<(String, Reply)>,
    requests: Vec<ChatRequest>,
}

impl Scripted {
    /// An empty script: every call fails until replies are added.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a reply, used once, after those added before.
    pub fn reply(self, reply: impl Into<Reply>) -> Self {
        self.lock().replies.push_back(reply.into());
        self
    }

    /// Adds replies, used once each, in order.
    pub fn replies<R: Into<Reply>>(self, replies: impl IntoIterator<Item = R>) -> Self {
        self.lock()
            .replies
            .extend(replies.into_iter().map(Into::into));
        self
    }

    /// Answers every request whose last user message contains `pattern` with `reply`. Rules are
    /// tried in the order they were added, before the replies.
    pub fn when(self, pattern: impl Into<String>, reply: impl Into<Reply>) -> Self {
        self.lock().rules.push((pattern.into(), reply.into()));
        self
    }

    /// Makes every call take `delay` before it answers (or fails), on tokio's clock: to test
    /// timeouts and latency, instantly under a paused clock. Responses report it as their
    /// [`latency`](ChatResponse::latency).
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// The requests received so far, oldest first.
    pub fn requests(&self) -> Vec<ChatRequest> {
        self.lock().requests.clone()
    }

    /// How many replies added with [`reply`](Self::reply) are left.
    pub fn remaining(&self) -> usize {
        self.lock().replies.len()
    }

    async fn wait(&self) {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
    }

    fn lock(&self) -> MutexGuard<'_, Script> {
        self.script.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn answer(&self, request: ChatRequest) -> Result<ChatResponse, Error> {
        let mut script = self.lock();
        let prompt = request.last_user_message().unwrap_or_default();
        let rule = script
            .rules
            .iter()
            .find(|(pattern, _)| prompt.contains(pattern.as_str()))
            .map(|(_, reply)| reply.clone());
        let reply = match rule.or_else(|| script.replies.pop_front()) {
            Some(reply) => reply,
            None => {
                let message = format!(
                    "no reply left for request {} (last user message: `{}`); \
                     add one with `Scripted::reply` or `Scripted::when`",
                    script.requests.len() + 1,
                    excerpt(prompt),
                );
                script.requests.push(request);
                let kind = ProviderErrorKind::ScriptExhausted;
                return Err(ProviderError::new("scripted", kind, message).into());
            }
        };
        let model = request.model.clone();
        script.requests.push(request);
        match reply {
            Reply::Error(error) => Err(error.into()),
            Reply::Response(mut response) => {
                if response.model.is_empty() {
                    response.model = model.unwrap_or_else(|| "scripted".to_owned());
                }
                response.latency = self.delay;
                Ok(response)
            }
        }
    }
}

/// The first 60 characters of `text`.
fn excerpt(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

impl ChatModel for Scripted {
    fn chat(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatResponse, Error>> {
        let answer = self.answer(request);
        Box::pin(async move {
            self.wait().await;
            answer
        })
    }

    fn stream(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatStream, Error>> {
        let answer = self.answer(request);
        Box::pin(async move {
            self.wait().await;
            Ok(replay(answer?, true))
        })
    }
}
