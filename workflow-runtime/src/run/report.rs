//! [`Report`] and [`Outcome`]: how a run ended, and what it spent.

use std::time::SystemTime;

use crate::error::Error;
use crate::id::RunId;
use crate::usage::UsageReport;
use crate::workflow::Pause;

/// A run after it went as far as it could: its id, how it stopped, and what its model calls
/// spent. [`Run::report`](crate::Run::report) gives it for a run in memory, and the
/// [`Runner`](crate::Runner)'s methods for a durable run.
///
/// The id and the usage are there whatever the outcome, so a suspended or failed durable run
/// can be resumed later, and the cost of a failed run seen.
///
/// ```
/// # use workflow_runtime::{Outcome, Report};
/// fn show(report: Report<String>) {
///     let cost = report.usage.total.cost_usd;
///     match report.outcome {
///         Outcome::Finished(text) => println!("{}: {text} (${cost:.4})", report.id),
///         Outcome::Suspended(pause) => println!("{} waits before `{}`: {}", report.id, pause.step, pause.payload),
///         Outcome::Sleeping { step, until } => println!("{} sleeps before `{step}` until {until:?}", report.id),
///         Outcome::Receiving { step, signal } => println!("{} waits for `{signal}` before `{step}`", report.id),
///         Outcome::Failed(error) => eprintln!("{} failed: {error}", report.id),
///     }
/// }
/// # let _ = show;
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct Report<O> {
    /// The run's id.
    pub id: RunId,
    /// The workflow's name.
    pub workflow: &'static str,
    /// How the run stopped.
    pub outcome: Outcome<O>,
    /// What the run's model calls spent, per step and in total. For a durable run, it is the
    /// whole run's, across its pauses, crashes and workers (see
    /// [`Runner`](crate::Runner#usage)); for a run in memory, what this run of it spent.
    pub usage: UsageReport,
}

impl<O> Report<O> {
    /// The output of a finished run.
    ///
    /// # Errors
    ///
    /// [`Error::Suspended`] for a run waiting at a pause, [`Error::Sleeping`] for a durable
    /// run asleep, [`Error::AwaitingSignal`] for one waiting for a message, the run's error
    /// for a failed one.
    pub fn into_output(self) -> Result<O, Error> {
        match self.outcome {
            Outcome::Finished(output) => Ok(output),
            Outcome::Suspended(pause) => Err(Error::Suspended {
                workflow: self.workflow,
                step: pause.step,
            }),
            Outcome::Sleeping { step, .. } => Err(Error::Sleeping {
                workflow: self.workflow,
                step,
            }),
            Outcome::Receiving { step, signal } => Err(Error::AwaitingSignal {
                workflow: self.workflow,
                step,
                signal,
            }),
            Outcome::Failed(error) => Err(error),
        }
    }
}

/// How a run stopped: finished, waiting at a pause, asleep or waiting for a signal (durable),
/// or failed.
#[derive(Debug)]
pub enum Outcome<O> {
    /// The run reached `end` with this output.
    Finished(O),
    /// The run waits at this pause for a value: give it an in-memory run with
    /// [`Executor::answer`](crate::Executor::answer), a durable run with
    /// [`Runner::answer`](crate::Runner::answer).
    Suspended(Pause),
    /// A durable run sleeps before step `step` (`-> sleep "1h" -> step` in `flow!`) until
    /// `until`: it holds no worker meanwhile. A [`Worker`](crate::Worker) goes on with it
    /// once the time has come, as does [`Runner::resume`](crate::Runner::resume) called
    /// then. (A run in memory sleeps where it is, and never stops here.)
    Sleeping {
        /// The step that runs once the run wakes.
        step: &'static str,
        /// When it wakes.
        until: SystemTime,
    },
    /// A durable run waits before step `step` (`-> receive step` in `flow!`) for a message
    /// of signal `signal`, none of which is queued: it holds no worker meanwhile. Once one is
    /// sent ([`Runner::send`](crate::Runner::send)), a [`Worker`](crate::Worker) goes on with
    /// it, as does [`Runner::resume`](crate::Runner::resume).
    Receiving {
        /// The step that runs with the message.
        step: &'static str,
        /// The signal it waits for ([`Signal::SIGNAL`](crate::Signal::SIGNAL)).
        signal: &'static str,
    },
    /// The run stopped with this error. For a durable run, unless the error is about the
    /// lease ([`Error::LeaseLost`], [`Error::VersionConflict`]: another worker runs it now),
    /// the store records the run as failed, and [`Runner::resume`](crate::Runner::resume)
    /// runs the failed step again.
    Failed(Error),
}

impl<O> Outcome<O> {
    /// The output, if the run finished.
    pub fn output(&self) -> Option<&O> {
        match self {
            Outcome::Finished(output) => Some(output),
            _ => None,
        }
    }

    /// The pause the run waits at, if it is suspended.
    pub fn pause(&self) -> Option<&Pause> {
        match self {
            Outcome::Suspended(pause) => Some(pause),
            _ => None,
        }
    }

    /// The error that stopped the run, if it failed.
    pub fn error(&self) -> Option<&Error> {
        match self {
            Outcome::Failed(error) => Some(error),
            _ => None,
        }
    }
}
