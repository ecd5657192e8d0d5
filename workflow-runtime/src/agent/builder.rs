//! [`AgentBuilder`]: how an [`Agent`] is made.

use std::sync::Arc;

use super::{Agent, Inner};
use crate::provider::ChatModel;

/// Builds an [`Agent`]: see [`Agent::builder`]. Every setting is optional.
#[must_use = "call `.build()` to get the agent"]
pub struct AgentBuilder {
    inner: Inner,
}

impl AgentBuilder {
    pub(super) fn new(model: Arc<dyn ChatModel>) -> Self {
        AgentBuilder {
            inner: Inner {
                model,
                name: "agent".to_owned(),
                system: None,
                temperature: None,
                max_tokens: None,
                model_name: None,
            },
        }
    }

    /// The agent's name, used in errors (`agent`, if unset).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.inner.name = name.into();
        self
    }

    /// The system prompt sent with every request.
    pub fn system(mut self, system: impl Into<String>) -> Self {
        self.inner.system = Some(system.into());
        self
    }

    /// The sampling temperature (the provider's default, if unset).
    pub fn temperature(mut self, temperature: f32) -> Self {
        self.inner.temperature = Some(temperature);
        self
    }

    /// The most tokens an answer may have (the provider's default, if unset).
    pub fn max_tokens(mut self, max_tokens: u32) -> Self {
        self.inner.max_tokens = Some(max_tokens);
        self
    }

    /// The model to ask for, instead of the provider's default model.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.inner.model_name = Some(model.into());
        self
    }

    /// The agent.
    pub fn build(self) -> Agent {
        Agent {
            inner: Arc::new(self.inner),
        }
    }
}

impl std::fmt::Debug for AgentBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentBuilder")
            .field("name", &self.inner.name)
            .finish_non_exhaustive()
    }
}
