//! Token usage and cost of model calls, per step and per run, and budgets that stop a run.
//!
//! Every call an [`Agent`](crate::Agent) makes is recorded in the [`Ledger`] of the run it is
//! part of: its [`Usage`] (input, output, cached and reasoning tokens), its latency, its
//! estimated cost from the run's [`Pricing`], and whether it failed. Nobody passes the ledger
//! around: the run's driver opens one, makes it part of the run's scope (a `tokio`
//! task-local), tells it which step is running, and the agent finds it there.
//!
//! - [`Run::report`](crate::Run::report) returns a run's outcome together with its
//!   [`UsageReport`]: totals per run and per step, for failed runs too.
//! - [`Executor::budget`](crate::Executor::budget) sets a [`Budget`] (tokens, USD, model calls)
//!   per run; a call that finds it used up, or uses it up, fails with
//!   [`Error::BudgetExceeded`](crate::Error::BudgetExceeded), which stops the run.
//! - A run opens a ledger only when something reads it: its report, a budget, an observer
//!   (events, or a `tracing` subscriber that wants its spans, which show its totals).
//! - A durable run saves what it spent with each checkpoint ([`SavedUsage`]), and a run
//!   resumed or answered by a [`Runner`](crate::Runner) starts from it: its report, events and
//!   budget count the whole run, across pauses, crashes and workers.
//! - Outside a run, calls are not recorded, unless the caller opens a ledger of its own with
//!   [`Ledger::scope`]. A run (or a ledger) inside a step of another run also reports its calls
//!   to the outer run, in that step, and the outer run's budget applies to them.
//!
//! # What counts as a call
//!
//! One [`ChatModel::chat`](crate::provider::ChatModel::chat) or
//! [`ChatModel::stream`](crate::provider::ChatModel::stream) made through an agent is one call,
//! whatever happens inside it: the retries a provider makes on its own (on a rate limit, say)
//! are part of that one call. A call that fails is still a call, and so is one dropped before
//! it completes (by a step's timeout, the run's cancellation, or a stream dropped before its
//! end); both also count as failed calls. A step retried with `#[step(retry = N)]` makes its
//! calls again, and each attempt's calls count; there the provider does not retry on its own
//! (the step does), so each of those calls is one request. How many requests the calls sent,
//! a provider's own retries included, is [`UsageTotals::attempts`] (and the `attempts` of each
//! [`CallFinished`](crate::event::EventKind::CallFinished) event).
//!
//! # Tasks
//!
//! The ledger follows the run's task, not tasks it spawns: wrap a spawned future in
//! [`Ledger::scope`] with [`Ledger::current`] to account for its calls in the run. Calls are
//! attributed to the step the run entered last, so calls made after a step ended (a
//! [`TextStream`](crate::TextStream) read later) still count in the step that started them.

mod budget;
mod ledger;
mod pricing;
mod report;
mod saved;

pub use crate::error::BudgetLimit;
pub use crate::tokens::Usage;
pub use budget::Budget;
pub use ledger::Ledger;
pub(crate) use ledger::Slot;
pub use pricing::{Price, Pricing};
pub(crate) use report::Ended;
pub use report::{StepUsage, UsageReport, UsageTotals};
pub use saved::SavedUsage;
