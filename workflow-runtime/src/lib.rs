//! The runtime of [`workflow`](https://docs.rs/workflow): the [`Workflow`] trait that
//! `#[workflow]` implements, the [`Executor`] that runs it, per-step [`StepPolicy`] (retries
//! with exponential backoff and jitter, timeouts), cancellation, durable runs (the [`Runner`]
//! over a checkpoint store, in [`store`]), the one [`Error`] enum, chat models in
//! [`provider`], the [`Agent`]s that call them, the accounting of their token usage and cost
//! per step and per run in [`usage`], and the [`event`]s and `tracing` spans that show a run
//! as it goes.
//!
//! # Features
//!
//! - `http` (default): the HTTP providers, `provider::OpenAi` and `provider::Anthropic`, over
//!   `reqwest` with rustls.
//! - `otel`: the `otel` module, which exports runs to OpenTelemetry through
//!   `tracing-opentelemetry`.
//! - `sqlite` (default): `SqliteStore`, durable runs in an SQLite file, over `rusqlite` with
//!   SQLite compiled in.
//! - `postgres`: `PostgresStore`, durable runs in PostgreSQL, over `tokio-postgres`.
//!
//! Most users depend on the `workflow` facade crate instead, which re-exports this crate
//! together with the macros.

mod agent;
mod context;
mod durable;
mod error;
mod executor;
mod loops;
mod pause;
mod policy;
mod workflow;

pub mod event;
#[cfg(feature = "otel")]
pub mod otel;
pub mod parallel;
pub mod provider;
pub mod store;
pub mod usage;

#[doc(hidden)]
pub mod __private;

pub use agent::{Agent, AgentBuilder, TextStream};
pub use context::{BoxFuture, Checkpointer, Context, Unwatched};
pub use durable::{Outcome, Run, Runner};
pub use error::{BoxError, Error, Result};
pub use event::{Event, EventKind, Events};
pub use executor::{run, Executor, RunFuture};
pub use loops::{LocalLoops, Loops};
pub use parallel::{Branch, BranchError};
pub use pause::{PauseState, PauseValue};
pub use policy::StepPolicy;
#[cfg(feature = "postgres")]
pub use store::PostgresStore;
#[cfg(feature = "sqlite")]
pub use store::SqliteStore;
pub use store::{CheckpointStore, MemoryStore, RunId, RunInfo, RunStatus};
pub use tokio_util::sync::CancellationToken;
pub use usage::{
    Budget, BudgetLimit, Ledger, Price, Pricing, RunReport, StepUsage, UsageReport, UsageTotals,
};
pub use workflow::{Pause, Resume, Workflow};

/// The `schemars` crate, whose [`JsonSchema`](schemars::JsonSchema) derive gives
/// [`Agent::extract`] the JSON schema of the type it asks for.
pub use schemars;
