//! What HTTP providers share: errors from statuses, bodies and transport failures, the
//! `Retry-After` header, retries with backoff, and the [`Endpoint`] that sends requests.

use std::borrow::Cow;
use std::future::Future;
use std::time::{Duration, SystemTime};

use backon::{ExponentialBuilder, Retryable};
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::Value;

use super::{ApiKey, ProviderError, ProviderErrorKind};
use crate::policy;

mod endpoint;

pub(crate) use endpoint::{join, Endpoint};

/// Who is calling: the provider's name for errors, and the secrets to scrub from messages.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub(crate) name: Cow<'static, str>,
    pub(crate) api_key: Option<ApiKey>,
    /// The credentials in the base URL's userinfo, also scrubbed from messages.
    userinfo: Vec<ApiKey>,
}

impl Caller {
    /// The provider named `name`, calling with `api_key`.
    pub(crate) fn new(name: Cow<'static, str>, api_key: Option<ApiKey>) -> Self {
        Caller {
            name,
            api_key,
            userinfo: Vec::new(),
        }
    }

    /// Also scrubs the credentials in the userinfo of `url` from messages: the password, or
    /// the user name when there is no password (a key given as `https://KEY@host`). Both as
    /// written in the URL and percent-decoded.
    pub(crate) fn guard_userinfo(&mut self, url: &reqwest::Url) {
        let secret = match url.password() {
            Some(password) if !password.is_empty() => password,
            _ => url.username(),
        };
        if secret.is_empty() {
            return;
        }
        let decoded = percent_decode(secret);
        if decoded != secret {
            self.userinfo.push(ApiKey::new(decoded));
        }
        self.userinfo.push(ApiKey::new(secret));
    }

    /// `text` as an error message: trimmed, every secret scrubbed from it, then cut to at most
    /// 500 characters, with no start of a secret left at the cut.
    fn message(&self, text: &str) -> String {
        let secrets = || self.api_key.iter().chain(&self.userinfo);
        let mut text = text.trim().to_owned();
        for secret in secrets() {
            text = secret.scrub(&text);
        }
        if let Some((end, _)) = text.char_indices().nth(MESSAGE_CHARS) {
            text.truncate(end);
            for secret in secrets() {
                secret.trim_cut(&mut text);
            }
            text.push('…');
        }
        text
    }

    /// An error of `kind` with `message`, the secrets scrubbed from it, cut if it is long.
    pub(crate) fn error(&self, kind: ProviderErrorKind, message: &str) -> ProviderError {
        ProviderError::new(self.name.clone(), kind, self.message(message))
    }

    /// The key as a header value after `prefix` (such as `Bearer `), marked sensitive so that
    /// it never prints; `None` without a key.
    pub(crate) fn key_header(&self, prefix: &str) -> Result<Option<HeaderValue>, ProviderError> {
        let Some(key) = &self.api_key else {
            return Ok(None);
        };
        let mut value = HeaderValue::from_str(&format!("{prefix}{}", key.expose_secret()))
            .map_err(|_| {
                let message = "the api key has characters not allowed in a header";
                self.error(ProviderErrorKind::Config, message)
            })?;
        value.set_sensitive(true);
        Ok(Some(value))
    }

    /// The error for a response with a failing `status`, from its headers and body.
    pub(crate) fn status_error(
        &self,
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
    ) -> ProviderError {
        let details = ErrorDetails::from_body(body);
        let kind = match status {
            429 if details.is_quota() => ProviderErrorKind::QuotaExhausted,
            429 => ProviderErrorKind::RateLimited {
                retry_after: retry_after(headers),
            },
            500 if details.is_request_validation() => ProviderErrorKind::BadRequest,
            _ => kind_of_status(status),
        };
        let error = self.error(kind, &details.message).with_status(status);
        match kind {
            ProviderErrorKind::Server => error.with_retry_after(retry_after(headers)),
            _ => error,
        }
    }

    /// The error for an `{"error": …}` payload received with HTTP 200, such as an error event
    /// in a stream; of kind `default` unless its `type` or `code` says more.
    pub(crate) fn payload_error(&self, error: &Value, default: ProviderErrorKind) -> ProviderError {
        let details = ErrorDetails::from_value(error);
        let kind = details.kind().unwrap_or(default);
        self.error(kind, &details.message)
    }

    /// The error for a failed request or body read.
    pub(crate) fn transport_error(&self, error: reqwest::Error) -> ProviderError {
        let (kind, message) = if error.is_timeout() {
            (ProviderErrorKind::Timeout, "no response in time")
        } else if error.is_connect() {
            (ProviderErrorKind::Connection, "could not connect")
        } else if error.is_builder() {
            (ProviderErrorKind::Config, "could not build the request")
        } else if error.is_body() || error.is_decode() {
            (ProviderErrorKind::Connection, "the response body broke off")
        } else {
            (ProviderErrorKind::Connection, "the request failed")
        };
        self.error(kind, message).with_source(error.without_url())
    }
}

/// The kind of error an HTTP status other than 429 means.
fn kind_of_status(status: u16) -> ProviderErrorKind {
    match status {
        401 => ProviderErrorKind::Unauthorized,
        402 => ProviderErrorKind::QuotaExhausted,
        403 => ProviderErrorKind::Forbidden,
        404 => ProviderErrorKind::NotFound,
        408 => ProviderErrorKind::Timeout,
        429 => ProviderErrorKind::RateLimited { retry_after: None },
        400..=499 => ProviderErrorKind::BadRequest,
        500..=599 => ProviderErrorKind::Server,
        _ => ProviderErrorKind::MalformedResponse,
    }
}

/// How long a response asks to wait: `retry-after-ms` (OpenAI, Azure), or `retry-after` in
/// seconds or as an HTTP date (RFC 9110: `Wed, 21 Oct 2015 07:28:00 GMT`; a date already past
/// asks for no wait).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    retry_after_at(headers, SystemTime::now())
}

/// [`retry_after`], reading a date as a wait from `now`.
fn retry_after_at(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = |name: &str| headers.get(name)?.to_str().ok().map(str::trim);
    let seconds = |text: &str| {
        let value = text.parse::<f64>().ok()?;
        (value.is_finite() && value >= 0.0).then_some(value)
    };
    if let Some(ms) = text("retry-after-ms").and_then(seconds) {
        return Duration::try_from_secs_f64(ms / 1000.0).ok();
    }
    let value = text("retry-after")?;
    if let Some(secs) = seconds(value) {
        return Duration::try_from_secs_f64(secs).ok();
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// What an error body says, in the shapes OpenAI-compatible servers use:
/// `{"error": {"message", "type", "code"}}`, `{"error": "…"}`, `{"message": "…"}`, and
/// Anthropic's `{"type": "error", "error": {"type", "message", "details": {"error_code"}}}`.
struct ErrorDetails {
    message: String,
    /// The `type`, `code` and `details.error_code` fields, as text.
    labels: Vec<String>,
}

impl ErrorDetails {
    fn from_body(body: &[u8]) -> Self {
        match serde_json::from_slice::<Value>(body) {
            Ok(value) => Self::from_value(&value),
            Err(_) => ErrorDetails {
                message: String::from_utf8_lossy(body).into_owned(),
                labels: Vec::new(),
            },
        }
    }

    fn from_value(value: &Value) -> Self {
        let error = value.get("error").unwrap_or(value);
        let text = |field: &str| match error.get(field) {
            Some(Value::String(text)) => Some(text.clone()),
            Some(Value::Number(number)) => Some(number.to_string()),
            _ => None,
        };
        let message = match error {
            Value::String(message) => message.clone(),
            _ => text("message").unwrap_or_else(|| value.to_string()),
        };
        let mut labels: Vec<String> = ["type", "code"].into_iter().filter_map(text).collect();
        let details = error
            .get("details")
            .and_then(|details| details.get("error_code"));
        labels.extend(details.and_then(Value::as_str).map(str::to_owned));
        ErrorDetails { message, labels }
    }

    /// Whether a 429 means the quota is spent (OpenAI) or the monthly spend limit reached
    /// (Anthropic), which waiting a few seconds does not fix.
    fn is_quota(&self) -> bool {
        self.labels.iter().any(|label| {
            matches!(
                label.as_str(),
                "insufficient_quota" | "enforced_spend_limit_reached"
            )
        })
    }

    /// Whether a 500 is in fact a rejected request: the server of `llama-cpp-python` answers a
    /// request that fails validation with HTTP 500 and FastAPI's (pydantic's) message,
    /// `1 validation error: {'type': …, 'loc': ('body', …), …}`. Retrying cannot fix it.
    fn is_request_validation(&self) -> bool {
        let message = &self.message;
        let count = message
            .split_once(" validation error")
            .map(|(count, _)| count);
        count.is_some_and(|count| !count.is_empty() && count.bytes().all(|b| b.is_ascii_digit()))
            && message.contains("'loc': ('body'")
    }

    /// The kind the `type` or `code` names, if it names one.
    fn kind(&self) -> Option<ProviderErrorKind> {
        self.labels.iter().find_map(|label| {
            Some(match label.as_str() {
                "insufficient_quota" | "enforced_spend_limit_reached" | "billing_error" => {
                    ProviderErrorKind::QuotaExhausted
                }
                "rate_limit_exceeded" | "rate_limit_error" | "tokens" | "requests" => {
                    ProviderErrorKind::RateLimited { retry_after: None }
                }
                "server_error" | "api_error" | "overloaded_error" => ProviderErrorKind::Server,
                "invalid_request_error" | "context_length_exceeded" | "request_too_large" => {
                    ProviderErrorKind::BadRequest
                }
                "timeout_error" => ProviderErrorKind::Timeout,
                "authentication_error" | "invalid_api_key" => ProviderErrorKind::Unauthorized,
                "permission_error" => ProviderErrorKind::Forbidden,
                "not_found_error" | "model_not_found" => ProviderErrorKind::NotFound,
                number => kind_of_status(number.parse().ok().filter(|n| *n >= 400)?),
            })
        })
    }
}

/// The most characters of an error message: a server's longer message is cut.
const MESSAGE_CHARS: usize = 500;

/// `text` with its `%XX` escapes decoded; invalid ones, and bytes that are not UTF-8, are
/// kept as they are.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let hex = bytes
            .get(at + 1..at + 3)
            .and_then(|hex| std::str::from_utf8(hex).ok());
        let hex = hex.filter(|hex| bytes[at] == b'%' && hex.bytes().all(|b| b.is_ascii_hexdigit()));
        match hex.and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
            Some(byte) => {
                out.push(byte);
                at += 3;
            }
            None => {
                out.push(bytes[at]);
                at += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_owned())
}

/// How long one attempt of an HTTP provider may take unless its builder says otherwise.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// The builder methods that set an HTTP provider's timeout and retries (`timeout`, `retries`,
/// `backoff`, `max_backoff`), for a builder with the fields `timeout: Duration` and
/// `retries: Retries`: one text for every provider's docs.
macro_rules! timeout_and_retry_setters {
    () => {
        /// Bounds each attempt: the whole response of a call, or for a stream, the wait for
        /// the response to start and then for each chunk. 300 s by default.
        pub fn timeout(mut self, timeout: Duration) -> Self {
            self.timeout = timeout;
            self
        }

        /// Retries a transient failure up to `retries` more times; 2 by default.
        ///
        /// A call made in a step whose policy retries (`#[step(retry = N)]`) is tried once:
        /// the step retries it, so that the two budgets do not multiply
        /// ([`StepPolicy::retry`](crate::StepPolicy::retry)).
        pub fn retries(mut self, retries: u32) -> Self {
            self.retries.max = retries;
            self
        }

        /// The delay before the first retry, doubled for each next one, with jitter; 500 ms
        /// by default.
        pub fn backoff(mut self, first: Duration) -> Self {
            self.retries.backoff = first;
            self
        }

        /// The longest delay between two attempts; 30 s by default. A failure whose
        /// `Retry-After` is longer is not retried: the call fails with it, and
        /// [`ProviderError::retry_after`](crate::provider::ProviderError::retry_after) holds
        /// the wait.
        pub fn max_backoff(mut self, max: Duration) -> Self {
            self.retries.max_backoff = max;
            self
        }
    };
}
pub(crate) use timeout_and_retry_setters;

/// How a provider retries transient errors.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Retries {
    /// Retries after the first attempt.
    pub(crate) max: u32,
    /// The delay before the first retry, doubled for each next one, with jitter.
    pub(crate) backoff: Duration,
    /// The longest delay; a `Retry-After` longer than this is not waited for.
    pub(crate) max_backoff: Duration,
}

impl Retries {
    /// What a provider does unless its builder says otherwise: 2 retries, waiting 500 ms,
    /// then twice as long each time, up to 30 s.
    pub(crate) const DEFAULT: Retries = Retries {
        max: 2,
        backoff: Duration::from_millis(500),
        max_backoff: Duration::from_secs(30),
    };

    /// Runs `attempt` until it succeeds, fails with an error that is not transient, or runs out
    /// of retries. An attempt whose server sent `Retry-After` is retried after that wait, or not
    /// at all if it is longer than `max_backoff`.
    ///
    /// In an attempt of a step whose policy retries, `attempt` runs once: the step retries.
    /// Each attempt counts in the call's [`Attempts`](policy::Attempts); each retry is a
    /// `tracing` event `retrying the model call` (`WARN`, target `workflow`), in the span of
    /// the step that makes the call.
    pub(crate) async fn run<T, F, Fut>(&self, mut attempt: F) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        let retries = if policy::retried_by_step() {
            0
        } else {
            self.max
        };
        let max_backoff = self.max_backoff;
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.backoff)
            .with_max_delay(max_backoff)
            .with_max_times(retries as usize)
            .with_jitter();
        let counted = || {
            policy::Attempts::count_one();
            attempt()
        };
        counted
            .retry(backoff)
            .when(ProviderError::is_transient)
            .adjust(move |error, delay| {
                policy::next_delay(delay?, error.retry_after(), max_backoff)
            })
            .notify(|error, delay| {
                let delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
                let provider = error.provider();
                tracing::warn!(target: "workflow", provider, delay_ms, %error, "retrying the model call");
            })
            .await
    }
}

#[cfg(test)]
mod tests;
