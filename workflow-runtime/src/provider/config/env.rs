//! Reading a [`ModelConfig`] from environment variables.

use super::{ConfigError, ModelConfig};
use crate::provider::{Anthropic, ApiKey, StructuredOutput};

/// Environment variables, through a lookup function; empty values count as unset.
pub(super) struct Vars<F> {
    lookup: F,
}

impl<F: Fn(&str) -> Option<String>> Vars<F> {
    pub(super) fn new(lookup: F) -> Self {
        Vars { lookup }
    }

    /// The trimmed value of `name`, if it is set and not blank.
    fn get(&self, name: &str) -> Option<String> {
        let value = (self.lookup)(name)?;
        let value = value.trim();
        (!value.is_empty()).then(|| value.to_owned())
    }
}

/// The configuration the variables describe: see [`ModelConfig`].
pub(super) fn read<F: Fn(&str) -> Option<String>>(
    vars: &Vars<F>,
) -> Result<ModelConfig, ConfigError> {
    if let Some(model) = vars.get("GENAI_MODEL") {
        return genai(vars, model);
    }
    let base_url = vars.get("OPENAI_BASE_URL");
    let openai_key = vars.get("OPENAI_API_KEY").map(ApiKey::new);
    if base_url.is_some() || openai_key.is_some() {
        return openai(vars, base_url, openai_key);
    }
    if let Some(key) = vars.get("ANTHROPIC_API_KEY") {
        return Ok(ModelConfig::Anthropic {
            base_url: vars
                .get("ANTHROPIC_BASE_URL")
                .unwrap_or_else(|| Anthropic::DEFAULT_BASE_URL.to_owned()),
            model: vars
                .get("ANTHROPIC_MODEL")
                .unwrap_or_else(|| ModelConfig::ANTHROPIC_MODEL.to_owned()),
            api_key: ApiKey::new(key),
        });
    }
    Err(ConfigError::NotConfigured)
}

/// An OpenAI-compatible endpoint: OpenAI's unless `base_url` says otherwise.
fn openai<F: Fn(&str) -> Option<String>>(
    vars: &Vars<F>,
    base_url: Option<String>,
    api_key: Option<ApiKey>,
) -> Result<ModelConfig, ConfigError> {
    let base_url = base_url.unwrap_or_else(|| ModelConfig::OPENAI_BASE_URL.to_owned());
    let is_openai = base_url.trim_end_matches('/') == ModelConfig::OPENAI_BASE_URL;
    if is_openai && api_key.is_none() {
        return Err(ConfigError::Missing {
            var: "OPENAI_API_KEY",
            help: "OpenAI's endpoint needs a key (or set OPENAI_BASE_URL to another server)",
        });
    }
    let model = match vars.get("OPENAI_MODEL") {
        Some(model) => model,
        None if is_openai => ModelConfig::OPENAI_MODEL.to_owned(),
        None => {
            return Err(ConfigError::Missing {
                var: "OPENAI_MODEL",
                help: "set it to a model the server at OPENAI_BASE_URL serves",
            })
        }
    };
    let structured_output = match vars.get("OPENAI_STRUCTURED_OUTPUT") {
        None => StructuredOutput::default(),
        Some(name) => StructuredOutput::from_name(&name).ok_or(ConfigError::Invalid {
            var: "OPENAI_STRUCTURED_OUTPUT",
            value: name,
            expected: "`json_schema` (the default) or `json_object_schema` (llama-cpp-python)",
        })?,
    };
    Ok(ModelConfig::OpenAi {
        base_url,
        model,
        api_key,
        structured_output,
        max_completion_tokens: is_openai,
    })
}

/// A model of any provider `genai` speaks, its keys from the provider's own variables.
#[cfg(feature = "genai")]
fn genai<F: Fn(&str) -> Option<String>>(
    vars: &Vars<F>,
    model: String,
) -> Result<ModelConfig, ConfigError> {
    Ok(ModelConfig::Genai {
        model,
        base_url: vars.get("GENAI_BASE_URL"),
    })
}

/// `GENAI_MODEL` in a build without the `genai` provider: refused, rather than silently
/// using another provider.
#[cfg(not(feature = "genai"))]
fn genai<F: Fn(&str) -> Option<String>>(
    _vars: &Vars<F>,
    _model: String,
) -> Result<ModelConfig, ConfigError> {
    Err(ConfigError::FeatureOff {
        var: "GENAI_MODEL",
        feature: "genai",
    })
}
