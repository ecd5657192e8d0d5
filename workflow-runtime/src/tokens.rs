//! [`Usage`]: the tokens of one model call.

use std::ops::{Add, AddAssign};

use serde::{Deserialize, Serialize};

/// The tokens a call used. Cached tokens are part of the input tokens, reasoning tokens part of
/// the output tokens. Usages add up:
///
/// ```
/// use workflow_runtime::provider::Usage;
///
/// let mut total = Usage::new(100, 20);
/// total += Usage::new(80, 10).with_cached(64);
/// assert_eq!(total, Usage::new(180, 30).with_cached(64));
/// assert_eq!((total.total_tokens(), total.cached_tokens), (210, 64));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Usage {
    /// Tokens of the prompt.
    pub input_tokens: u64,
    /// Tokens of the answer.
    pub output_tokens: u64,
    /// Prompt tokens read from the provider's cache.
    pub cached_tokens: u64,
    /// Answer tokens spent reasoning.
    pub reasoning_tokens: u64,
}

impl Usage {
    /// A usage of `input` prompt tokens and `output` answer tokens.
    pub const fn new(input: u64, output: u64) -> Self {
        Usage {
            input_tokens: input,
            output_tokens: output,
            cached_tokens: 0,
            reasoning_tokens: 0,
        }
    }

    /// Sets the prompt tokens read from the cache.
    pub const fn with_cached(mut self, cached: u64) -> Self {
        self.cached_tokens = cached;
        self
    }

    /// Sets the answer tokens spent reasoning.
    pub const fn with_reasoning(mut self, reasoning: u64) -> Self {
        self.reasoning_tokens = reasoning;
        self
    }

    /// Input and output tokens together.
    pub const fn total_tokens(&self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }
}

impl Add for Usage {
    type Output = Usage;

    fn add(self, other: Usage) -> Usage {
        Usage {
            input_tokens: self.input_tokens.saturating_add(other.input_tokens),
            output_tokens: self.output_tokens.saturating_add(other.output_tokens),
            cached_tokens: self.cached_tokens.saturating_add(other.cached_tokens),
            reasoning_tokens: self.reasoning_tokens.saturating_add(other.reasoning_tokens),
        }
    }
}

impl AddAssign for Usage {
    fn add_assign(&mut self, other: Usage) {
        *self = *self + other;
    }
}
