//! [`Pricing`]: what models cost, to estimate the cost of calls in USD.

use std::collections::BTreeMap;

use super::Usage;

/// The price of one model, in US dollars per million tokens.
///
/// Cached input tokens are billed at [`cached_input`](Self::cached_input) and the other input
/// tokens at [`input`](Self::input); reasoning tokens are output tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[non_exhaustive]
pub struct Price {
    /// USD per million input tokens not read from the cache.
    pub input: f64,
    /// USD per million input tokens read from the provider's cache.
    pub cached_input: f64,
    /// USD per million output tokens, reasoning tokens included.
    pub output: f64,
}

impl Price {
    /// `input` and `output` USD per million tokens; cached input at the full input price.
    pub const fn new(input: f64, output: f64) -> Self {
        Price {
            input,
            cached_input: input,
            output,
        }
    }

    /// Sets the price of cached input tokens, in USD per million.
    pub const fn with_cached_input(mut self, cached_input: f64) -> Self {
        self.cached_input = cached_input;
        self
    }

    /// The estimated cost of `usage`, in USD.
    pub fn cost(&self, usage: &Usage) -> f64 {
        let cached = usage.cached_tokens.min(usage.input_tokens);
        let uncached = usage.input_tokens - cached;
        (uncached as f64 * self.input
            + cached as f64 * self.cached_input
            + usage.output_tokens as f64 * self.output)
            / 1_000_000.0
    }
}

/// The prices of models, by model name, with an optional default: what the cost of a run is
/// estimated from.
///
/// A call is priced by the name of the model that answered
/// ([`ChatResponse::model`](crate::provider::ChatResponse::model)), or the one the agent asked
/// for if the provider did not say. The entry for that exact name is used; failing that, the
/// longest entry the name starts with (so `gpt-4o-mini` also prices `gpt-4o-mini-2024-07-18`);
/// failing that, the default. A model with no price costs nothing. The prices are yours to
/// keep current: none are built in.
///
/// ```
/// use workflow_runtime::provider::Usage;
/// use workflow_runtime::usage::{Price, Pricing};
///
/// let pricing = Pricing::new()
///     .model("gpt-4o", Price::new(2.50, 10.00).with_cached_input(1.25))
///     .model("gpt-4o-mini", Price::new(0.15, 0.60))
///     .default_price(Price::new(1.00, 2.00));
///
/// let usage = Usage::new(1_000_000, 100_000).with_cached(400_000);
/// // 600k input at $2.50/M, 400k cached at $1.25/M, 100k output at $10/M.
/// assert!((pricing.cost("gpt-4o-2024-08-06", &usage) - 3.0).abs() < 1e-9);
/// assert_eq!(pricing.price("gpt-4o-mini-2024-07-18"), Some(Price::new(0.15, 0.60)));
/// assert_eq!(pricing.price("llama3"), Some(Price::new(1.00, 2.00)));
/// assert_eq!(Pricing::new().cost("llama3", &usage), 0.0);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pricing {
    models: BTreeMap<String, Price>,
    default: Option<Price>,
}

impl Pricing {
    /// An empty table: every call costs nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Prices the model named `name` (and the models whose names start with it).
    pub fn model(mut self, name: impl Into<String>, price: Price) -> Self {
        self.models.insert(name.into(), price);
        self
    }

    /// Prices the models that have no entry of their own.
    pub fn default_price(mut self, price: Price) -> Self {
        self.default = Some(price);
        self
    }

    /// The price of the model named `model`: its own entry, the longest entry it starts with,
    /// or the default.
    pub fn price(&self, model: &str) -> Option<Price> {
        if let Some(price) = self.models.get(model) {
            return Some(*price);
        }
        let prefix = self
            .models
            .iter()
            .filter(|(name, _)| !name.is_empty() && model.starts_with(name.as_str()))
            .max_by_key(|(name, _)| name.len());
        prefix.map(|(_, price)| *price).or(self.default)
    }

    /// The estimated cost of `usage` on the model named `model`, in USD: 0 if it has no price.
    pub fn cost(&self, model: &str, usage: &Usage) -> f64 {
        self.price(model).map_or(0.0, |price| price.cost(usage))
    }
}
