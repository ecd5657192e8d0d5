//! [`ConfigError`]: why no chat model could be configured from the environment.

use std::fmt;

use crate::provider::{ProviderError, ProviderErrorKind};
use crate::Error;

/// Why [`ModelConfig::from_env`](super::ModelConfig::from_env) found no usable configuration.
/// Its message is one line that says what to set. It never holds an API key.
///
/// Into an [`Error`] it becomes an [`Error::Provider`] of kind
/// [`ProviderErrorKind::Config`], with the same message and this error as its source.
///
/// ```
/// use workflow_runtime::provider::{ConfigError, ModelConfig};
///
/// let error = ModelConfig::from_lookup(|_| None).unwrap_err();
/// assert_eq!(error, ConfigError::NotConfigured);
/// assert!(error.to_string().starts_with("no chat model configured; set OPENAI_API_KEY"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// None of the variables that choose a provider is set.
    NotConfigured,
    /// A variable that the others make necessary is not set.
    Missing {
        /// The variable to set, such as `OPENAI_MODEL`.
        var: &'static str,
        /// What to set it to, and why.
        help: &'static str,
    },
    /// A variable has a value that is not one it can have.
    Invalid {
        /// The variable, such as `OPENAI_STRUCTURED_OUTPUT`.
        var: &'static str,
        /// Its value.
        value: String,
        /// The values it can have.
        expected: &'static str,
    },
    /// A variable asks for a provider this build does not have: its cargo feature is off.
    FeatureOff {
        /// The variable, such as `GENAI_MODEL`.
        var: &'static str,
        /// The feature that brings the provider, such as `genai`.
        feature: &'static str,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::NotConfigured => f.write_str(
                "no chat model configured; set OPENAI_API_KEY (OpenAI), ANTHROPIC_API_KEY \
                 (Anthropic), or OPENAI_BASE_URL and OPENAI_MODEL (any OpenAI-compatible \
                 server, such as a local one), or GENAI_MODEL (any provider of the `genai` \
                 crate, with the cargo feature `genai`)",
            ),
            ConfigError::Missing { var, help } => write!(f, "{var} is not set; {help}"),
            ConfigError::Invalid {
                var,
                value,
                expected,
            } => write!(f, "{var} is `{value}`; set it to {expected}"),
            ConfigError::FeatureOff { var, feature } => write!(
                f,
                "{var} is set, but this build has no `{feature}` provider; enable the cargo \
                 feature `{feature}`, or unset {var}"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

impl From<ConfigError> for ProviderError {
    fn from(error: ConfigError) -> Self {
        let message = error.to_string();
        ProviderError::new("env", ProviderErrorKind::Config, message).with_source(error)
    }
}

impl From<ConfigError> for Error {
    fn from(error: ConfigError) -> Self {
        Error::Provider(error.into())
    }
}
