//! Driving a durable run: a step, a checkpoint, the next step.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::codec::Definition;
use super::held::{Held, MidStep};
use super::{Outcome, Run, Runner};
use crate::{Context, Error, Loops, Workflow};

impl Runner {
    /// Drives the run `held` is the lease of, from `state` (already saved), until it
    /// finishes, waits at a pause, or fails; then lets go of the lease. `resumed` says whether
    /// the run ran before (its events then say `Resumed` rather than `RunStarted`).
    pub(super) async fn drive<W: Workflow>(
        &self,
        workflow: &W,
        held: Arc<Held>,
        state: W::State,
        loops: Loops,
        resumed: bool,
    ) -> Run<W::Output> {
        let definition = Definition::of::<W>();
        let watchers = self.executor.watchers::<W>(None, Some(held.run()));
        // A ledger for the budget, or for the usage the run's events report.
        let ledger = match &watchers {
            Some(_) => Some(self.executor.ledger::<W>()),
            None => self.executor.budget_ledger::<W>(),
        };
        let mid_step = MidStep {
            held: Arc::clone(&held),
            definition,
        };
        let mut cx = self
            .executor
            .context::<W>(ledger.clone())
            .with_checkpoints(Arc::new(mid_step));
        let observer = watchers.map(|watchers| watchers.observer::<W>(ledger.clone()));
        if let Some(observer) = &observer {
            cx = cx.with_observer(Arc::clone(observer));
            if resumed {
                observer.resumed(W::step_name(&state));
            } else {
                observer.run_started();
            }
        }
        let steps = self.steps(workflow, &held, state, loops, &cx);
        let result = match (&ledger, &observer) {
            (Some(ledger), Some(observer)) => observer.instrument(ledger.scope(steps)).await,
            (Some(ledger), None) => ledger.scope(steps).await,
            (None, _) => steps.await,
        };
        if let Some(observer) = &observer {
            match &result {
                Ok(Outcome::Suspended(pause)) => observer.ended::<()>(&Err(Error::Suspended {
                    workflow: W::NAME,
                    step: pause.step,
                })),
                _ => observer.ended(&result),
            }
        }
        let outcome = match result {
            Ok(outcome) => {
                held.release(None).await;
                outcome
            }
            Err(error) => {
                if !lost(&error) {
                    held.release(Some(crate::error::describe(&error))).await;
                }
                Outcome::Failed(error)
            }
        };
        Run {
            id: held.run(),
            workflow: W::NAME,
            outcome,
        }
    }

    /// The loop: stop at the end or at a pause; otherwise run a step and save the state it
    /// leads to.
    async fn steps<W: Workflow>(
        &self,
        workflow: &W,
        held: &Held,
        mut state: W::State,
        mut loops: Loops,
        cx: &Context,
    ) -> Result<Outcome<W::Output>, Error> {
        let definition = Definition::of::<W>();
        let mut taken = 0;
        loop {
            state = match W::finish(state) {
                Ok(output) => return Ok(Outcome::Finished(output)),
                Err(state) => state,
            };
            if let Some(pause) = W::pause(&state) {
                return Ok(Outcome::Suspended(pause));
            }
            taken += 1;
            cx.enter(taken, W::step_index(&state))?;
            let step = workflow.transition(state, &mut loops, cx);
            state = self.guard(held, cx, step).await??;
            held.save(definition.encode(held.run(), 0, &state, &loops)?)
                .await?;
        }
    }

    /// Runs `step`, renewing the lease while it runs and stopping it if the run is
    /// cancelled.
    async fn guard<F: Future>(
        &self,
        held: &Held,
        cx: &Context,
        step: F,
    ) -> Result<F::Output, Error> {
        let mut step = pin!(step);
        let every = (self.ttl / 3).max(Duration::from_millis(1));
        loop {
            tokio::select! {
                biased;
                output = &mut step => return Ok(output),
                () = cancelled(self.executor.cancel_token()) => return Err(cx.cancelled()),
                () = tokio::time::sleep(every) => held.renew().await?,
            }
        }
    }
}

/// Waits for `token`, forever if there is none.
async fn cancelled(token: Option<&CancellationToken>) {
    match token {
        Some(token) => token.cancelled().await,
        None => std::future::pending().await,
    }
}

/// Whether `error` says the run is no longer this worker's to write.
fn lost(error: &Error) -> bool {
    matches!(
        error,
        Error::LeaseLost { .. } | Error::VersionConflict { .. } | Error::RunNotFound { .. }
    )
}
