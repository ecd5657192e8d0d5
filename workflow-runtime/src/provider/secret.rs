//! [`ApiKey`]: a secret that never prints.

use std::fmt;
use std::sync::Arc;

/// An API key. Its `Debug` and `Display` print `[redacted]`, never the key, so a key cannot leak
/// through a log line, an error message or a `{:?}` of the provider that holds it.
///
/// ```
/// use workflow_runtime::provider::ApiKey;
///
/// let key = ApiKey::new("sk-canary");
/// assert_eq!(format!("{key} {key:?}"), "[redacted] ApiKey([redacted])");
/// assert_eq!(key.expose_secret(), "sk-canary");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(Arc<str>);

impl ApiKey {
    /// Wraps `key`.
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(Arc::from(key.into()))
    }

    /// The key in environment variable `name`, if it is set and not empty.
    pub fn from_env(name: &str) -> Option<Self> {
        std::env::var(name)
            .ok()
            .filter(|key| !key.trim().is_empty())
            .map(|key| ApiKey::new(key.trim()))
    }

    /// The key itself, to put into a request header. Nothing else should read it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// `text` with every occurrence of the key replaced by `[redacted]`: for messages a server
    /// sends back, which may quote the key.
    #[cfg(feature = "http")]
    pub(crate) fn scrub(&self, text: &str) -> String {
        if self.0.is_empty() {
            text.to_owned()
        } else {
            text.replace(&*self.0, "[redacted]")
        }
    }
}

impl From<String> for ApiKey {
    fn from(key: String) -> Self {
        ApiKey::new(key)
    }
}

impl From<&str> for ApiKey {
    fn from(key: &str) -> Self {
        ApiKey::new(key)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}
