//! The runtime of [`workflow`](https://docs.rs/workflow): the [`Workflow`] trait that
//! `#[workflow]` implements, the [`Executor`] that runs it, per-step [`StepPolicy`] (retries
//! with exponential backoff and jitter, timeouts), cancellation, the one [`Error`] enum, and
//! chat models in [`provider`].
//!
//! # Features
//!
//! - `http` (default): the HTTP providers, such as `provider::OpenAi`, over `reqwest` with
//!   rustls.
//!
//! Most users depend on the `workflow` facade crate instead, which re-exports this crate
//! together with the macros.

mod context;
mod error;
mod executor;
mod loops;
mod policy;
mod workflow;

pub mod provider;

#[doc(hidden)]
pub mod __private;

pub use context::Context;
pub use error::{BoxError, Error, Result};
pub use executor::{run, Executor};
pub use loops::Loops;
pub use policy::StepPolicy;
pub use tokio_util::sync::CancellationToken;
pub use workflow::Workflow;
