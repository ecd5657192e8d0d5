//! The error of a model call: [`ProviderError`] and its [`ProviderErrorKind`].

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::tokens::Usage;

/// Why a model call failed; the [`kind`](ProviderError::kind) of a [`ProviderError`].
///
/// Rate limits, server errors, timeouts, broken connections and streams are transient
/// ([`is_transient`](Self::is_transient)): the same request may succeed later. The rest are not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProviderErrorKind {
    /// Too many requests (HTTP 429); `retry_after` is how long the provider asked to wait.
    RateLimited {
        /// The provider's `Retry-After`, if it sent one.
        retry_after: Option<Duration>,
    },
    /// The provider failed (HTTP 5xx) or is overloaded.
    Server,
    /// The call took longer than its timeout.
    Timeout,
    /// The connection failed or was reset before a response arrived.
    Connection,
    /// The provider rejected the request as invalid (HTTP 400, 413, 422, …).
    BadRequest,
    /// The API key is missing or wrong (HTTP 401).
    Unauthorized,
    /// The API key may not use this model or endpoint (HTTP 403).
    Forbidden,
    /// The endpoint or the model does not exist (HTTP 404).
    NotFound,
    /// The account has no credit or quota left (HTTP 402, or 429 with `insufficient_quota`).
    QuotaExhausted,
    /// The response could not be understood: not JSON, or a required field missing.
    MalformedResponse,
    /// A stream broke: it reported an error after it started, or ended before it was complete.
    Stream,
    /// The provider is misconfigured: a bad base URL, an API key that cannot go in a header.
    Config,
    /// A [`Scripted`](crate::provider::Scripted) model has no reply left for the request.
    ScriptExhausted,
    /// Anything else.
    Other,
}

impl ProviderErrorKind {
    /// Whether the same request may succeed if tried again.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. }
                | Self::Server
                | Self::Timeout
                | Self::Connection
                | Self::Stream
        )
    }

    fn describe(self) -> &'static str {
        match self {
            Self::RateLimited { .. } => "rate limited",
            Self::Server => "server error",
            Self::Timeout => "timed out",
            Self::Connection => "connection failed",
            Self::BadRequest => "bad request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not found",
            Self::QuotaExhausted => "quota exhausted",
            Self::MalformedResponse => "malformed response",
            Self::Stream => "stream error",
            Self::Config => "misconfigured",
            Self::ScriptExhausted => "script exhausted",
            Self::Other => "error",
        }
    }
}

impl fmt::Display for ProviderErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// A failed model call: which provider, why ([`ProviderErrorKind`]), the HTTP status if there
/// was one, and the provider's message.
///
/// It reaches callers as [`Error::Provider`](crate::Error::Provider). Messages never contain the
/// API key, nor the credentials of the base URL's userinfo: providers scrub them from what the
/// server sends back (whole, cut short, or JSON-escaped) before they cut a long message to 500
/// characters.
///
/// ```
/// use workflow_runtime::provider::{ProviderError, ProviderErrorKind};
///
/// let error = ProviderError::new("openai", ProviderErrorKind::Server, "overloaded").with_status(503);
/// assert!(error.is_transient());
/// assert_eq!(error.to_string(), "openai: server error (http 503): overloaded");
/// ```
#[derive(Clone)]
pub struct ProviderError {
    /// Boxed: an [`Error`](crate::Error) holds one, and every step's result holds an `Error`
    /// room, moved at each step.
    inner: Box<Inner>,
}

/// What a [`ProviderError`] says.
#[derive(Debug, Clone)]
struct Inner {
    provider: Cow<'static, str>,
    kind: ProviderErrorKind,
    status: Option<u16>,
    message: String,
    /// A `Retry-After` sent with an error other than a rate limit, such as 503 or 529.
    retry_after: Option<Duration>,
    /// The tokens the provider reported before the call failed.
    usage: Option<Usage>,
    source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl fmt::Debug for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Inner {
            provider,
            kind,
            status,
            message,
            retry_after,
            usage,
            source,
        } = &*self.inner;
        f.debug_struct("ProviderError")
            .field("provider", provider)
            .field("kind", kind)
            .field("status", status)
            .field("message", message)
            .field("retry_after", retry_after)
            .field("usage", usage)
            .field("source", source)
            .finish()
    }
}

impl ProviderError {
    /// An error of `kind` from the provider named `provider`, with a message.
    pub fn new(
        provider: impl Into<Cow<'static, str>>,
        kind: ProviderErrorKind,
        message: impl Into<String>,
    ) -> Self {
        ProviderError {
            inner: Box::new(Inner {
                provider: provider.into(),
                kind,
                status: None,
                message: message.into(),
                retry_after: None,
                usage: None,
                source: None,
            }),
        }
    }

    /// Records the HTTP status of the response.
    pub fn with_status(mut self, status: u16) -> Self {
        self.inner.status = Some(status);
        self
    }

    /// Records how long the provider asked to wait before trying again, as a 503 or a 529
    /// (overloaded) may. The wait of a rate limit is held by its kind,
    /// [`ProviderErrorKind::RateLimited`].
    pub fn with_retry_after(mut self, wait: Option<Duration>) -> Self {
        self.inner.retry_after = wait;
        self
    }

    /// Records that the call had used `usage` when it failed: what the provider reported
    /// before a stream broke, or in a response that held no answer. An agent counts it in the
    /// run's [`Ledger`](crate::usage::Ledger) and budget, as it counts the usage of a call that
    /// succeeds.
    pub fn with_usage(mut self, usage: Usage) -> Self {
        self.inner.usage = Some(usage);
        self
    }

    /// Records the lower-level error that caused this one, returned by
    /// [`source`](std::error::Error::source).
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.inner.source = Some(Arc::new(source));
        self
    }

    /// The name of the provider, such as `openai`.
    pub fn provider(&self) -> &str {
        &self.inner.provider
    }

    /// Why the call failed.
    pub fn kind(&self) -> ProviderErrorKind {
        self.inner.kind
    }

    /// The HTTP status of the response, if there was one.
    pub fn status(&self) -> Option<u16> {
        self.inner.status
    }

    /// The provider's message, or ours.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// How long the provider asked to wait before trying again, if it said: the wait of a
    /// [`RateLimited`](ProviderErrorKind::RateLimited) kind, or one recorded with
    /// [`with_retry_after`](Self::with_retry_after). Providers retry after it rather than their
    /// own backoff.
    pub fn retry_after(&self) -> Option<Duration> {
        match self.inner.kind {
            ProviderErrorKind::RateLimited { retry_after } => retry_after,
            _ => self.inner.retry_after,
        }
    }

    /// The tokens the call had used when it failed, if the provider reported any: see
    /// [`with_usage`](Self::with_usage).
    pub fn usage(&self) -> Option<Usage> {
        self.inner.usage
    }

    /// Whether the same request may succeed if tried again: see
    /// [`ProviderErrorKind::is_transient`].
    pub fn is_transient(&self) -> bool {
        self.inner.kind.is_transient()
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.inner.provider, self.inner.kind)?;
        if let Some(status) = self.inner.status {
            write!(f, " (http {status})")?;
        }
        if !self.inner.message.is_empty() {
            write!(f, ": {}", self.inner.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ProviderError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}
