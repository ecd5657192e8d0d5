//! The one loop every run goes through: take the step the state names, run it, save the state
//! it leads to, until the end or a pause.

use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::context::Context;
use crate::error::Error;
use crate::future::BoxFuture;
use crate::state::Loops;
use crate::workflow::{Pause, Workflow};

/// Where a run stopped, short of an error.
pub(crate) enum Stop<W: Workflow> {
    /// At `end`, with the output.
    Finished(W::Output),
    /// At a pause, waiting for a value: what the pause shows.
    Suspended { pause: Pause },
}

/// Saves the state a durable run reaches after each step: its next checkpoint.
pub(crate) trait Saver<S>: Send + Sync {
    /// Saves `state` and `loops` as the run's latest checkpoint.
    fn save<'a>(&'a self, state: &'a S, loops: &'a Loops) -> BoxFuture<'a, Result<(), Error>>;
}

/// The limits a run checks before each step.
pub(crate) struct Limits<'a> {
    /// The most steps it may take.
    pub(crate) max_steps: u64,
    /// It stops once this is cancelled.
    pub(crate) cancel: Option<&'a CancellationToken>,
}

impl Limits<'_> {
    /// No limits.
    pub(crate) const NONE: Limits<'static> = Limits {
        max_steps: u64::MAX,
        cancel: None,
    };

    /// Checks the limits before the `taken`-th step, `step`.
    #[inline]
    fn check<W: Workflow>(&self, taken: u64, step: &'static str) -> Result<(), Error> {
        if taken <= self.max_steps && self.cancel.is_none() {
            return Ok(());
        }
        self.check_slow::<W>(taken, step)
    }

    /// [`check`](Self::check) with a step budget spent or a cancellation token.
    #[cold]
    #[inline(never)]
    fn check_slow<W: Workflow>(&self, taken: u64, step: &'static str) -> Result<(), Error> {
        if taken > self.max_steps {
            return Err(Error::StepLimit {
                workflow: W::NAME,
                max: self.max_steps,
            });
        }
        if self.cancel.is_some_and(CancellationToken::is_cancelled) {
            return Err(cancelled::<W>(Some(step)));
        }
        Ok(())
    }
}

/// [`Error::Cancelled`] while the run was at `step`.
pub(crate) fn cancelled<W: Workflow>(step: Option<&'static str>) -> Error {
    Error::Cancelled {
        workflow: W::NAME,
        // A fan-out or a map is none of the steps.
        step: step.filter(|step| W::STEPS.contains(step)),
    }
}

/// Runs `workflow` from `state` until it finishes, waits at a pause, or fails: before each
/// step, checks `limits` and tells the run's scope (its budget, its events, its spans); after
/// each, saves the state through `saver` if the run is durable.
///
/// # Errors
///
/// The first error that stops the run.
pub(crate) async fn drive<W: Workflow>(
    workflow: &W,
    mut state: W::State,
    cx: &mut Context,
    limits: &Limits<'_>,
    saver: Option<&dyn Saver<W::State>>,
) -> Result<Stop<W>, Error> {
    let mut taken = 0;
    loop {
        state = match W::finish(state) {
            Ok(output) => return Ok(Stop::Finished(output)),
            Err(state) => state,
        };
        if let Some(pause) = W::pause(&state) {
            return Ok(Stop::Suspended { pause });
        }
        let step = W::step_name(&state);
        cx.set_current(Some(step));
        taken += 1;
        let span = match cx.run() {
            None => {
                limits.check::<W>(taken, step)?;
                None
            }
            Some(run) => {
                run.enter(step);
                limits.check::<W>(taken, step)?;
                run.start_step()?
            }
        };
        state = match span {
            None => workflow.transition(state, cx).await?,
            Some(span) => workflow.transition(state, cx).instrument(span).await?,
        };
        if let Some(run) = cx.run() {
            run.finish_step();
        }
        if let Some(saver) = saver {
            saver.save(&state, cx.loops()).await?;
        }
    }
}
