//! [`Endpoint`]: one URL that a provider POSTs JSON to, with its headers, timeout and retries.

use std::time::Duration;

use reqwest::header::{HeaderMap, ACCEPT, CONTENT_TYPE};

use super::{Caller, Retries};
use crate::provider::secret::redact_userinfo;
use crate::provider::{ProviderError, ProviderErrorKind};

/// Where a provider sends its requests and how: the URL, the headers of every request (the key
/// among them, marked sensitive), the timeout of an attempt, and the retries.
pub(crate) struct Endpoint {
    pub(crate) caller: Caller,
    pub(crate) url: reqwest::Url,
    headers: HeaderMap,
    pub(crate) timeout: Duration,
    pub(crate) retries: Retries,
    client: reqwest::Client,
}

impl Endpoint {
    /// An endpoint at `base_url` followed by `path` (a trailing `/` of the base is dropped),
    /// sending `headers` with every request. The credentials of the URL's userinfo are
    /// scrubbed from error messages like the key.
    ///
    /// # Errors
    ///
    /// A [`ProviderErrorKind::Config`] error if the base URL is not a URL or the HTTP client
    /// cannot start.
    pub(crate) fn new(
        mut caller: Caller,
        base_url: &str,
        path: &str,
        headers: HeaderMap,
        timeout: Duration,
        retries: Retries,
    ) -> Result<Self, ProviderError> {
        let url = join(&caller, base_url, path)?;
        caller.guard_userinfo(&url);
        let client = reqwest::Client::builder()
            .connect_timeout(timeout)
            .build()
            .map_err(|error| {
                let message = "could not start the http client";
                caller
                    .error(ProviderErrorKind::Config, message)
                    .with_source(error)
            })?;
        Ok(Endpoint {
            caller,
            url,
            headers,
            timeout,
            retries,
            client,
        })
    }

    /// POSTs `body` and returns the whole response body, retrying transient failures.
    ///
    /// # Errors
    ///
    /// The error of the last attempt: a failing status, a timeout, a broken connection.
    pub(crate) async fn call(&self, body: &[u8]) -> Result<Vec<u8>, ProviderError> {
        self.retries.run(|| self.attempt(body)).await
    }

    /// POSTs `body` asking for a stream and returns the response once it starts, retrying
    /// transient failures until then. The body is left to the caller, which bounds each read
    /// by [`timeout`](Self::timeout).
    ///
    /// # Errors
    ///
    /// The error of the last attempt: a failing status, no response in time, a broken
    /// connection.
    pub(crate) async fn open_stream(
        &self,
        body: &[u8],
    ) -> Result<reqwest::Response, ProviderError> {
        self.retries.run(|| self.start_stream(body)).await
    }

    /// GETs `url` (another path of the same server, made with [`join`]) with the endpoint's
    /// headers, and returns the whole response body, retrying transient failures.
    ///
    /// # Errors
    ///
    /// The error of the last attempt: a failing status, a timeout, a broken connection.
    pub(crate) async fn get(&self, url: &reqwest::Url) -> Result<Vec<u8>, ProviderError> {
        self.retries
            .run(|| async {
                let request = self.client.get(url.clone()).headers(self.headers.clone());
                let response = self.execute(request.timeout(self.timeout)).await?;
                let bytes = response.bytes().await;
                bytes
                    .map(Vec::from)
                    .map_err(|error| self.caller.transport_error(error))
            })
            .await
    }

    /// One non-streamed attempt: the response body.
    async fn attempt(&self, body: &[u8]) -> Result<Vec<u8>, ProviderError> {
        let response = self.send(body, false).await?;
        let bytes = response.bytes().await;
        bytes
            .map(Vec::from)
            .map_err(|error| self.caller.transport_error(error))
    }

    /// One streamed attempt, until the response starts.
    async fn start_stream(&self, body: &[u8]) -> Result<reqwest::Response, ProviderError> {
        match tokio::time::timeout(self.timeout, self.send(body, true)).await {
            Ok(result) => result,
            Err(_) => {
                let message = format!("no response within {:?}", self.timeout);
                Err(self.caller.error(ProviderErrorKind::Timeout, &message))
            }
        }
    }

    /// Sends one attempt; a response with a failing status is an error.
    async fn send(&self, body: &[u8], stream: bool) -> Result<reqwest::Response, ProviderError> {
        let mut request = self
            .client
            .post(self.url.clone())
            .headers(self.headers.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_vec());
        request = match stream {
            true => request.header(ACCEPT, "text/event-stream"),
            false => request.timeout(self.timeout),
        };
        self.execute(request).await
    }

    /// Sends `request`; a response with a failing status is an error.
    async fn execute(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ProviderError> {
        let response = request
            .send()
            .await
            .map_err(|error| self.caller.transport_error(error))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let headers = response.headers().clone();
        let body = response.bytes().await.unwrap_or_default();
        Err(self.caller.status_error(status.as_u16(), &headers, &body))
    }
}

/// `base_url` followed by `path` (a trailing `/` of the base is dropped), as a URL.
///
/// # Errors
///
/// A [`ProviderErrorKind::Config`] error if that is not an `http` or `https` URL. The message
/// quotes `base_url` without its userinfo.
pub(crate) fn join(
    caller: &Caller,
    base_url: &str,
    path: &str,
) -> Result<reqwest::Url, ProviderError> {
    let url = format!("{}{path}", base_url.trim_end_matches('/'));
    let invalid = |reason: &dyn std::fmt::Display| {
        let base_url = redact_userinfo(base_url);
        let message = format!("invalid base url `{base_url}`: {reason}");
        caller.error(ProviderErrorKind::Config, &message)
    };
    let url = reqwest::Url::parse(&url).map_err(|error| invalid(&error))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        _ => Err(invalid(&"it must start with `http://` or `https://`")),
    }
}
