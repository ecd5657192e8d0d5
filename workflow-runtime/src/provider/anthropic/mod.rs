//! [`Anthropic`]: a [`ChatModel`] for Anthropic's Messages API (Claude).
//!
//! ```no_run
//! use std::time::Duration;
//! use workflow_runtime::provider::{Anthropic, ApiKey, ChatModel, ChatRequest};
//!
//! # async fn demo() -> Result<(), workflow_runtime::Error> {
//! let key = ApiKey::from_env("ANTHROPIC_API_KEY").expect("ANTHROPIC_API_KEY is set");
//! let model = Anthropic::builder(key, "claude-sonnet-4-5")
//!     .timeout(Duration::from_secs(60))
//!     .build()?;
//! let answer = model.chat(ChatRequest::new().user("Say hi.")).await?;
//! println!("{} ({:?})", answer.text, answer.usage);
//! # Ok(())
//! # }
//! ```
//!
//! # How requests map onto the Messages API
//!
//! - The system prompt is the top-level `system`; tool calls are `tool_use` blocks of the
//!   assistant's message; tool results are `tool_result` blocks of a user message, consecutive
//!   results in one message.
//! - [`ToolChoice`](super::ToolChoice): `Auto`, `None`, `Required` and `Tool(name)` are
//!   `{"type": "auto"}`, `{"type": "none"}`, `{"type": "any"}` and
//!   `{"type": "tool", "name": …}`.
//! - `max_tokens`, which the API requires, is [`Anthropic::DEFAULT_MAX_TOKENS`] (4096) unless
//!   the request or [`AnthropicBuilder::max_tokens`] sets it.
//! - **Structured output.** The API has no `response_format`, so a
//!   [`ResponseSchema`](super::ResponseSchema) is sent as one more tool, named after the schema
//!   (characters a tool name cannot have become `_`), whose `input_schema` is the schema, and
//!   `tool_choice` forces it: `{"type": "tool"}` when the request has no tools of its own, or
//!   `{"type": "any"}` when it has, so that the model either calls one of them or answers
//!   (a [`ToolChoice::Tool`](super::ToolChoice::Tool) of the request forces that tool instead,
//!   and [`ToolChoice::None`](super::ToolChoice::None) forces the answer). The
//!   answer tool's input, as JSON, is the response's text (and streams as text deltas); it is
//!   not a [`ToolCall`](super::ToolCall), and other text blocks are dropped. An answer ends
//!   with [`FinishReason::Stop`](super::FinishReason::Stop). The schema must describe an
//!   object; its `strict` flag is not sent.
//! - **Usage.** Anthropic's `input_tokens` leaves out cached tokens. Here
//!   [`Usage::input_tokens`](super::Usage::input_tokens) is the whole prompt: `input_tokens`
//!   plus `cache_read_input_tokens` plus `cache_creation_input_tokens`;
//!   [`Usage::cached_tokens`](super::Usage::cached_tokens) is `cache_read_input_tokens`, so
//!   tokens written to the cache count as input but not as cached. Reasoning tokens are not
//!   reported by the API and stay 0.
//! - Stop reasons: `end_turn` and `stop_sequence` are `Stop`, `max_tokens` and
//!   `model_context_window_exceeded` are `Length`, `tool_use` is `ToolCalls`, `refusal` is
//!   `ContentFilter`, others are `Other`.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::http::{timeout_and_retry_setters, Caller, Endpoint, Retries, DEFAULT_TIMEOUT};
use super::secret::{redact_userinfo, shown_url};
use super::{ApiKey, BoxFuture, ChatModel, ChatRequest, ChatResponse, ChatStream, ProviderError};
use crate::Error;

mod body;
mod stream;
mod wire;

/// The API version sent as `anthropic-version`.
const API_VERSION: &str = "2023-06-01";

/// A [`ChatModel`] for Anthropic's Messages API (`POST {base_url}/v1/messages`): API key,
/// model, and a base URL that defaults to [`Anthropic::DEFAULT_BASE_URL`]. See the
/// [module docs](self) for how requests, structured output and usage map onto the API.
///
/// The key goes in the `x-api-key` header only, with `anthropic-version: 2023-06-01`. Each call
/// is bounded by a [timeout](AnthropicBuilder::timeout), and transient failures (429, 5xx, 529
/// overloaded, timeouts, broken connections) are [retried](AnthropicBuilder::retries) with
/// exponential backoff and jitter, or after the server's `retry-after` (seconds or an HTTP
/// date) when it sends one (on 429, 529 and other 5xx). A streamed call is retried only until
/// its response starts. In a step whose policy retries, the step retries instead. Cloning is
/// cheap and shares the connection pool.
#[derive(Clone)]
pub struct Anthropic {
    inner: Arc<Inner>,
}

struct Inner {
    /// `{base_url}/v1/messages`, with `x-api-key` marked sensitive.
    endpoint: Endpoint,
    model: String,
    max_tokens: u32,
}

impl Anthropic {
    /// Where Anthropic's API is.
    pub const DEFAULT_BASE_URL: &'static str = "https://api.anthropic.com";

    /// The `max_tokens` of a request that sets none.
    pub const DEFAULT_MAX_TOKENS: u32 = 4096;

    /// Starts building a provider that calls `model` (such as `claude-sonnet-4-5`) unless a
    /// request names another, with `api_key`.
    pub fn builder(api_key: impl Into<ApiKey>, model: impl Into<String>) -> AnthropicBuilder {
        AnthropicBuilder {
            name: Cow::Borrowed("anthropic"),
            base_url: Self::DEFAULT_BASE_URL.to_owned(),
            model: model.into(),
            api_key: api_key.into(),
            max_tokens: Self::DEFAULT_MAX_TOKENS,
            timeout: DEFAULT_TIMEOUT,
            retries: Retries::DEFAULT,
        }
    }

    /// The default model.
    pub fn model(&self) -> &str {
        &self.inner.model
    }

    /// The provider's name in errors.
    pub fn name(&self) -> &str {
        &self.inner.endpoint.caller.name
    }
}

impl fmt::Debug for Anthropic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Inner {
            endpoint,
            model,
            max_tokens,
        } = &*self.inner;
        f.debug_struct("Anthropic")
            .field("name", &endpoint.caller.name)
            .field("endpoint", &shown_url(&endpoint.url))
            .field("model", model)
            .field("max_tokens", max_tokens)
            .field("api_key", &endpoint.caller.api_key)
            .field("timeout", &endpoint.timeout)
            .field("retries", &endpoint.retries)
            .finish()
    }
}

/// Configures an [`Anthropic`] provider; made by [`Anthropic::builder`].
#[derive(Clone)]
pub struct AnthropicBuilder {
    name: Cow<'static, str>,
    base_url: String,
    model: String,
    api_key: ApiKey,
    max_tokens: u32,
    timeout: Duration,
    retries: Retries,
}

/// Neither the key nor the userinfo of the base URL shows.
impl fmt::Debug for AnthropicBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnthropicBuilder")
            .field("name", &self.name)
            .field("base_url", &redact_userinfo(&self.base_url))
            .field("model", &self.model)
            .field("api_key", &self.api_key)
            .field("max_tokens", &self.max_tokens)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .finish()
    }
}

impl AnthropicBuilder {
    /// Sends requests to `base_url` (such as a proxy's) instead of
    /// [`Anthropic::DEFAULT_BASE_URL`]; `/v1/messages` is appended.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// Names the provider in errors; `anthropic` by default.
    pub fn name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.name = name.into();
        self
    }

    /// The `max_tokens` of requests that set none; [`Anthropic::DEFAULT_MAX_TOKENS`] (4096) by
    /// default. The API requires one on every request.
    pub fn max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = max_tokens;
        self
    }

    timeout_and_retry_setters!();

    /// Builds the provider.
    ///
    /// # Errors
    ///
    /// [`Error::Provider`] of kind [`ProviderErrorKind::Config`](super::ProviderErrorKind::Config) if the base URL is not a URL,
    /// the key cannot go in an HTTP header, or the HTTP client cannot start.
    pub fn build(self) -> Result<Anthropic, Error> {
        let caller = Caller::new(self.name, Some(self.api_key));
        let mut headers = HeaderMap::new();
        if let Some(key) = caller.key_header("")? {
            headers.insert(HeaderName::from_static("x-api-key"), key);
        }
        headers.insert(
            HeaderName::from_static("anthropic-version"),
            HeaderValue::from_static(API_VERSION),
        );
        let endpoint = Endpoint::new(
            caller,
            &self.base_url,
            "/v1/messages",
            headers,
            self.timeout,
            self.retries,
        )?;
        Ok(Anthropic {
            inner: Arc::new(Inner {
                endpoint,
                model: self.model,
                max_tokens: self.max_tokens,
            }),
        })
    }
}

impl Inner {
    /// The JSON body for `request`, and the name of its answer tool if it asks for structured
    /// output.
    fn body(
        &self,
        request: &ChatRequest,
        stream: bool,
    ) -> Result<(Vec<u8>, Option<String>), ProviderError> {
        let caller = &self.endpoint.caller;
        body::encode(&self.model, self.max_tokens, request, stream)
            .map_err(|(kind, message)| caller.error(kind, &message))
    }
}

impl ChatModel for Anthropic {
    fn chat(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatResponse, Error>> {
        Box::pin(async move {
            let started = Instant::now();
            let inner = &*self.inner;
            let (body, answer_tool) = inner.body(&request, false)?;
            let bytes = inner.endpoint.call(&body).await?;
            let model = request.model.unwrap_or_else(|| inner.model.clone());
            let caller = &inner.endpoint.caller;
            let answer_tool = answer_tool.as_deref();
            let mut response = wire::parse_message(&bytes, model, answer_tool, caller)?;
            response.latency = started.elapsed();
            Ok(response)
        })
    }

    fn stream(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatStream, Error>> {
        Box::pin(async move {
            let started = Instant::now();
            let inner = &*self.inner;
            let (body, answer_tool) = inner.body(&request, true)?;
            let response = inner.endpoint.open_stream(&body).await?;
            let model = request.model.unwrap_or_else(|| inner.model.clone());
            let endpoint = &inner.endpoint;
            Ok(stream::events(
                endpoint.caller.clone(),
                response,
                endpoint.timeout,
                model,
                answer_tool,
                started,
            ))
        })
    }
}
