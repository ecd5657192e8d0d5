//! Driving a durable run: the one driver, with a checkpoint after each step (and the events
//! since the last one), each finished branch saved at once, and the lease kept while it runs.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::codec::Definition;
use super::held::{Checkpoints, Held};
use super::Runner;
use crate::error::Error;
use crate::event::Journal;
use crate::run::{start, Durable, Launch, Outcome, Report, Stop};
use crate::state::Loops;
use crate::workflow::{PauseToken, Workflow};

impl Runner {
    /// Drives the run `held` is the lease of, from `state` (already saved), until it
    /// finishes, waits at a pause or for a signal, falls asleep, or fails; then lets go of the
    /// lease (putting the run aside until its time or its message). `resumed` says whether the
    /// run ran before (its events then say `Resumed` rather than `RunStarted`).
    pub(super) async fn drive<W: Workflow>(
        &self,
        workflow: &W,
        held: Arc<Held>,
        state: W::State,
        loops: Loops,
        resumed: bool,
    ) -> Report<W::Output> {
        let journal = self.event_log.then(|| Arc::new(Journal::default()));
        let checkpoints = Checkpoints {
            held: Arc::clone(&held),
            definition: Definition::of::<W>(),
            journal: journal.clone(),
            ending: Mutex::new(None),
        };
        let every = (self.ttl / 3).max(Duration::from_millis(1));
        let resumed = resumed.then(|| W::step_name(&state));
        let finish = start(Launch {
            workflow,
            state,
            loops,
            options: self.executor.options(None),
            id: Some(held.run()),
            usage: true,
            resumed,
            durable: Some(Durable {
                saver: &checkpoints,
                recorder: Arc::clone(&held) as _,
                watchdog: Box::pin(Arc::clone(&held).keep(every)),
                spent: held.spent().clone(),
                journal: journal.clone(),
            }),
        })
        .finish()
        .await;
        // The events since the last checkpoint (a failure, a sleep), logged before the lease
        // goes, unless a checkpoint that ended the run saved them and gave it up already.
        let rest = journal.map(|journal| journal.take()).unwrap_or_default();
        let outcome = match finish.result {
            Ok(Stop::Approving { step }) => {
                // What the step spent before the call counts when it runs again.
                held.save_usage(finish.usage.as_ref()).await;
                held.log(rest).await;
                match self.await_approval::<W>(&held, step).await {
                    Ok(pause) => Outcome::Suspended(pause),
                    Err(error) => {
                        held.release(Some(crate::error::describe(&error))).await;
                        Outcome::Failed(error)
                    }
                }
            }
            Ok(stop) => {
                held.log(rest).await;
                match &stop {
                    Stop::Sleeping { until, .. } => held.sleep(*until).await,
                    Stop::Receiving { signal, .. } => held.await_signal(signal).await,
                    _ => held.release(None).await,
                }
                match stop {
                    Stop::Finished(output) => Outcome::Finished(output),
                    Stop::Sleeping { step, until } => Outcome::Sleeping { step, until },
                    Stop::Receiving { step, signal } => Outcome::Receiving { step, signal },
                    Stop::Suspended { pause } => {
                        let token = PauseToken::new(held.run(), held.version());
                        Outcome::Suspended((*pause).at(token))
                    }
                    // Taken above.
                    Stop::Approving { step } => Outcome::Failed(Error::Suspended {
                        workflow: W::NAME,
                        step,
                    }),
                }
            }
            Err(error) => {
                if lost(&error) {
                    // Another worker has the run: what this one saw of it is not its log.
                    held.abandon();
                } else {
                    held.save_usage(finish.usage.as_ref()).await;
                    held.log(rest).await;
                    held.release(Some(crate::error::describe(&error))).await;
                }
                Outcome::Failed(error)
            }
        };
        Report {
            id: held.run(),
            workflow: W::NAME,
            outcome,
            usage: finish.usage.unwrap_or_default(),
        }
    }
}

/// Whether `error` says the run is no longer this worker's to write.
fn lost(error: &Error) -> bool {
    matches!(
        error,
        Error::LeaseLost { .. } | Error::VersionConflict { .. } | Error::RunNotFound { .. }
    )
}
