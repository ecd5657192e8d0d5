//! [`OpenAi`]: a [`ChatModel`] for any OpenAI-compatible chat-completions endpoint.
//!
//! | server | base URL |
//! |---|---|
//! | OpenAI | `https://api.openai.com/v1` |
//! | Ollama | `http://localhost:11434/v1` |
//! | vLLM | `http://localhost:8000/v1` |
//! | llama.cpp `llama-server` | `http://localhost:8080/v1` |
//! | `llama-cpp-python` server | `http://localhost:8000/v1`, with [`StructuredOutput::JsonObjectSchema`] |
//! | OpenRouter | `https://openrouter.ai/api/v1` |
//! | Groq | `https://api.groq.com/openai/v1` |
//!
//! ```no_run
//! use std::time::Duration;
//! use workflow_runtime::provider::{ApiKey, ChatModel, ChatRequest, OpenAi};
//!
//! # async fn demo() -> Result<(), workflow_runtime::Error> {
//! let model = OpenAi::builder("https://api.openai.com/v1", "gpt-4o-mini")
//!     .api_key(ApiKey::from_env("OPENAI_API_KEY").expect("OPENAI_API_KEY is set"))
//!     .timeout(Duration::from_secs(60))
//!     .build()?;
//! let answer = model.chat(ChatRequest::new().user("Say hi.")).await?;
//! println!("{} ({:?})", answer.text, answer.usage);
//! # Ok(())
//! # }
//! ```
//!
//! What varies between servers is set on the builder:
//! [`structured_output`](OpenAiBuilder::structured_output) (the shape of `response_format`) and
//! [`max_completion_tokens`](OpenAiBuilder::max_completion_tokens) (the name of the token
//! limit). [`ModelConfig`](super::ModelConfig) reads all of it from the environment.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, AUTHORIZATION};

use super::http::{join, timeout_and_retry_setters, Caller, Endpoint, Retries, DEFAULT_TIMEOUT};
use super::secret::{redact_userinfo, shown_url};
use super::{
    ApiKey, BoxFuture, ChatModel, ChatRequest, ChatResponse, ChatStream, ProviderError,
    ProviderErrorKind,
};
use crate::Error;

mod body;
mod dialect;
mod models;
mod stream;
mod wire;

pub use dialect::StructuredOutput;

/// A [`ChatModel`] for an OpenAI-compatible `/chat/completions` endpoint: base URL, optional
/// API key, model. See the [module docs](self) for the base URLs of common servers.
///
/// The server of `llama-cpp-python` answers a request it rejects with HTTP 500 and a
/// validation message; that is read as [`ProviderErrorKind::BadRequest`], not retried.
///
/// Each call is bounded by a [timeout](OpenAiBuilder::timeout), and transient failures (429,
/// 5xx, timeouts, broken connections) are [retried](OpenAiBuilder::retries) with exponential
/// backoff and jitter, or after the server's `Retry-After` (seconds, `retry-after-ms`, or an
/// HTTP date) when it sends one. A streamed call is retried only until its response starts. In
/// a step whose policy retries, the step retries instead. Cloning is cheap and shares the
/// connection pool.
#[derive(Clone)]
pub struct OpenAi {
    inner: Arc<Inner>,
}

struct Inner {
    /// `{base_url}/chat/completions`, with `Authorization: Bearer <key>` marked sensitive.
    endpoint: Endpoint,
    /// `{base_url}/models`.
    models_url: reqwest::Url,
    model: String,
    dialect: body::Dialect,
}

impl OpenAi {
    /// Starts building a provider for the endpoint at `base_url` (such as
    /// `https://api.openai.com/v1`), using `model` unless a request names another.
    pub fn builder(base_url: impl Into<String>, model: impl Into<String>) -> OpenAiBuilder {
        OpenAiBuilder {
            name: Cow::Borrowed("openai"),
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            dialect: body::Dialect::default(),
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

    /// The dialect of structured output: see [`OpenAiBuilder::structured_output`].
    pub fn structured_output(&self) -> StructuredOutput {
        self.inner.dialect.structured_output
    }

    /// The ids of the models the server serves (`GET {base_url}/models`), in its order.
    ///
    /// Also a cheap check that the server is up and the key is accepted, with the provider's
    /// timeout and retries.
    ///
    /// # Errors
    ///
    /// [`Error::Provider`] if the call fails, as for [`ChatModel::chat`], or if the answer is not
    /// a model list ([`ProviderErrorKind::MalformedResponse`]).
    pub async fn models(&self) -> Result<Vec<String>, Error> {
        let inner = &*self.inner;
        let bytes = inner.endpoint.get(&inner.models_url).await?;
        Ok(models::parse(&bytes, &inner.endpoint.caller)?)
    }
}

impl fmt::Debug for OpenAi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Inner {
            endpoint,
            models_url: _,
            model,
            dialect,
        } = &*self.inner;
        f.debug_struct("OpenAi")
            .field("name", &endpoint.caller.name)
            .field("endpoint", &shown_url(&endpoint.url))
            .field("model", model)
            .field("structured_output", &dialect.structured_output)
            .field("max_completion_tokens", &dialect.max_completion_tokens)
            .field("api_key", &endpoint.caller.api_key)
            .field("timeout", &endpoint.timeout)
            .field("retries", &endpoint.retries)
            .finish()
    }
}

/// Configures an [`OpenAi`] provider; made by [`OpenAi::builder`].
#[derive(Clone)]
pub struct OpenAiBuilder {
    name: Cow<'static, str>,
    base_url: String,
    model: String,
    api_key: Option<ApiKey>,
    dialect: body::Dialect,
    timeout: Duration,
    retries: Retries,
}

/// Neither the key nor the userinfo of the base URL shows.
impl fmt::Debug for OpenAiBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiBuilder")
            .field("name", &self.name)
            .field("base_url", &redact_userinfo(&self.base_url))
            .field("model", &self.model)
            .field("api_key", &self.api_key)
            .field("dialect", &self.dialect)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .finish()
    }
}

impl OpenAiBuilder {
    /// Sends `key` as a bearer token. Local servers (Ollama, llama.cpp, vLLM) need none.
    pub fn api_key(mut self, key: impl Into<ApiKey>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Names the provider in errors, such as `groq`; `openai` by default.
    pub fn name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.name = name.into();
        self
    }

    /// How the server wants a response schema: [`StructuredOutput::JsonSchema`] (OpenAI's
    /// `json_schema`) by default; [`StructuredOutput::JsonObjectSchema`] for the server of
    /// `llama-cpp-python`.
    pub fn structured_output(mut self, dialect: StructuredOutput) -> Self {
        self.dialect.structured_output = dialect;
        self
    }

    /// Sends a request's [`max_tokens`](ChatRequest::max_tokens) as `max_completion_tokens`
    /// instead of `max_tokens`: OpenAI's reasoning models (o1, o3, o4-mini, gpt-5, …) reject
    /// `max_tokens`, and OpenAI accepts `max_completion_tokens` for all its models; many other
    /// servers know only `max_tokens`. Off by default.
    pub fn max_completion_tokens(mut self, on: bool) -> Self {
        self.dialect.max_completion_tokens = on;
        self
    }

    timeout_and_retry_setters!();

    /// Builds the provider.
    ///
    /// # Errors
    ///
    /// [`Error::Provider`] of kind [`ProviderErrorKind::Config`] if the base URL is not a URL,
    /// the key cannot go in an HTTP header, or the HTTP client cannot start.
    pub fn build(self) -> Result<OpenAi, Error> {
        let caller = Caller::new(self.name, self.api_key);
        let mut headers = HeaderMap::new();
        if let Some(authorization) = caller.key_header("Bearer ")? {
            headers.insert(AUTHORIZATION, authorization);
        }
        let models_url = join(&caller, &self.base_url, "/models")?;
        let endpoint = Endpoint::new(
            caller,
            &self.base_url,
            "/chat/completions",
            headers,
            self.timeout,
            self.retries,
        )?;
        Ok(OpenAi {
            inner: Arc::new(Inner {
                endpoint,
                models_url,
                model: self.model,
                dialect: self.dialect,
            }),
        })
    }
}

impl Inner {
    /// The JSON body for `request`.
    fn body(&self, request: &ChatRequest, stream: bool) -> Result<Vec<u8>, ProviderError> {
        let body = body::Body::new(&self.model, request, self.dialect, stream);
        serde_json::to_vec(&body).map_err(|error| {
            let message = format!("could not encode the request: {error}");
            self.endpoint
                .caller
                .error(ProviderErrorKind::BadRequest, &message)
        })
    }
}

impl ChatModel for OpenAi {
    fn chat(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatResponse, Error>> {
        Box::pin(async move {
            let started = Instant::now();
            let inner = &*self.inner;
            let body = inner.body(&request, false)?;
            let bytes = inner.endpoint.call(&body).await?;
            let model = request.model.unwrap_or_else(|| inner.model.clone());
            let mut response = wire::parse_completion(&bytes, model, &inner.endpoint.caller)?;
            response.latency = started.elapsed();
            Ok(response)
        })
    }

    fn stream(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatStream, Error>> {
        Box::pin(async move {
            let started = Instant::now();
            let inner = &*self.inner;
            let body = inner.body(&request, true)?;
            let response = inner.endpoint.open_stream(&body).await?;
            let model = request.model.unwrap_or_else(|| inner.model.clone());
            let endpoint = &inner.endpoint;
            let caller = endpoint.caller.clone();
            Ok(stream::events(
                caller,
                response,
                endpoint.timeout,
                model,
                started,
            ))
        })
    }
}
