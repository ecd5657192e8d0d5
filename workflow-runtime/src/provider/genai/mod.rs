//! [`Genai`]: a [`ChatModel`] over the [`genai`] crate, which speaks to many providers
//! (Gemini, Groq, DeepSeek, xAI, native Ollama, Anthropic, OpenAI, …) in their own APIs.
//! Feature `genai`.
//!
//! The model name chooses the provider, as `genai` reads it: `gemini-2.0-flash` is Gemini,
//! `claude-…` Anthropic, `gpt-4o-mini` OpenAI, `grok-…` xAI; a namespace names the provider
//! outright: `groq::llama-3.1-8b-instant`, `deepseek::deepseek-chat`,
//! `ollama::llama3.2` (Ollama's native API), `openai::gpt-4o-mini` (chat completions). Keys
//! come from each provider's usual variable (`GEMINI_API_KEY`, `GROQ_API_KEY`,
//! `OPENAI_API_KEY`, …) unless the [builder](GenaiBuilder::api_key) gives one.
//!
//! ```no_run
//! use workflow_runtime::provider::{ChatModel, ChatRequest, Genai};
//!
//! # async fn demo() -> Result<(), workflow_runtime::Error> {
//! // GEMINI_API_KEY is read when the model is called.
//! let model = Genai::new("gemini-2.0-flash")?;
//! let answer = model.chat(ChatRequest::new().user("Say hi.")).await?;
//! println!("{} ({:?})", answer.text, answer.usage);
//! # Ok(())
//! # }
//! ```
//!
//! # How requests map onto `genai`
//!
//! - The system prompt, messages, tools (name, description, JSON schema), tool calls and tool
//!   results map one to one; consecutive tool results go in one message, each with the name of
//!   the tool it answers (Gemini wants it).
//! - [`ToolChoice`](super::ToolChoice) and [`ResponseSchema`](super::ResponseSchema) become
//!   `genai`'s tool choice and JSON-schema response format, which each adapter sends its own
//!   way (OpenAI's `response_format` with `strict: true`, Gemini's `responseSchema`, …); the
//!   schema's own `strict` flag is not used. `temperature` and `max_tokens` are sent as given.
//! - The answer's text is its text parts, joined; tool calls keep their ids and JSON
//!   arguments; usage counts cached prompt tokens and reasoning tokens when the provider reports
//!   them; the model is the one the provider says answered.
//! - A stream hands out text deltas as they come, then each tool call whole, the usage and
//!   [`StreamEvent::Done`](super::StreamEvent::Done) when the provider ends the answer.
//! - Errors have the kinds of the built-in providers: HTTP 429 is
//!   [`RateLimited`](super::ProviderErrorKind::RateLimited) (with its `retry-after`), 5xx
//!   [`Server`](super::ProviderErrorKind::Server), 401 `Unauthorized`, 403 `Forbidden`,
//!   other 4xx `BadRequest`, a response that cannot be read `MalformedResponse`, no
//!   response `Connection` or `Timeout`. Messages never hold the key.
//!
//! Gemini's thought signatures on tool calls, which [`ToolCall`](super::ToolCall) has no field
//! for, are kept by the provider (for its last 1024 calls) and sent back with their calls
//! while a conversation goes on in the same process; a conversation resumed elsewhere sends
//! its calls without them, which Gemini accepts. Not carried over: `genai`'s options that
//! have no field in [`ChatRequest`] (stop sequences, reasoning effort, …).

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ::genai::adapter::AdapterKind;
use ::genai::chat::ChatStreamEvent;
use ::genai::resolver::{AuthData, Endpoint};
use ::genai::{Client, ServiceTarget};
use futures_util::StreamExt;

use super::http::{timeout_and_retry_setters, Caller, Retries, DEFAULT_TIMEOUT};
use super::secret::redact_userinfo;
use super::{
    ApiKey, BoxFuture, ChatModel, ChatRequest, ChatResponse, ChatStream, ProviderError,
    ProviderErrorKind,
};
use crate::Error;

mod convert;
mod error;
mod signatures;
mod stream;

use signatures::Signatures;

/// A [`ChatModel`] over [`genai`]: one model of any provider `genai` supports, chosen
/// by its name. See the [module docs](self) for the names, keys and how requests map.
///
/// Each call is bounded by a [timeout](GenaiBuilder::timeout), and transient failures (429,
/// 5xx, timeouts, broken connections) are [retried](GenaiBuilder::retries) with exponential
/// backoff and jitter, or after the server's `retry-after`, as the built-in providers do; a
/// streamed call is retried only until its response starts. In a step whose policy retries,
/// the step retries instead. Cloning is cheap and shares the connection pool.
///
/// ```
/// use workflow_runtime::provider::{ApiKey, Genai};
///
/// // A local server that speaks Ollama's native API, with an explicit key.
/// let model = Genai::builder("ollama::llama3.2")
///     .base_url("http://127.0.0.1:11434")
///     .api_key(ApiKey::new("secret-key"))
///     .build()?;
/// assert_eq!(model.name(), "ollama");
/// assert!(!format!("{model:?}").contains("secret-key"));
/// # Ok::<(), workflow_runtime::Error>(())
/// ```
#[derive(Clone)]
pub struct Genai {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    model: String,
    base_url: Option<String>,
    /// The name in errors, the explicit key and the userinfo of the base URL, to scrub.
    caller: Caller,
    timeout: Duration,
    retries: Retries,
    /// Gemini's thought signatures of recent tool calls, sent back with them.
    signatures: Signatures,
}

impl Genai {
    /// The provider for `model` as `genai` names it (such as `gemini-2.0-flash` or
    /// `groq::llama-3.1-8b-instant`), its key from the provider's usual environment variable
    /// and the defaults of [`Genai::builder`].
    ///
    /// # Errors
    ///
    /// Those of [`GenaiBuilder::build`].
    pub fn new(model: impl Into<String>) -> Result<Genai, Error> {
        Self::builder(model).build()
    }

    /// Starts building a provider for `model`, the model used unless a request names another.
    pub fn builder(model: impl Into<String>) -> GenaiBuilder {
        GenaiBuilder {
            name: None,
            model: model.into(),
            api_key: None,
            base_url: None,
            timeout: DEFAULT_TIMEOUT,
            retries: Retries::DEFAULT,
        }
    }

    /// The default model.
    pub fn model(&self) -> &str {
        &self.inner.model
    }

    /// The provider's name in errors: `genai`'s name of the model's adapter (`gemini`,
    /// `groq`, `openai`, …) unless the builder set another.
    pub fn name(&self) -> &str {
        &self.inner.caller.name
    }
}

/// Neither the key nor the userinfo of the base URL shows.
impl fmt::Debug for Genai {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        f.debug_struct("Genai")
            .field("name", &inner.caller.name)
            .field("model", &inner.model)
            .field("base_url", &inner.base_url.as_deref().map(redact_userinfo))
            .field("api_key", &inner.caller.api_key)
            .field("timeout", &inner.timeout)
            .field("retries", &inner.retries)
            .finish()
    }
}

/// Configures a [`Genai`] provider; made by [`Genai::builder`].
#[derive(Clone)]
pub struct GenaiBuilder {
    name: Option<Cow<'static, str>>,
    model: String,
    api_key: Option<ApiKey>,
    base_url: Option<String>,
    timeout: Duration,
    retries: Retries,
}

/// Neither the key nor the userinfo of the base URL shows.
impl fmt::Debug for GenaiBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GenaiBuilder")
            .field("name", &self.name)
            .field("model", &self.model)
            .field("api_key", &self.api_key)
            .field("base_url", &self.base_url.as_deref().map(redact_userinfo))
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .finish()
    }
}

impl GenaiBuilder {
    /// Calls with `api_key` instead of the key in the provider's environment variable.
    pub fn api_key(mut self, api_key: impl Into<ApiKey>) -> Self {
        self.api_key = Some(api_key.into());
        self
    }

    /// Sends the model's requests to `base_url` instead of its provider's: a proxy, a
    /// self-hosted server, or a test server. It is the base `genai` appends its paths to, such
    /// as `http://localhost:11434/v1` for an OpenAI-compatible server
    /// (`…/chat/completions`), `http://localhost:11434` for Ollama's native API
    /// (`…/api/chat`), `https://host/v1beta` for Gemini (`…/models/{model}:generateContent`).
    ///
    /// It applies to the provider of the builder's model; a request that names a model of
    /// another provider goes to that provider's own endpoint.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// Names the provider in errors; `genai`'s name of the model's adapter by default.
    pub fn name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.name = Some(name.into());
        self
    }

    timeout_and_retry_setters!();

    /// Builds the provider. The key is not read yet: a missing one fails the first call.
    ///
    /// # Errors
    ///
    /// [`Error::Provider`] of kind [`ProviderErrorKind::Config`] if the base URL is not an
    /// HTTP URL or the HTTP client cannot start.
    pub fn build(self) -> Result<Genai, Error> {
        let adapter = AdapterKind::from_model(&self.model).unwrap_or(AdapterKind::Ollama);
        let name = self.name.unwrap_or(Cow::Borrowed(adapter.as_lower_str()));
        let mut caller = Caller::new(name, self.api_key.clone());
        let endpoint = match &self.base_url {
            Some(base_url) => {
                let url = reqwest::Url::parse(base_url)
                    .ok()
                    .filter(|url| matches!(url.scheme(), "http" | "https"));
                let Some(url) = url else {
                    let message = format!(
                        "the base url `{}` is not an http(s) URL",
                        redact_userinfo(base_url)
                    );
                    return Err(caller.error(ProviderErrorKind::Config, &message).into());
                };
                caller.guard_userinfo(&url);
                // `genai` appends its paths to the base URL as text.
                let mut base = url.to_string();
                if !base.ends_with('/') {
                    base.push('/');
                }
                Some(Endpoint::from_owned(base))
            }
            None => None,
        };
        let auth = self
            .api_key
            .as_ref()
            .map(|key| AuthData::from_single(key.expose_secret()));
        // `genai`'s HTTP client uses rustls with the process's crypto provider: ring, as the
        // rest of the crate, unless the program installed another.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = Client::builder();
        if endpoint.is_some() || auth.is_some() {
            builder = builder.append_provider_config(adapter, (endpoint, auth));
        }
        let client = builder.build().map_err(|error| {
            let message = format!("the HTTP client could not start: {error}");
            caller.error(ProviderErrorKind::Config, &message)
        })?;
        Ok(Genai {
            inner: Arc::new(Inner {
                client,
                model: self.model,
                base_url: self.base_url,
                caller,
                timeout: self.timeout,
                retries: self.retries,
                signatures: Signatures::default(),
            }),
        })
    }
}

impl Inner {
    /// Where and with what key `model` is called, and the caller that scrubs that key from
    /// messages, wherever it came from.
    async fn target(&self, model: &str) -> Result<(ServiceTarget, Caller), ProviderError> {
        let target = self
            .client
            .resolve_service_target(model)
            .await
            .map_err(|error| error::provider_error(&self.caller, &error))?;
        let mut caller = self.caller.clone();
        if caller.api_key.is_none() {
            let key = target.auth.single_key_value().ok();
            caller.api_key = key.filter(|key| !key.is_empty()).map(ApiKey::new);
        }
        Ok((target, caller))
    }
}

impl ChatModel for Genai {
    fn chat(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatResponse, Error>> {
        Box::pin(async move {
            let started = Instant::now();
            let inner = &*self.inner;
            let model = request.model.as_deref().unwrap_or(&inner.model);
            let (target, caller) = inner.target(model).await?;
            let (chat, options) = convert::request(&request, &inner.signatures);
            let attempt = || async {
                let call = inner
                    .client
                    .exec_chat(target.clone(), chat.clone(), Some(&options));
                match tokio::time::timeout(inner.timeout, call).await {
                    Ok(Ok(response)) => Ok(response),
                    Ok(Err(error)) => Err(error::provider_error(&caller, &error)),
                    Err(_) => Err(caller.error(ProviderErrorKind::Timeout, "no response in time")),
                }
            };
            let answer = inner.retries.run(attempt).await?;
            inner.signatures.keep(answer.content.tool_calls());
            let mut response = convert::response(&answer);
            // `genai` reads a body with no answer in it (`{}`) as an empty answer.
            if response.text.is_empty()
                && response.tool_calls.is_empty()
                && response.finish_reason.is_none()
            {
                let message = "the response holds no answer: no text, tool call or stop reason";
                let error = caller.error(ProviderErrorKind::MalformedResponse, message);
                return Err(match response.usage {
                    Some(usage) => error.with_usage(usage),
                    None => error,
                }
                .into());
            }
            if response.model.is_empty() {
                bare(model).clone_into(&mut response.model);
            }
            response.latency = started.elapsed();
            Ok(response)
        })
    }

    fn stream(&self, request: ChatRequest) -> BoxFuture<'_, Result<ChatStream, Error>> {
        Box::pin(async move {
            let started = Instant::now();
            let inner = &*self.inner;
            let model = request.model.as_deref().unwrap_or(&inner.model);
            let (target, caller) = inner.target(model).await?;
            let (chat, options) = convert::request(&request, &inner.signatures);
            // An attempt lasts until the first event: errors before it (an HTTP status, no
            // connection) may be retried, as for the built-in providers.
            let attempt = || async {
                let open = async {
                    let call =
                        inner
                            .client
                            .exec_chat_stream(target.clone(), chat.clone(), Some(&options));
                    let mut rest = call.await?.stream;
                    // `genai` may start with an event of its own, before the response.
                    let first = loop {
                        match rest.next().await {
                            Some(Ok(ChatStreamEvent::Start | ChatStreamEvent::Heartbeat)) => {}
                            first => break first,
                        }
                    };
                    Ok::<_, ::genai::Error>((first, rest))
                };
                let (first, rest) = match tokio::time::timeout(inner.timeout, open).await {
                    Ok(Ok(opened)) => opened,
                    Ok(Err(error)) => return Err(error::provider_error(&caller, &error)),
                    Err(_) => {
                        let message = "no response in time";
                        return Err(caller.error(ProviderErrorKind::Timeout, message));
                    }
                };
                match first {
                    Some(Ok(first)) => Ok(stream::Opened { first, rest }),
                    Some(Err(error)) => Err(error::provider_error(&caller, &error)),
                    None => {
                        let message = "the stream ended before it started";
                        Err(caller.error(ProviderErrorKind::Stream, message))
                    }
                }
            };
            let opened = inner.retries.run(attempt).await?;
            let model = bare(model).to_owned();
            let stream = stream::Stream {
                caller,
                timeout: inner.timeout,
                model,
                started,
                signatures: inner.signatures.clone(),
            };
            Ok(stream.events(opened))
        })
    }
}

/// `model` without the namespace that chose its provider (`groq::llama-3.1-8b-instant` is
/// `llama-3.1-8b-instant`): the name the provider knows it by.
fn bare(model: &str) -> &str {
    model.split_once("::").map_or(model, |(_, name)| name)
}
