//! What a run spent: [`UsageTotals`], per step and per run in a [`UsageReport`].

use std::time::Duration;

use serde::Serialize;

use super::Usage;

/// What a set of model calls spent: tokens, calls, time and estimated cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct UsageTotals {
    /// The tokens of all the calls, as the providers reported them. A call whose provider
    /// reported no usage adds nothing.
    pub usage: Usage,
    /// How many calls were made, failed ones included.
    pub calls: u64,
    /// How many of them failed: returned an error, or were dropped before they completed.
    pub failed_calls: u64,
    /// How many requests the calls sent, each provider's own retries included (a call counts
    /// one at least): more than [`calls`](Self::calls) when a provider retried. In a step
    /// whose policy retries, providers do not retry, and each call is one request.
    pub attempts: u64,
    /// The time spent in calls, added up (calls made at the same time overlap).
    pub latency: Duration,
    /// The estimated cost in USD, from the run's [`Pricing`](super::Pricing).
    pub cost_usd: f64,
}

/// How one model call ended: what it adds to [`UsageTotals`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ended {
    /// The tokens the provider reported, if it did.
    pub(crate) usage: Option<Usage>,
    /// How long the call took.
    pub(crate) latency: Duration,
    /// How many requests it sent.
    pub(crate) attempts: u32,
    /// Whether it succeeded.
    pub(crate) ok: bool,
}

impl UsageTotals {
    /// Adds what one call spent, at an estimated `cost` (the call itself is counted when it
    /// starts).
    pub(crate) fn add(&mut self, call: &Ended, cost: f64) {
        if let Some(usage) = call.usage {
            self.usage += usage;
        }
        self.latency = self.latency.saturating_add(call.latency);
        self.cost_usd += cost;
        self.failed_calls += u64::from(!call.ok);
        self.attempts += u64::from(call.attempts);
    }

    /// What was spent since `before`, an earlier reading of the same totals.
    pub(crate) fn since(&self, before: &UsageTotals) -> UsageTotals {
        let (now, then) = (self.usage, before.usage);
        UsageTotals {
            usage: Usage {
                input_tokens: now.input_tokens.saturating_sub(then.input_tokens),
                output_tokens: now.output_tokens.saturating_sub(then.output_tokens),
                cached_tokens: now.cached_tokens.saturating_sub(then.cached_tokens),
                reasoning_tokens: now.reasoning_tokens.saturating_sub(then.reasoning_tokens),
            },
            calls: self.calls.saturating_sub(before.calls),
            failed_calls: self.failed_calls.saturating_sub(before.failed_calls),
            attempts: self.attempts.saturating_sub(before.attempts),
            latency: self.latency.saturating_sub(before.latency),
            cost_usd: (self.cost_usd - before.cost_usd).max(0.0),
        }
    }
}

/// What the calls made by one step spent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[non_exhaustive]
pub struct StepUsage {
    /// The step's name.
    pub step: &'static str,
    /// What its calls spent, over all its runs and attempts.
    pub totals: UsageTotals,
}

/// What the model calls of a run spent, in total and per step.
///
/// Steps are listed in declaration order ([`Workflow::STEPS`](crate::Workflow::STEPS)), only
/// those that made calls. A step that ran several times (in a loop, or retried) has the totals
/// of all its runs. Calls made outside any step (before the first, or through a ledger opened
/// by hand) count in [`total`](Self::total) only.
///
/// ```
/// use std::sync::Arc;
/// use workflow_runtime::provider::{ChatResponse, Scripted, Usage};
/// use workflow_runtime::usage::{Ledger, Price, Pricing};
/// use workflow_runtime::Agent;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), workflow_runtime::Error> {
/// let model = Scripted::new().reply(ChatResponse::new("hi").with_usage(Usage::new(600, 400)));
/// let agent = Agent::builder(Arc::new(model)).build();
///
/// // Outside a run, calls go to a ledger only if you open one.
/// let ledger = Ledger::new("by hand").pricing(Pricing::new().default_price(Price::new(1.0, 2.0)));
/// ledger.scope(agent.prompt("hello")).await?;
///
/// let report = ledger.report();
/// assert_eq!((report.total.calls, report.total.usage.total_tokens()), (1, 1_000));
/// assert!((report.total.cost_usd - 0.0014).abs() < 1e-12);
/// assert!(report.steps.is_empty());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct UsageReport {
    /// The workflow's name (or the name of a ledger opened by hand).
    pub workflow: &'static str,
    /// All the run's calls.
    pub total: UsageTotals,
    /// The calls of each step that made any, in declaration order.
    pub steps: Vec<StepUsage>,
}

impl UsageReport {
    /// The totals of the step named `step`, if it made any call.
    pub fn step(&self, step: &str) -> Option<&UsageTotals> {
        self.steps
            .iter()
            .find(|usage| usage.step == step)
            .map(|usage| &usage.totals)
    }
}
