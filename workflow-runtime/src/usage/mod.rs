//! Token usage and cost of model calls, per step and per run, and budgets that stop a run.
//!
//! Every call an [`Agent`](crate::Agent) makes is recorded in the [`Ledger`] of the run it is
//! part of: its [`Usage`](crate::provider::Usage) (input, output, cached and reasoning tokens),
//! its latency, its estimated cost from the run's [`Pricing`], and whether it failed. Nobody
//! passes the ledger around: the [`Executor`](crate::Executor) opens one for the run and
//! provides it to the run's task (a `tokio` task-local, see [`Ledger::scope`]), the
//! [`Context`](crate::Context) tells it which step is running ([`Context::enter`](crate::Context::enter) records the
//! step's index in it, one relaxed atomic store), and the agent finds it there.
//!
//! - [`Executor::run_with_report`](crate::Executor::run_with_report) returns the run's result
//!   together with its [`UsageReport`]: totals per run and per step, for failed runs too.
//! - [`Executor::budget`](crate::Executor::budget) sets a [`Budget`] (tokens, USD, model calls)
//!   per run; a call that finds it used up, or uses it up, fails with
//!   [`Error::BudgetExceeded`](crate::Error::BudgetExceeded), which stops the run.
//!   [`Executor::run`](crate::Executor::run) opens a ledger only when there is a budget to
//!   enforce or an observer to tell, and the plain [`run`](crate::run) and
//!   [`RunFuture`](crate::RunFuture) (what the generated `run` returns) only when a `tracing`
//!   subscriber wants their spans, which show its totals: otherwise nobody could read it.
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
//! calls again, and each attempt's calls count.
//!
//! # Tasks
//!
//! The ledger follows the run's task, not tasks it spawns: wrap a spawned future in
//! [`Ledger::scope`] with [`Ledger::current`] to account for its calls in the run. Calls are
//! attributed to the step the run announced last, so calls made after a step ended (a
//! [`TextStream`](crate::TextStream) read later) still count in the step that started them.

mod budget;
mod call;
mod ledger;
mod pricing;
mod report;

pub use budget::{Budget, BudgetLimit};
pub(crate) use call::Call;
pub use ledger::Ledger;
pub use pricing::{Price, Pricing};
pub use report::{RunReport, StepUsage, UsageReport, UsageTotals};
