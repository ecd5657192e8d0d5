//! Approval pauses: a durable run suspended inside a step, where a tool call waits for a
//! human's [`Approval`]; what it shows, and how a decision is given to it.

use std::future::Future;
use std::sync::Arc;
use std::time::SystemTime;

use super::codec::Definition;
use super::held::Held;
use super::Runner;
use crate::approval::{Approval, ApprovalRequest, DECISION};
use crate::context::{WaitingAt, WaitingChild};
use crate::error::{describe, Error};
use crate::event::EventKind;
use crate::run::{Outcome, Report};
use crate::state::Loops;
use crate::store::{CallRecord, NewEvent, RunId, RunStatus};
use crate::usage::UsageReport;
use crate::workflow::{Pause, PauseToken, Workflow};

impl Runner {
    /// Gives the approval pause `pause` names (a tool call waiting for a human, see
    /// [`AgentBuilder::needs_approval`](crate::AgentBuilder::needs_approval)) the decision
    /// `approval`, and drives the run on: its step runs again, replays every model turn and
    /// tool call it recorded before, and goes on with the call decided.
    ///
    /// As with [`answer`](Self::answer), the decision is given only if the run still waits
    /// at that pause: a decision sent twice is refused with [`Error::AlreadyAnswered`]
    /// (`repeated` if it is the same), and never lands on a later pause, the next approval
    /// of the same step included.
    ///
    /// # Errors
    ///
    /// As [`answer`](Self::answer); [`Error::NotPaused`] if the run waits for no approval at
    /// that checkpoint.
    pub async fn approve<W: Workflow>(
        &self,
        workflow: &W,
        pause: PauseToken,
        approval: Approval,
    ) -> Result<Report<W::Output>, Error> {
        let (held, state, loops) = self
            .given::<W>(
                pause,
                |state| Err(not_paused::<W>(&state)),
                |_| Ok(approval),
            )
            .await?;
        Ok(self.drive(workflow, held, state, loops, true).await)
    }

    /// The report of run `held`, just claimed at `state`, if it is suspended waiting for an
    /// approval: the lease is then given up, and nothing runs.
    ///
    /// # Errors
    ///
    /// The store's: the lease is then given up.
    pub(super) fn still_approving<'a, W: Workflow>(
        &'a self,
        held: &'a Held,
        state: &W::State,
    ) -> impl Future<Output = Result<Option<Report<W::Output>>, Error>> + Send + 'a {
        let step = W::step_name(state);
        async move {
            let (run, seq) = (held.run(), held.version());
            let pause = match self.store.run(run).await {
                Ok(info) if info.status != RunStatus::Suspended => return Ok(None),
                Ok(_) => self.approval_at(run, seq, step).await,
                Err(error) => Err(error),
            };
            let pause = match pause {
                Ok(Some(pause)) => pause,
                Ok(None) => return Ok(None),
                Err(error) => {
                    held.release(None).await;
                    return Err(error);
                }
            };
            held.release(None).await;
            Ok(Some(Report {
                id: run,
                workflow: W::NAME,
                outcome: Outcome::Suspended(pause),
                usage: UsageReport::default(),
            }))
        }
    }

    /// Gives the run `held`, suspended at `state` where a tool call of its step waits for a
    /// human's approval, the decision a tool recorded for it ([`Runner::record_answer`]), and
    /// drives it on. A value that is not an [`Approval`](crate::Approval) is discarded, the
    /// run's event log says why, and the run goes on waiting.
    ///
    /// # Errors
    ///
    /// The store's, when the approval pause cannot be read back.
    pub(super) async fn recorded_approval<W: Workflow>(
        &self,
        workflow: &W,
        held: Arc<Held>,
        mut state: W::State,
        loops: Loops,
    ) -> Result<Report<W::Output>, Error> {
        let (run, seq, step) = (held.run(), held.version(), W::step_name(&state));
        let text = self.store.recorded_answer(run, seq).await.ok().flatten();
        let decided = match text.as_deref().map(serde_json::from_str) {
            None => None,
            Some(Ok(value)) => Some(match approval_of::<W>(step, value) {
                Ok(approval) => {
                    self.decide::<W>(&held, (&mut state, &loops), &approval)
                        .await
                }
                Err(error) => Err(error),
            }),
            Some(Err(error)) => Some(Err(Error::Other(error.into()))),
        };
        let _ = self.store.discard_answer(run, seq).await;
        if let Some(Ok(())) = decided {
            return Ok(self.drive(workflow, held, state, loops, true).await);
        }
        if let Some(Err(error)) = decided {
            let kind = EventKind::AnswerRejected {
                step,
                reason: describe(&error),
            };
            if let Ok(event) = serde_json::to_string(&kind) {
                held.log(vec![NewEvent::new(SystemTime::now(), event)])
                    .await;
            }
        }
        let report = self.still_approving::<W>(&held, &state).await?;
        held.release(None).await;
        Ok(report.unwrap_or_else(|| Report {
            id: run,
            workflow: W::NAME,
            outcome: Outcome::Suspended(Pause::approval(step, serde_json::Value::Null)),
            usage: UsageReport::default(),
        }))
    }

    /// Suspends run `held` of `W` where a tool call of its step `step` waits for an
    /// approval: the pause, with the request its step recorded. A child run in the state that
    /// step started from, whose first step that is, has its row from this write (see
    /// [`waiting_for_approval`]).
    ///
    /// # Errors
    ///
    /// The store's; [`Error::CorruptCheckpoint`] if the checkpoint does not read back.
    pub(super) async fn await_approval<W: Workflow>(
        &self,
        held: &Held,
        step: &'static str,
    ) -> Result<Pause, Error> {
        let (run, seq) = (held.run(), held.version());
        let latest = self.store.checkpoint(run, Some(seq)).await?;
        let (mut state, _) = latest.decode::<W>()?;
        held.suspend(waiting_for_approval::<W>(&mut state, seq))
            .await?;
        let pause = self.approval_at(run, seq, step).await?;
        Ok(pause.unwrap_or_else(|| Pause::approval(step, serde_json::Value::Null)))
    }

    /// The approval pause run `run` waits at in checkpoint `seq`, before step `step`, if its
    /// step recorded a request without a decision there.
    ///
    /// # Errors
    ///
    /// The store's.
    pub(super) async fn approval_at(
        &self,
        run: RunId,
        seq: u64,
        step: &'static str,
    ) -> Result<Option<Pause>, Error> {
        let calls = self.store.calls(run, seq).await?;
        Ok(ApprovalRequest::pending(&calls).map(|(_, request)| {
            let payload = serde_json::to_value(request).unwrap_or_default();
            Pause::approval(step, payload).at(PauseToken::new(run, seq))
        }))
    }

    /// Gives the request pending at the latest checkpoint of run `held` (whose state is
    /// `state`) the decision `approval`: saves the same state as the run's next checkpoint,
    /// running, with the calls of its step and the decision, in one write. A child run in
    /// `state` whose first step waits for it is recorded in `state` as it was when the run
    /// was suspended ([`waiting_for_approval`]).
    ///
    /// # Errors
    ///
    /// [`Error::NotPaused`] if no request waits there; the store's.
    pub(super) fn decide<'a, W: Workflow>(
        &'a self,
        held: &'a Arc<Held>,
        (state, loops): (&mut W::State, &Loops),
        approval: &'a Approval,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'a {
        let (run, seq) = (held.run(), held.version());
        // The child whose first step waits has had its row since the run was suspended: the
        // state records it, as it did then.
        let _ = waiting_for_approval::<W>(state, seq);
        // Encoded here: the future does not hold the state, which is not shared across
        // threads.
        let checkpoint = Definition::of::<W>().encode(run, 0, state, loops);
        let step = W::step_name(state);
        async move {
            let calls = self.store.calls(run, seq).await?;
            let Some((key, _)) = ApprovalRequest::pending(&calls) else {
                return Err(Error::NotPaused {
                    workflow: W::NAME,
                    step,
                });
            };
            let value = serde_json::to_string(approval).map_err(|error| Error::Checkpoint {
                workflow: W::NAME,
                source: error.into(),
            })?;
            let decision = CallRecord {
                key: format!("{key}{DECISION}"),
                value,
            };
            held.save_carried(checkpoint?, decision).await
        }
    }

    /// Whether the decision the approval pending at checkpoint `seq` of run `run` was given
    /// (at checkpoint `seq + 1`) is `approval`: `None` if no approval was pending there.
    pub(super) async fn decided(&self, run: RunId, seq: u64, approval: &Approval) -> Option<bool> {
        let asked = self.store.calls(run, seq).await.ok()?;
        let (key, _) = ApprovalRequest::pending(&asked)?;
        let given = self.store.calls(run, seq + 1).await.ok()?;
        let decision = format!("{key}{DECISION}");
        let record = given.iter().find(|record| record.key == decision);
        Some(record.is_some_and(|record| {
            serde_json::from_str::<Approval>(&record.value).is_ok_and(|given| given == *approval)
        }))
    }
}

/// The child run in `state`, the run's checkpoint `seq`, whose first step waits for an
/// approval, with its own at any depth: its record, its row's checkpoint 0, if it has no
/// checkpoint yet; `state` then records that it started from checkpoint `seq` (or from the
/// latest checkpoint of the child with checkpoints it runs under) and has its checkpoint 0.
/// The same each time for the same state and checkpoint: the write that suspends the run
/// creates the row, and the decision's checkpoint holds the state that says so.
fn waiting_for_approval<W: Workflow>(state: &mut W::State, seq: u64) -> Option<WaitingChild> {
    W::waiting_child(state, WaitingAt::approval(seq))
}

/// The error of a value given to a run at `state`, which waits at no pause that takes it.
pub(super) fn not_paused<W: Workflow>(state: &W::State) -> Error {
    Error::NotPaused {
        workflow: W::NAME,
        step: W::step_name(state),
    }
}

/// `value` read as an [`Approval`], for the approval pause of step `step`.
///
/// # Errors
///
/// [`Error::AnswerValue`] if it is not one.
pub(super) fn approval_of<W: Workflow>(
    step: &'static str,
    value: serde_json::Value,
) -> Result<Approval, Error> {
    serde_json::from_value(value).map_err(|source| Error::AnswerValue {
        workflow: W::NAME,
        step,
        expected: std::any::type_name::<Approval>(),
        source,
    })
}

/// The error of a typed value given to an approval pause of step `step`, which takes an
/// [`Approval`] ([`Runner::approve`]).
pub(super) fn not_an_approval<W: Workflow>(step: &'static str) -> Error {
    let why = "the run waits for a human's approval of a tool call: give it an `Approval` \
               with `Runner::approve`";
    Error::AnswerValue {
        workflow: W::NAME,
        step,
        expected: std::any::type_name::<Approval>(),
        source: <serde_json::Error as serde::de::Error>::custom(why),
    }
}
