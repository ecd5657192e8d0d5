//! The one driver: every run, in memory or durable, from its input or from a saved state,
//! goes through [`start`], which sets up what reads the run (its scope: ledger, events,
//! spans) and races it against its cancellation, and [`drive`], the loop that takes one step
//! after another and saves the state between two when the run is durable. A plain
//! `wf.run(input)` is that loop's future itself ([`in_memory`]), unless a `tracing`
//! subscriber wants its spans. A workflow that runs as a step of another goes through the
//! same loop, inline (`child.rs`).

mod child;
pub use child::waiting_child;
mod drive;
mod launch;
mod report;

pub(crate) use drive::{Saver, Stop};
pub(crate) use launch::{in_memory, plain, start, Durable, Launch, Options, Started};
pub use report::{Outcome, Report};
