//! [`BudgetLimit`]: an amount of what a budget limits, as [`Error::BudgetExceeded`](super::Error::BudgetExceeded) names it.

use std::fmt;

/// An amount of one of the things a [`Budget`](crate::usage::Budget) limits: the limit of
/// [`Error::BudgetExceeded`](crate::Error::BudgetExceeded), and what was used.
///
/// ```
/// use workflow_runtime::usage::BudgetLimit;
///
/// assert_eq!(BudgetLimit::Tokens(1_000).to_string(), "1000 tokens");
/// assert_eq!(BudgetLimit::Usd(0.5).to_string(), "$0.500000");
/// assert_eq!(BudgetLimit::Calls(3).to_string(), "3 model calls");
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum BudgetLimit {
    /// Input and output tokens.
    Tokens(u64),
    /// Estimated US dollars.
    Usd(f64),
    /// Model calls.
    Calls(u64),
}

impl fmt::Display for BudgetLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BudgetLimit::Tokens(tokens) => write!(f, "{tokens} tokens"),
            BudgetLimit::Usd(usd) => write!(f, "${usd:.6}"),
            BudgetLimit::Calls(calls) => write!(f, "{calls} model calls"),
        }
    }
}
