//! [`ModelConfig`]: which chat model to use, read from the environment, and [`from_env`].

use std::fmt;
use std::sync::Arc;

use super::secret::redact_userinfo;
use super::{Anthropic, ApiKey, ChatModel, OpenAi, StructuredOutput};
use crate::Error;

mod env;
mod error;

pub use error::ConfigError;

/// The chat model configured by the environment, built: `ModelConfig::from_env()?.build()`.
///
/// See [`ModelConfig`] for the variables it reads. To fall back to something else when nothing
/// is configured, call [`ModelConfig::from_env`] and match [`ConfigError::NotConfigured`].
///
/// ```no_run
/// use workflow_runtime::provider::from_env;
/// use workflow_runtime::Agent;
///
/// # async fn demo() -> Result<(), workflow_runtime::Error> {
/// let agent = Agent::builder(from_env()?).name("writer").build();
/// println!("{}", agent.prompt("Say hi.").await?);
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// [`Error::Provider`] of kind [`ProviderErrorKind::Config`](super::ProviderErrorKind::Config)
/// if the environment configures no model or a wrong one (its message says what to set, its
/// source is the [`ConfigError`]), or if the provider cannot be built.
pub fn from_env() -> Result<Arc<dyn ChatModel>, Error> {
    ModelConfig::from_env()?.build()
}

/// Which chat model to use: a provider, its endpoint, the model, the key, and what varies
/// between servers. Read it from the environment with [`from_env`](Self::from_env), then
/// [`build`](Self::build) it.
///
/// | variable | meaning |
/// |---|---|
/// | `OPENAI_BASE_URL` | an OpenAI-compatible endpoint, such as `http://localhost:11434/v1` (Ollama); [`OPENAI_BASE_URL`](Self::OPENAI_BASE_URL) if unset |
/// | `OPENAI_API_KEY` | its key; optional for a server other than OpenAI's |
/// | `OPENAI_MODEL` | the model; [`OPENAI_MODEL`](Self::OPENAI_MODEL) for OpenAI's endpoint, required for others |
/// | `OPENAI_STRUCTURED_OUTPUT` | `json_schema` (default) or `json_object_schema`: see [`StructuredOutput`] |
/// | `ANTHROPIC_API_KEY` | Anthropic's key |
/// | `ANTHROPIC_MODEL` | the model; [`ANTHROPIC_MODEL`](Self::ANTHROPIC_MODEL) if unset |
/// | `ANTHROPIC_BASE_URL` | another endpoint for the Messages API (a proxy); [`Anthropic::DEFAULT_BASE_URL`] if unset |
/// | `GENAI_MODEL` | with the feature `genai`: a model as the `genai` crate names it (`gemini-2.0-flash`, `groq::llama-3.1-8b-instant`, `ollama::llama3.2`), its key in the provider's own variable (`GEMINI_API_KEY`, `GROQ_API_KEY`, …); see `Genai` |
/// | `GENAI_BASE_URL` | another endpoint for that model's provider (a self-hosted server, a proxy) |
///
/// `GENAI_MODEL` comes first: when it is set, the other variables choose nothing (a build
/// without the feature `genai` refuses it with [`ConfigError::FeatureOff`]).
/// Otherwise an OpenAI-compatible endpoint is used when `OPENAI_BASE_URL` or `OPENAI_API_KEY` is set,
/// otherwise Anthropic when `ANTHROPIC_API_KEY` is; with both keys set, unset one for a
/// command (`OPENAI_API_KEY= cargo run …`: empty counts as unset). OpenAI's own endpoint gets
/// [`max_completion_tokens`](super::OpenAiBuilder::max_completion_tokens), which all its
/// models accept and its reasoning models require.
///
/// ```
/// use std::collections::HashMap;
/// use workflow_runtime::provider::{ModelConfig, StructuredOutput};
///
/// // What `scripts/local-model.sh` prints for its llama.cpp server.
/// let env = HashMap::from([
///     ("OPENAI_BASE_URL", "http://127.0.0.1:8089/v1"),
///     ("OPENAI_MODEL", "smollm2-135m-instruct"),
///     ("OPENAI_STRUCTURED_OUTPUT", "json_object_schema"),
/// ]);
/// let config = ModelConfig::from_lookup(|name| env.get(name).map(|value| value.to_string()))?;
/// assert_eq!(config, ModelConfig::llama_cpp("http://127.0.0.1:8089/v1", "smollm2-135m-instruct"));
/// assert_eq!(config.to_string(), "smollm2-135m-instruct at http://127.0.0.1:8089/v1");
/// let model = config.build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub enum ModelConfig {
    /// An OpenAI-compatible chat-completions endpoint: see [`OpenAi`].
    #[non_exhaustive]
    OpenAi {
        /// The base URL, such as `https://api.openai.com/v1`.
        base_url: String,
        /// The model.
        model: String,
        /// The key, if the server needs one.
        api_key: Option<ApiKey>,
        /// How the server wants a response schema.
        structured_output: StructuredOutput,
        /// Whether the token limit is sent as `max_completion_tokens`.
        max_completion_tokens: bool,
    },
    /// Anthropic's Messages API: see [`Anthropic`].
    #[non_exhaustive]
    Anthropic {
        /// The base URL, [`Anthropic::DEFAULT_BASE_URL`] unless a proxy's.
        base_url: String,
        /// The model.
        model: String,
        /// The key.
        api_key: ApiKey,
    },
    /// A model of any provider the `genai` crate speaks: see
    /// [`Genai`](super::Genai). Feature `genai`.
    #[cfg(feature = "genai")]
    #[non_exhaustive]
    Genai {
        /// The model, as `genai` names it; it chooses the provider.
        model: String,
        /// Another endpoint for the model's provider, if set.
        base_url: Option<String>,
    },
}

impl ModelConfig {
    /// OpenAI's endpoint: the `OPENAI_BASE_URL` when only `OPENAI_API_KEY` is set.
    pub const OPENAI_BASE_URL: &'static str = "https://api.openai.com/v1";

    /// The model used on OpenAI's endpoint when `OPENAI_MODEL` is unset.
    pub const OPENAI_MODEL: &'static str = "gpt-4o-mini";

    /// The model used when `ANTHROPIC_MODEL` is unset.
    pub const ANTHROPIC_MODEL: &'static str = "claude-haiku-4-5";

    /// The configuration in the process environment: see the [table](Self) of variables.
    ///
    /// # Errors
    ///
    /// [`ConfigError::NotConfigured`] if no provider is configured; another [`ConfigError`] if
    /// one is, but a variable it needs is missing or wrong.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The configuration in the variables `lookup` returns (`None` for unset): what
    /// [`from_env`](Self::from_env) reads, from elsewhere. Values are trimmed; empty ones count
    /// as unset.
    ///
    /// # Errors
    ///
    /// Those of [`from_env`](Self::from_env).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        env::read(&env::Vars::new(lookup))
    }

    /// A llama.cpp server at `base_url`, serving `model`: no key, and
    /// [`StructuredOutput::JsonObjectSchema`], the dialect of `llama-cpp-python`
    /// (`python -m llama_cpp.server`), which the node-llama-cpp server of
    /// `scripts/local-model.sh` accepts too.
    pub fn llama_cpp(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        ModelConfig::OpenAi {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            structured_output: StructuredOutput::JsonObjectSchema,
            max_completion_tokens: false,
        }
    }

    /// The model's name.
    pub fn model(&self) -> &str {
        match self {
            ModelConfig::OpenAi { model, .. } | ModelConfig::Anthropic { model, .. } => model,
            #[cfg(feature = "genai")]
            ModelConfig::Genai { model, .. } => model,
        }
    }

    /// The provider, with the defaults of [`OpenAi::builder`] or [`Anthropic::builder`] (or
    /// `Genai::builder`) for what the configuration does not say (timeouts, retries).
    ///
    /// # Errors
    ///
    /// [`Error::Provider`] of kind [`ProviderErrorKind::Config`](super::ProviderErrorKind::Config)
    /// if the base URL is not a URL or the key cannot go in an HTTP header.
    pub fn build(&self) -> Result<Arc<dyn ChatModel>, Error> {
        Ok(match self.clone() {
            ModelConfig::OpenAi {
                base_url,
                model,
                api_key,
                structured_output,
                max_completion_tokens,
            } => {
                let mut builder = OpenAi::builder(base_url, model)
                    .structured_output(structured_output)
                    .max_completion_tokens(max_completion_tokens);
                if let Some(key) = api_key {
                    builder = builder.api_key(key);
                }
                Arc::new(builder.build()?)
            }
            ModelConfig::Anthropic {
                base_url,
                model,
                api_key,
            } => Arc::new(
                Anthropic::builder(api_key, model)
                    .base_url(base_url)
                    .build()?,
            ),
            #[cfg(feature = "genai")]
            ModelConfig::Genai { model, base_url } => {
                let mut builder = super::Genai::builder(model);
                if let Some(base_url) = base_url {
                    builder = builder.base_url(base_url);
                }
                Arc::new(builder.build()?)
            }
        })
    }
}

/// Neither the key nor the userinfo of the base URL shows.
impl fmt::Debug for ModelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelConfig::OpenAi {
                base_url,
                model,
                api_key,
                structured_output,
                max_completion_tokens,
            } => f
                .debug_struct("OpenAi")
                .field("base_url", &redact_userinfo(base_url))
                .field("model", model)
                .field("api_key", api_key)
                .field("structured_output", structured_output)
                .field("max_completion_tokens", max_completion_tokens)
                .finish(),
            ModelConfig::Anthropic {
                base_url,
                model,
                api_key,
            } => f
                .debug_struct("Anthropic")
                .field("base_url", &redact_userinfo(base_url))
                .field("model", model)
                .field("api_key", api_key)
                .finish(),
            #[cfg(feature = "genai")]
            ModelConfig::Genai { model, base_url } => f
                .debug_struct("Genai")
                .field("model", model)
                .field("base_url", &base_url.as_deref().map(redact_userinfo))
                .finish(),
        }
    }
}

/// `{model} at {base_url}`, or `{model} (anthropic)` on Anthropic's own endpoint. Never the key,
/// nor the userinfo of the base URL.
impl fmt::Display for ModelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelConfig::Anthropic {
                base_url, model, ..
            } if base_url == Anthropic::DEFAULT_BASE_URL => write!(f, "{model} (anthropic)"),
            ModelConfig::OpenAi {
                base_url, model, ..
            }
            | ModelConfig::Anthropic {
                base_url, model, ..
            } => write!(f, "{model} at {}", redact_userinfo(base_url)),
            #[cfg(feature = "genai")]
            ModelConfig::Genai {
                model,
                base_url: None,
            } => write!(f, "{model} (genai)"),
            #[cfg(feature = "genai")]
            ModelConfig::Genai {
                model,
                base_url: Some(base_url),
            } => write!(f, "{model} (genai) at {}", redact_userinfo(base_url)),
        }
    }
}
