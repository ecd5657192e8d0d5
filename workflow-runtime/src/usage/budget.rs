//! [`Budget`]: the most tokens, dollars and model calls a run may spend.

use super::UsageTotals;
use crate::error::BudgetLimit;

/// The most a run may spend on model calls: tokens, estimated USD, calls. Unlimited by default.
///
/// Set it with [`Executor::budget`](crate::Executor::budget). Before each call, the run's
/// spending so far is checked against it; after each call, what the call spent is added and
/// checked again. Either check failing fails the call with
/// [`Error::BudgetExceeded`](crate::Error::BudgetExceeded), which is not transient, so the step
/// is not retried and the run stops. A step that catches the error and carries on does not keep
/// the run going: it stops before its next step.
///
/// Tokens are input plus output tokens ([`Usage::total_tokens`](crate::provider::Usage::total_tokens)).
/// Dollars are estimated from the run's [`Pricing`](super::Pricing): a call whose model has no
/// price costs nothing, so a USD budget needs a pricing table.
///
/// ```
/// use workflow_runtime::usage::{Budget, BudgetLimit};
/// use workflow_runtime::Executor;
///
/// let budget = Budget::new().max_tokens(50_000).max_usd(0.25).max_calls(20);
/// assert_eq!(budget.limits(), [BudgetLimit::Tokens(50_000), BudgetLimit::Usd(0.25), BudgetLimit::Calls(20)]);
/// let executor = Executor::new().budget(budget);
/// # let _ = executor;
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Budget {
    max_tokens: Option<u64>,
    max_usd: Option<f64>,
    max_calls: Option<u64>,
}

impl Budget {
    /// No limits.
    pub const fn new() -> Self {
        Budget {
            max_tokens: None,
            max_usd: None,
            max_calls: None,
        }
    }

    /// At most `max` tokens, input and output together, per run.
    pub const fn max_tokens(mut self, max: u64) -> Self {
        self.max_tokens = Some(max);
        self
    }

    /// At most `max` US dollars per run, as estimated by the run's [`Pricing`](super::Pricing).
    pub const fn max_usd(mut self, max: f64) -> Self {
        self.max_usd = Some(max);
        self
    }

    /// At most `max` model calls per run, failed ones included.
    pub const fn max_calls(mut self, max: u64) -> Self {
        self.max_calls = Some(max);
        self
    }

    /// Whether no limit is set.
    pub const fn is_unlimited(&self) -> bool {
        self.max_tokens.is_none() && self.max_usd.is_none() && self.max_calls.is_none()
    }

    /// The limits that are set, in the order tokens, USD, calls.
    pub fn limits(&self) -> Vec<BudgetLimit> {
        let tokens = self.max_tokens.map(BudgetLimit::Tokens);
        let usd = self.max_usd.map(BudgetLimit::Usd);
        let calls = self.max_calls.map(BudgetLimit::Calls);
        [tokens, usd, calls].into_iter().flatten().collect()
    }

    /// The limit that `spent` has reached, with what was spent, if any: checked before a call,
    /// so a limit that is merely reached leaves no room for another call.
    pub(crate) fn reached(&self, spent: &UsageTotals) -> Option<(BudgetLimit, BudgetLimit)> {
        self.check(spent, |used, max| used >= max)
    }

    /// The limit that `spent` has gone past, with what was spent, if any: checked after a call.
    pub(crate) fn exceeded(&self, spent: &UsageTotals) -> Option<(BudgetLimit, BudgetLimit)> {
        self.check(spent, |used, max| used > max)
    }

    fn check(
        &self,
        spent: &UsageTotals,
        over: impl Fn(f64, f64) -> bool,
    ) -> Option<(BudgetLimit, BudgetLimit)> {
        let tokens = spent.usage.total_tokens();
        if let Some(max) = self.max_tokens {
            if over(tokens as f64, max as f64) {
                return Some((BudgetLimit::Tokens(max), BudgetLimit::Tokens(tokens)));
            }
        }
        if let Some(max) = self.max_usd {
            if over(spent.cost_usd, max) {
                return Some((BudgetLimit::Usd(max), BudgetLimit::Usd(spent.cost_usd)));
            }
        }
        match self.max_calls {
            Some(max) if over(spent.calls as f64, max as f64) => {
                Some((BudgetLimit::Calls(max), BudgetLimit::Calls(spent.calls)))
            }
            _ => None,
        }
    }
}
