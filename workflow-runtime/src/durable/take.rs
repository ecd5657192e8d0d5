//! Taking a run up: creating it with a lease, or claiming an existing one, and giving a
//! paused run its value.

use std::sync::Arc;
use std::time::SystemTime;

use super::approve::not_paused;
use super::codec::Definition;
use super::held::Held;
use super::Runner;
use crate::approval::{Approval, ApprovalRequest};
use crate::context::WaitingAt;
use crate::error::describe;
use crate::error::Error;
use crate::event::EventKind;
use crate::run::Report;
use crate::state::Loops;
use crate::store::{Checkpoint, Lease, NewEvent, NewRun, RunId, RunInfo, RunStatus};
use crate::usage::SavedUsage;

pub(super) use crate::store::answer::same_json;
use crate::workflow::{PauseToken, Workflow};

impl Runner {
    pub(crate) fn new_lease(&self) -> Lease {
        Lease::new(&*self.owner, self.ttl)
    }

    /// Creates a run from `first`, leased to this runner.
    pub(super) async fn create_held(
        &self,
        first: Checkpoint,
        parent: Option<(RunId, u64)>,
    ) -> Result<Arc<Held>, Error> {
        let (id, lease) = (first.run, self.new_lease());
        let run = NewRun {
            first,
            parent,
            lease: Some(lease.clone()),
        };
        self.store.create(run).await?;
        let spent = SavedUsage::default();
        Ok(Held::new(Arc::clone(&self.store), id, lease, 0, spent).created())
    }

    /// Takes the lease of run `run` and reads its latest checkpoint as a state of `W`.
    pub(super) async fn claim<W: Workflow>(
        &self,
        run: RunId,
    ) -> Result<(Arc<Held>, W::State, Loops), Error> {
        let lease = self.new_lease();
        let (info, latest) = self.store.claim(run, &lease).await?;
        if let Err(error) = info.on_its_own() {
            let spent = SavedUsage::default();
            Held::new(Arc::clone(&self.store), run, lease, info.version, spent)
                .release(None)
                .await;
            return Err(error);
        }
        self.take_up::<W>(lease, &info, &latest, false).await
    }

    /// Reads `latest`, the latest checkpoint of run `info`, just leased to `lease`, as a
    /// state of `W`. If it does not read back, the lease is given up, with the error as why
    /// the run failed if `fail`. A fork that has not taken a step yet gets the rows of the
    /// child runs in flight in its state that have none: a fork made without the workflow's
    /// code (`workflow fork` copies a checkpoint) has none until then, and each starts from
    /// its checkpoint 0 there, as [`fork`](Self::fork) makes them.
    async fn take_up<W: Workflow>(
        &self,
        lease: Lease,
        info: &RunInfo,
        latest: &Checkpoint,
        fail: bool,
    ) -> Result<(Arc<Held>, W::State, Loops), Error> {
        let spent = latest.usage_so_far();
        let held = Held::new(Arc::clone(&self.store), info.id, lease, info.version, spent);
        match latest.decode::<W>() {
            Ok((mut state, loops)) => {
                let fork = info.version == 0 && info.parent.is_some() && info.parent_step.is_none();
                let waiting = fork
                    .then(|| W::waiting_child(&mut state, WaitingAt::fork()))
                    .flatten();
                if let Some(waiting) = waiting {
                    if let Err(error) = held.create_children(waiting.child).await {
                        held.release(None).await;
                        return Err(error);
                    }
                }
                Ok((held, state, loops))
            }
            Err(error) => {
                held.release(fail.then(|| describe(&error))).await;
                Err(error)
            }
        }
    }

    /// Drives run `info`, which a worker has just leased to `lease` (with
    /// [`CheckpointStore::claim_next`](crate::store::CheckpointStore::claim_next)), from
    /// `latest`, its latest checkpoint, as [`resume`](Self::resume) does.
    ///
    /// # Errors
    ///
    /// When the checkpoint does not read back as a state of `W`: the run is then recorded as
    /// failed with the error, so that no worker picks it up again.
    pub(crate) async fn drive_claimed<W: Workflow>(
        &self,
        workflow: &W,
        lease: Lease,
        info: &RunInfo,
        latest: &Checkpoint,
    ) -> Result<Report<W::Output>, Error> {
        let (held, state, loops) = self.take_up::<W>(lease, info, latest, true).await?;
        let state = match W::pause(&state) {
            Some(_) => self.recorded::<W>(&held, state, &loops).await?,
            None if info.status == RunStatus::Suspended => {
                return self.recorded_approval(workflow, held, state, loops).await;
            }
            None => state,
        };
        Ok(self.drive(workflow, held, state, loops, true).await)
    }

    /// Gives the run `held`, paused at `state`, the answer a tool recorded for its pause
    /// ([`Runner::record_answer`]), if there is one, and saves the state it makes; the
    /// answer is then discarded. An answer the pause does not take is discarded too, and the
    /// run's event log says why: the run goes on waiting at its pause.
    ///
    /// # Errors
    ///
    /// The store's, when the answered state cannot be saved: the lease is given up.
    async fn recorded<W: Workflow>(
        &self,
        held: &Held,
        state: W::State,
        loops: &Loops,
    ) -> Result<W::State, Error> {
        let (run, seq) = (held.run(), held.version());
        let Ok(Some(text)) = self.store.recorded_answer(run, seq).await else {
            return Ok(state);
        };
        let step = W::step_name(&state);
        let given = match serde_json::from_str(&text) {
            Ok(value) => W::answer_json(state, value),
            Err(error) => Err(Error::Other(error.into())),
        };
        let _ = self.store.discard_answer(run, seq).await;
        let state = match given {
            Ok(state) => state,
            Err(error) => {
                let kind = EventKind::AnswerRejected {
                    step,
                    reason: describe(&error),
                };
                if let Ok(event) = serde_json::to_string(&kind) {
                    held.log(vec![NewEvent::new(SystemTime::now(), event)])
                        .await;
                }
                // The state went with the refused value: the pause's is read back.
                let latest = self.store.checkpoint(run, Some(seq)).await;
                return match latest.and_then(|latest| latest.decode::<W>()) {
                    Ok((state, _)) => Ok(state),
                    Err(error) => {
                        held.release(None).await;
                        Err(error)
                    }
                };
            }
        };
        let saved = match Definition::of::<W>().encode(run, 0, &state, loops) {
            Ok(checkpoint) => held.save(checkpoint).await,
            Err(error) => Err(error),
        };
        match saved {
            Ok(()) => Ok(state),
            Err(error) => {
                held.release(None).await;
                Err(error)
            }
        }
    }

    /// Gives the pause `token` names its value with `give`, if the run still waits there:
    /// takes the run up, saves the state `give` makes of it, and drives the run on.
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyAnswered`] if the run has gone on from that checkpoint;
    /// [`Error::NotPaused`] if it does not wait at a pause there; [`Error::CheckpointNotFound`]
    /// if it has no such checkpoint; the errors of `give` and of taking the run up.
    pub(super) async fn give<W: Workflow>(
        &self,
        workflow: &W,
        token: PauseToken,
        give: impl FnOnce(W::State) -> Result<W::State, Error>,
        approval: impl FnOnce(&'static str) -> Result<Approval, Error>,
    ) -> Result<Report<W::Output>, Error> {
        let (held, state, loops) = self.given::<W>(token, give, approval).await?;
        Ok(self.drive(workflow, held, state, loops, true).await)
    }

    /// Gives the pause `token` names its value with `give`, if the run still waits there,
    /// and saves the state `give` makes of it: the run is then this runner's to drive on, or
    /// to give up for a worker. A run that waits for the approval of a tool call inside its
    /// step is given the decision `approval` makes (from the step's name) instead.
    ///
    /// # Errors
    ///
    /// As [`give`](Self::give).
    pub(super) async fn given<W: Workflow>(
        &self,
        token: PauseToken,
        give: impl FnOnce(W::State) -> Result<W::State, Error>,
        approval: impl FnOnce(&'static str) -> Result<Approval, Error>,
    ) -> Result<(Arc<Held>, W::State, Loops), Error> {
        let run = token.run;
        // A look first, which takes no lease: an answer sent again while the first one's
        // steps run finds the run gone on, not owned by another worker.
        if self.store.run(run).await?.version > token.seq {
            return Err(self.answered::<W>(token, give, approval).await);
        }
        let (held, mut state, loops) = self.claim::<W>(run).await?;
        let at = held.version();
        if at != token.seq {
            held.release(None).await;
            return Err(match at > token.seq {
                true => self.answered::<W>(token, give, approval).await,
                false => Error::CheckpointNotFound {
                    run,
                    seq: token.seq,
                },
            });
        }
        let saved = match W::pause(&state) {
            Some(_) => match give(state) {
                Ok(state) => match Definition::of::<W>().encode(run, 0, &state, &loops) {
                    Ok(checkpoint) => held.save(checkpoint).await.map(|()| state),
                    Err(error) => Err(error),
                },
                Err(error) => Err(error),
            },
            // No pause step: a pause inside the step, for an approval, or no pause at all.
            None => match self.store.calls(run, at).await {
                Ok(calls) if ApprovalRequest::pending(&calls).is_none() => give(state),
                Ok(_) => match approval(W::step_name(&state)) {
                    Ok(approval) => {
                        let decided = self.decide::<W>(&held, (&mut state, &loops), &approval);
                        decided.await.map(|()| state)
                    }
                    Err(error) => Err(error),
                },
                Err(error) => Err(error),
            },
        };
        match saved {
            Ok(state) => Ok((held, state, loops)),
            Err(error) => {
                held.release(None).await;
                Err(error)
            }
        }
    }

    /// Why the pause `token` names takes no value, now that the run has gone on from it:
    /// [`Error::AlreadyAnswered`], repeated if the checkpoint after it is what `give` makes
    /// of it; [`Error::NotPaused`] if it was no pause.
    async fn answered<W: Workflow>(
        &self,
        token: PauseToken,
        give: impl FnOnce(W::State) -> Result<W::State, Error>,
        approval: impl FnOnce(&'static str) -> Result<Approval, Error>,
    ) -> Error {
        let (run, seq) = (token.run, token.seq);
        let already = |repeated| Error::AlreadyAnswered { run, seq, repeated };
        // The pause's checkpoint and the answer's; either may have been pruned.
        let Ok(page) = self.store.history_page(run, seq, 2).await else {
            return already(false);
        };
        let (Some(shown), Some(next)) = (page.first(), page.get(1)) else {
            return already(false);
        };
        if (shown.seq, next.seq) != (seq, seq + 1) {
            return already(false);
        }
        let Ok((state, loops)) = shown.decode::<W>() else {
            return already(false);
        };
        if W::pause(&state).is_none() {
            // An approval pause: the next checkpoint holds its decision.
            let decided = match approval(W::step_name(&state)) {
                Ok(approval) => self.decided(run, seq, &approval).await,
                Err(_) => self
                    .decided(run, seq, &Approval::Allow)
                    .await
                    .map(|_| false),
            };
            return match decided {
                Some(repeated) => already(repeated),
                None => not_paused::<W>(&state),
            };
        }
        let repeated = give(state)
            .and_then(|given| Definition::of::<W>().encode(run, next.seq, &given, &loops))
            .is_ok_and(|again| same_json(&again.state, &next.state) && again.loops == next.loops);
        already(repeated)
    }
}
