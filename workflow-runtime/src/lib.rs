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

// The modules form one-way layers; each imports only from the layers before it, and
// `tests/layers.rs` fails on a cycle. Leaves: the ids, the one boxed future, token usage, the
// error.
mod future;
mod id;
mod tokens;

mod error;

// What a run's state and usage are made of; its events; the chat models.
pub mod coverage;
pub mod event;
mod policy;
pub mod provider;
pub mod state;
pub mod usage;

// The run scope (the one task-local), the context a transition gets, the workflow.
mod context;
mod definition;
mod scope;
mod workflow;

// The checkpoint stores; the one driver; in-memory runs, tools, agents, durable runs.
mod agent;
mod approval;
mod durable;
mod executor;
mod run;
pub mod store;
pub mod tool;
mod worker;

#[cfg(feature = "otel")]
pub mod otel;

#[doc(hidden)]
pub mod __private;
pub mod checks;

pub use agent::{Agent, AgentBuilder, Conversation, TextStream};
pub use approval::{Approval, ApprovalRequest};
pub use context::{Context, WaitingAt, WaitingChild};
pub use definition::{PauseDefinition, SignalDefinition, WorkflowDefinition};
pub use durable::{RunHandle, Runner};
pub use error::{BoxError, Error, Result};
pub use executor::{Executor, Run};
pub use future::BoxFuture;
pub use id::RunId;
pub use policy::StepPolicy;
pub use run::{Outcome, Report};
pub use scope::once;
pub use store::MemoryStore;
#[cfg(feature = "postgres")]
pub use store::PostgresStore;
#[cfg(feature = "sqlite")]
pub use store::SqliteStore;
pub use tokio_util::sync::CancellationToken;
pub use worker::{Worker, WorkerHandle, WorkerReport};
pub use workflow::{Answer, ParseTokenError, Pause, PauseToken, Signal, Workflow};

/// The `schemars` crate, whose [`JsonSchema`](schemars::JsonSchema) derive gives
/// [`Agent::extract`] the JSON schema of the type it asks for.
pub use schemars;
