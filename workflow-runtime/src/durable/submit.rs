//! Runs for workers: submitting a run (idempotently, under a caller-chosen id), a handle on
//! it, and cancelling a run by id.

use super::approve::{approval_of, not_an_approval};
use super::handle::RunHandle;
use super::take::same_json;
use super::Runner;
use crate::context::WaitingAt;
use crate::error::Error;
use crate::state::Loops;
use crate::store::{Cancel, Checkpoint, NewRun, RunId};
use crate::workflow::{Answer, PauseToken, Workflow};

impl Runner {
    /// Creates a run of `W` on `input` for any [`Worker`](crate::Worker) that serves `W` to
    /// pick up, and returns a handle whose result any process can await. Nothing runs here.
    ///
    /// # Errors
    ///
    /// [`Error::Checkpoint`] if the state does not serialize; the store's errors.
    pub async fn submit<W: Workflow>(&self, input: W::Input) -> Result<RunHandle<W>, Error> {
        self.submit_with_id::<W>(RunId::new(), input).await
    }

    /// [`submit`](Self::submit) under the run id `run`, chosen by the caller (derived from a
    /// request id, say): submitting again with the same id, workflow and input returns the
    /// same run, whatever it has done since, so a retried request never starts a second run.
    /// The input is compared while the run's first checkpoint is kept (it is until
    /// [pruned](Self::prune_history)); after that, the workflow and its fingerprint are.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use workflow_runtime::{Error, MemoryStore, Runner, RunId, Workflow};
    /// # async fn order<W: Workflow<Input = u32>>(runner: &Runner) -> Result<(), Error> {
    /// let id = RunId::new();
    /// let first = runner.submit_with_id::<W>(id, 7).await?;
    /// let again = runner.submit_with_id::<W>(id, 7).await?;   // a retried request
    /// assert_eq!(first.id(), again.id());
    /// let other = runner.submit_with_id::<W>(id, 8).await;    // another input
    /// assert!(matches!(other, Err(Error::RunExists { .. })));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::RunExists`] if a run with id `run` exists with another workflow, definition
    /// or input; [`Error::Checkpoint`] if the state does not serialize; the store's errors.
    pub async fn submit_with_id<W: Workflow>(
        &self,
        run: RunId,
        input: W::Input,
    ) -> Result<RunHandle<W>, Error> {
        self.define::<W>().await;
        let mut state = W::start(input);
        let first =
            super::first_checkpoint::<W>(run, &mut state, &Loops::new(), WaitingAt::pause(0))?;
        let new = NewRun {
            first: first.clone(),
            parent: None,
            lease: None,
        };
        match self.store.create(new).await {
            Ok(()) => Ok(self.handle(run)),
            Err(Error::RunExists { .. }) if self.same_run(&first).await? => Ok(self.handle(run)),
            Err(error) => Err(error),
        }
    }

    /// Whether the stored run `first.run` is the one `first` would create.
    async fn same_run(&self, first: &Checkpoint) -> Result<bool, Error> {
        let info = self.store.run(first.run).await?;
        if info.workflow != first.workflow || info.fingerprint != first.fingerprint {
            return Ok(false);
        }
        let page = self.store.history_page(first.run, 0, 1).await?;
        Ok(match page.first() {
            Some(stored) if stored.seq == 0 => {
                same_json(&stored.state, &first.state) && stored.loops == first.loops
            }
            // Pruned: the workflow and its definition are all that is left to compare.
            _ => true,
        })
    }

    /// Gives the pause `pause` names the value `value` it waits for, as
    /// [`answer`](Self::answer) does, but leaves driving the run on to a
    /// [`Worker`](crate::Worker): the answered state is saved, and the run waits for any
    /// worker that serves `W`. Returns a handle on the run.
    ///
    /// # Errors
    ///
    /// As [`answer`](Self::answer), before anything is saved.
    pub async fn submit_answer<W: Answer<V>, V>(
        &self,
        pause: PauseToken,
        value: V,
    ) -> Result<RunHandle<W>, Error> {
        let (held, _, _) = self
            .given::<W>(
                pause,
                |state| W::answer(state, value),
                |step| Err(not_an_approval::<W>(step)),
            )
            .await?;
        held.release(None).await;
        Ok(self.handle(pause.run))
    }

    /// [`submit_answer`](Self::submit_answer) with the value as JSON from outside the
    /// program, checked as [`answer_json`](Self::answer_json) checks it.
    ///
    /// # Errors
    ///
    /// As [`answer_json`](Self::answer_json), before anything is saved.
    pub async fn submit_answer_json<W: Workflow>(
        &self,
        pause: PauseToken,
        value: serde_json::Value,
    ) -> Result<RunHandle<W>, Error> {
        let (held, _, _) = self
            .given::<W>(
                pause,
                |state| W::answer_json(state, value.clone()),
                |step| approval_of::<W>(step, value.clone()),
            )
            .await?;
        held.release(None).await;
        Ok(self.handle(pause.run))
    }

    /// Records `value` as the answer to the pause `pause` names, for a [`Worker`](crate::Worker)
    /// of the run's workflow to give it: what a tool without the workflow's code does
    /// (`workflow answer`, the console). Nothing runs here, and the type of `value` is not
    /// checked here either: the worker that picks the run up gives it with
    /// [`Workflow::answer_json`], and a value the pause does not take is refused there; the
    /// run then still waits at its pause, and its event log says why
    /// ([`EventKind::AnswerRejected`](crate::event::EventKind::AnswerRejected)). Until a worker
    /// has taken it up, a second answer to the same pause is refused.
    ///
    /// ```
    /// # use workflow_runtime::{Error, PauseToken, RunId, Runner};
    /// # async fn approve(runner: &Runner, run: RunId, waiting_at: u64) -> Result<(), Error> {
    /// let pause = PauseToken::new(run, waiting_at);
    /// runner.record_answer(pause, &serde_json::json!(true)).await?;
    /// // A double click: refused, and said to be the same value.
    /// let again = runner.record_answer(pause, &serde_json::json!(true)).await;
    /// assert!(matches!(again, Err(Error::AlreadyAnswered { repeated: true, .. })));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::RunNotSuspended`] if the run does not wait at a pause,
    /// [`Error::AlreadyAnswered`] if the pause has an answer recorded already or the run has
    /// gone on from it, [`Error::CheckpointNotFound`], [`Error::RunNotFound`],
    /// [`Error::ChildRun`] for a child run (answer its parent's pause), the store's errors.
    pub async fn record_answer(
        &self,
        pause: PauseToken,
        value: &serde_json::Value,
    ) -> Result<(), Error> {
        self.store.run(pause.run).await?.on_its_own()?;
        let text = value.to_string();
        self.store.record_answer(pause.run, pause.seq, text).await
    }

    /// A handle on run `run` of `W`, to await its result from any process. Whether the run
    /// exists, and is of `W`, is checked when the handle looks at it.
    pub fn handle<W: Workflow>(&self, run: RunId) -> RunHandle<W> {
        RunHandle::new(self.store().clone(), run)
    }

    /// Cancels run `run`, from any process sharing the store. A run no worker holds (waiting
    /// to be picked up, at a pause, or whose worker died) is recorded as cancelled at once.
    /// A run a worker is driving stops at its next checkpoint, or mid-step, dropping the step
    /// in flight, when the worker next renews its lease (every third of
    /// [`lease`](Self::lease)), and is then recorded as cancelled. A cancelled run never
    /// runs again: resuming it is [`Error::RunCancelled`]. Cancelling a run that has ended
    /// (finished, failed, cancelled) changes nothing, and says so: [`Cancel::Ended`].
    ///
    /// # Errors
    ///
    /// [`Error::RunNotFound`], [`Error::ChildRun`] for a child run (cancel its parent,
    /// which ends the child with it), the store's errors.
    pub async fn cancel(&self, run: RunId) -> Result<Cancel, Error> {
        self.store.run(run).await?.on_its_own()?;
        self.store.cancel(run).await
    }
}
