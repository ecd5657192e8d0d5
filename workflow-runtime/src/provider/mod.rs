//! Chat models: the [`ChatModel`] trait, what goes in ([`ChatRequest`]) and comes out
//! ([`ChatResponse`], [`StreamEvent`]), and the providers that implement it:
//!
#![cfg_attr(
    feature = "http",
    doc = "- [`OpenAi`] (feature `http`, on by default): any OpenAI-compatible"
)]
#![cfg_attr(
    not(feature = "http"),
    doc = "- `OpenAi` (feature `http`): any OpenAI-compatible"
)]
//!   chat-completions endpoint (OpenAI, Ollama, vLLM, llama.cpp server, OpenRouter, Groq, …);
#![cfg_attr(
    feature = "http",
    doc = "- [`Anthropic`] (feature `http`): Anthropic's Messages API (Claude), with structured"
)]
#![cfg_attr(
    not(feature = "http"),
    doc = "- `Anthropic` (feature `http`): Anthropic's Messages API (Claude), with structured"
)]
//!   output through a forced tool;
#![cfg_attr(
    feature = "genai",
    doc = "- [`Genai`] (feature `genai`): Gemini, Groq, DeepSeek, xAI, native Ollama and more"
)]
#![cfg_attr(
    not(feature = "genai"),
    doc = "- `Genai` (feature `genai`): Gemini, Groq, DeepSeek, xAI, native Ollama and more"
)]
//!   through the `genai` crate, the provider chosen by the model's name;
//! - [`Scripted`]: canned answers for offline tests of your own workflows.
//!
//! The model the environment configures (`OPENAI_BASE_URL`, `OPENAI_API_KEY`, `OPENAI_MODEL`,
//! `ANTHROPIC_API_KEY`, …) is built by
#![cfg_attr(feature = "http", doc = "[`from_env`]; see [`ModelConfig`].")]
#![cfg_attr(not(feature = "http"), doc = "`from_env` (feature `http`).")]
//!
//! A failed call is an [`Error::Provider`] holding a [`ProviderError`]. API keys are
//! [`ApiKey`]s, which never print.

use std::pin::Pin;
use std::sync::Arc;

use futures_util::Stream;

use crate::error::Error;
use crate::future::BoxFuture;

mod rate;
mod request;
mod response;
mod scripted;
mod secret;

#[cfg(feature = "http")]
pub mod anthropic;
#[cfg(feature = "http")]
mod config;
#[cfg(feature = "genai")]
pub mod genai;
#[cfg(feature = "http")]
mod http;
#[cfg(feature = "http")]
pub mod openai;
#[cfg(feature = "http")]
mod sse;

pub use crate::error::{ProviderError, ProviderErrorKind};
pub use crate::usage::Usage;
#[cfg(feature = "http")]
pub use anthropic::{Anthropic, AnthropicBuilder};
#[cfg(feature = "http")]
pub use config::{from_env, ConfigError, ModelConfig};
#[cfg(feature = "genai")]
pub use genai::{Genai, GenaiBuilder};
#[cfg(feature = "http")]
pub use openai::{OpenAi, OpenAiBuilder, StructuredOutput};
pub use rate::{RateLimit, RateLimited};
pub use request::{ChatRequest, Message, ResponseSchema, Tool, ToolChoice};
pub use response::{ChatResponse, FinishReason, StreamEvent, ToolCall};
pub use scripted::{Reply, Scripted};
pub use secret::ApiKey;

/// A streamed answer: [`StreamEvent`]s, the last one [`StreamEvent::Done`], or an error, after
/// which the stream ends.
pub type ChatStream = Pin<Box<dyn Stream<Item = Result<StreamEvent, Error>> + Send + 'static>>;

/// A chat model: takes a [`ChatRequest`], answers with a [`ChatResponse`], or streams the
/// answer as [`StreamEvent`]s.
///
/// The trait is dyn-compatible: hold models as `Arc<dyn ChatModel>`. Implement it to plug in
/// a provider of your own; [`stream`](ChatModel::stream) has a default that calls
/// [`chat`](ChatModel::chat) and replays its answer.
///
/// # Example
///
/// A model that shouts the user's last message back, with real streaming:
///
/// ```
/// use std::sync::Arc;
///
/// use futures_util::{stream, StreamExt};
/// use workflow_runtime::provider::{
///     ChatModel, ChatRequest, ChatResponse, ChatStream, ProviderError, ProviderErrorKind,
///     StreamEvent, Usage,
/// };
/// use workflow_runtime::{BoxFuture, Error};
///
/// struct Shout;
///
/// impl ChatModel for Shout {
///     fn chat(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatResponse, Error>> {
///         Box::pin(async move {
///             let Some(prompt) = request.last_user_message() else {
///                 let kind = ProviderErrorKind::BadRequest;
///                 return Err(ProviderError::new("shout", kind, "no user message").into());
///             };
///             let words = prompt.split_whitespace().count() as u64;
///             Ok(ChatResponse::new(prompt.to_uppercase())
///                 .with_usage(Usage::new(words, words))
///                 .with_model("shout-1"))
///         })
///     }
///
///     fn stream(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatStream, Error>> {
///         Box::pin(async move {
///             let response = self.chat(request).await?;
///             let mut events: Vec<_> = response
///                 .text
///                 .split_inclusive(' ')
///                 .map(|word| Ok(StreamEvent::TextDelta(word.to_owned())))
///                 .collect();
///             events.extend(response.usage.map(|usage| Ok(StreamEvent::Usage(usage))));
///             events.push(Ok(StreamEvent::Done(response)));
///             Ok(Box::pin(stream::iter(events)) as ChatStream)
///         })
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Error> {
/// let model: Arc<dyn ChatModel> = Arc::new(Shout);
///
/// let response = model.chat(ChatRequest::new().user("hello there")).await?;
/// assert_eq!(response.text, "HELLO THERE");
/// assert_eq!(response.usage, Some(Usage::new(2, 2)));
///
/// let mut stream = model.stream(ChatRequest::new().user("hello there")).await?;
/// let mut deltas = Vec::new();
/// while let Some(event) = stream.next().await {
///     match event? {
///         StreamEvent::TextDelta(delta) => deltas.push(delta),
///         StreamEvent::Done(response) => assert_eq!(response.text, deltas.concat()),
///         _ => {}
///     }
/// }
/// assert_eq!(deltas, ["HELLO ", "THERE"]);
///
/// let error = model.chat(ChatRequest::new()).await.unwrap_err();
/// assert!(matches!(error, Error::Provider(e) if e.kind() == ProviderErrorKind::BadRequest));
/// # Ok(())
/// # }
/// ```
pub trait ChatModel: Send + Sync + 'static {
    /// Sends `request` and waits for the whole answer.
    ///
    /// # Errors
    ///
    /// [`Error::Provider`] when the call fails: see [`ProviderErrorKind`] for the reasons.
    fn chat(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatResponse, Error>>;

    /// Sends `request` and streams the answer as it is written.
    ///
    /// The default calls [`chat`](ChatModel::chat) and replays its answer as one text delta,
    /// the tool calls, the usage and [`StreamEvent::Done`].
    ///
    /// # Errors
    ///
    /// [`Error::Provider`] when the call cannot start; errors after it started are items of
    /// the stream.
    fn stream(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatStream, Error>> {
        Box::pin(async move { Ok(replay(self.chat(request).await?, false)) })
    }
}

impl<M: ChatModel + ?Sized> ChatModel for Arc<M> {
    fn chat(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatResponse, Error>> {
        (**self).chat(request)
    }

    fn stream(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatStream, Error>> {
        (**self).stream(request)
    }
}

impl<M: ChatModel + ?Sized> ChatModel for Box<M> {
    fn chat(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatResponse, Error>> {
        (**self).chat(request)
    }

    fn stream(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatStream, Error>> {
        (**self).stream(request)
    }
}

/// `response` as a stream: its text (as one delta, or word by word if `by_word`), its tool
/// calls, its usage, then [`StreamEvent::Done`].
pub(crate) fn replay(response: ChatResponse, by_word: bool) -> ChatStream {
    let mut events: Vec<Result<StreamEvent, Error>> = Vec::new();
    if by_word {
        let words = response.text.split_inclusive(char::is_whitespace);
        events.extend(words.map(|word| Ok(StreamEvent::TextDelta(word.to_owned()))));
    } else if !response.text.is_empty() {
        events.push(Ok(StreamEvent::TextDelta(response.text.clone())));
    }
    let calls = response.tool_calls.iter().cloned();
    events.extend(calls.map(|call| Ok(StreamEvent::ToolCall(call))));
    events.extend(response.usage.map(|usage| Ok(StreamEvent::Usage(usage))));
    events.push(Ok(StreamEvent::Done(response)));
    Box::pin(futures_util::stream::iter(events))
}
