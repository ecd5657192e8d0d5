//! [`Run`] and [`Outcome`]: how a durable run stopped.

use crate::store::RunId;
use crate::{Error, Pause};

/// A durable run after [`Runner`](crate::Runner) drove it as far as it could: its id and how
/// it stopped.
///
/// The id is there whatever the outcome, so a suspended or failed run can be resumed later.
#[derive(Debug)]
pub struct Run<O> {
    /// The run's id.
    pub id: RunId,
    /// The workflow's name.
    pub workflow: &'static str,
    /// How the run stopped.
    pub outcome: Outcome<O>,
}

impl<O> Run<O> {
    /// The output of a finished run.
    ///
    /// # Errors
    ///
    /// [`Error::Suspended`] for a run waiting at a pause, the run's error for a failed one.
    pub fn into_output(self) -> Result<O, Error> {
        match self.outcome {
            Outcome::Finished(output) => Ok(output),
            Outcome::Suspended(pause) => Err(Error::Suspended {
                workflow: self.workflow,
                step: pause.step,
            }),
            Outcome::Failed(error) => Err(error),
        }
    }
}

/// How a durable run stopped: finished, waiting at a pause, or failed.
///
/// ```
/// # use workflow_runtime::{Outcome, Run};
/// fn report(run: Run<String>) {
///     match run.outcome {
///         Outcome::Finished(text) => println!("{}: {text}", run.id),
///         Outcome::Suspended(pause) => println!("{} waits before `{}`: {}", run.id, pause.step, pause.payload),
///         Outcome::Failed(error) => eprintln!("{} failed: {error}", run.id),
///     }
/// }
/// # let _ = report;
/// ```
#[derive(Debug)]
pub enum Outcome<O> {
    /// The run reached `end` with this output.
    Finished(O),
    /// The run waits at this pause for a value: give it with
    /// [`Runner::resume_with`](crate::Runner::resume_with).
    Suspended(Pause),
    /// The run stopped with this error. Unless the error is about the lease
    /// ([`Error::LeaseLost`], [`Error::VersionConflict`]: another worker runs it now), the
    /// store records the run as failed, and [`Runner::resume`](crate::Runner::resume) runs
    /// the failed step again.
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
