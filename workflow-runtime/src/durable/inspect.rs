//! Looking at runs: status, listing, history, pauses, outputs; and keeping history small:
//! pruning checkpoints, deleting old runs.

use super::Runner;
use crate::error::Error;
use crate::store::{
    Checkpoint, LoggedEvent, Retention, RunFilter, RunId, RunInfo, RunList, RunStatus,
};
use crate::workflow::{Pause, PauseToken, Workflow};

impl Runner {
    /// Run `run`: its status, step, owner, latest checkpoint number.
    ///
    /// # Errors
    ///
    /// [`Error::RunNotFound`], the store's errors.
    pub async fn status(&self, run: RunId) -> Result<RunInfo, Error> {
        self.store.run(run).await
    }

    /// The runs that pass `filter`, oldest first, each with what it spent
    /// ([`RunInfo::spent`]): those that read back, and an error for each stored run that does
    /// not, so that one corrupt row hides no other run. See [`RunList`] for paging; [`RunList::into_runs`] turns a corrupt row into an error.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] if the store cannot be read.
    pub async fn list(&self, filter: RunFilter) -> Result<RunList, Error> {
        self.store.list(filter).await
    }

    /// Every checkpoint of run `run` that is kept, oldest first; [`Checkpoint::decode`] reads
    /// each one's state. See [`history_page`](Self::history_page) to read a long history a
    /// page at a time.
    ///
    /// # Errors
    ///
    /// [`Error::RunNotFound`], the store's errors.
    pub async fn history(&self, run: RunId) -> Result<Vec<Checkpoint>, Error> {
        self.store.history(run).await
    }

    /// The checkpoints of run `run` numbered `from` or more, oldest first, at most `limit`:
    /// a page of its history. The next page starts after the last one's
    /// [`seq`](Checkpoint::seq); a page shorter than `limit` is the last.
    ///
    /// # Errors
    ///
    /// [`Error::RunNotFound`], the store's errors.
    pub async fn history_page(
        &self,
        run: RunId,
        from: u64,
        limit: u32,
    ) -> Result<Vec<Checkpoint>, Error> {
        self.store.history_page(run, from, limit).await
    }

    /// Deletes the checkpoints of run `run` but its last `keep` (at least 1: the latest, which
    /// the run resumes from, is always kept), and returns how many it deleted. The run goes on
    /// as before: its next checkpoint is numbered after its latest. A deleted checkpoint can
    /// no longer be [forked](Self::fork) from ([`Error::CheckpointNotFound`]).
    ///
    /// A long loop writes one checkpoint per step; pruning its finished or suspended runs (or
    /// running ones, from time to time) keeps the store small.
    ///
    /// ```
    /// # use std::future::Future;
    /// # use std::sync::Arc;
    /// # use workflow_runtime::{Context, Error, MemoryStore, Runner, Workflow};
    /// # struct Count;
    /// # #[derive(serde::Serialize, serde::Deserialize)]
    /// # enum State { Step(u32), End(u32) }
    /// # impl Workflow for Count {
    /// #     type Input = u32;
    /// #     type Output = u32;
    /// #     type State = State;
    /// #     const NAME: &'static str = "Count";
    /// #     const FINGERPRINT: u64 = 1;
    /// #     const STEPS: &'static [&'static str] = &["step"];
    /// #     fn start(input: u32) -> State { State::Step(input) }
    /// #     fn finish(state: State) -> Result<u32, State> {
    /// #         match state { State::End(out) => Ok(out), other => Err(other) }
    /// #     }
    /// #     fn step_name(state: &State) -> &'static str {
    /// #         match state { State::Step(_) => "step", State::End(_) => "end" }
    /// #     }
    /// #     fn transition<'a>(&'a self, state: State, _: &'a mut Context)
    /// #         -> impl Future<Output = Result<State, Error>> + Send + 'a {
    /// #         async move {
    /// #             Ok(match state {
    /// #                 State::Step(0) => State::End(0),
    /// #                 State::Step(n) => State::Step(n - 1),
    /// #                 end => end,
    /// #             })
    /// #         }
    /// #     }
    /// # }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// // `Count` counts down from its input, one step (and one checkpoint) per number.
    /// let runner = Runner::new(Arc::new(MemoryStore::new()));
    /// let run = runner.start(&Count, 100).await?;
    /// assert_eq!(runner.history(run.id).await?.len(), 102);
    ///
    /// assert_eq!(runner.prune_history(run.id, 2).await?, 100);
    /// let kept: Vec<u64> = runner.history(run.id).await?.iter().map(|c| c.seq).collect();
    /// assert_eq!(kept, [100, 101]);
    /// assert_eq!(runner.output::<Count>(run.id).await?, Some(0));
    ///
    /// // Paging: from checkpoint 0 (pruned), the first page starts at the first kept.
    /// let page = runner.history_page(run.id, 0, 1).await?;
    /// assert_eq!(page[0].seq, 100);
    /// # Ok::<(), Error>(()) }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::RunNotFound`], the store's errors.
    pub async fn prune_history(&self, run: RunId, keep: u64) -> Result<u64, Error> {
        self.store.prune(run, keep).await
    }

    /// Deletes the runs `retention` selects, with all their checkpoints: finished runs (and
    /// failed ones, if it says so) last written before its time, and not leased. Returns how
    /// many runs it deleted. Running and suspended runs are never deleted.
    ///
    /// ```no_run
    /// # async fn clean(runner: workflow_runtime::Runner) -> Result<(), workflow_runtime::Error> {
    /// use std::time::Duration;
    /// use workflow_runtime::store::Retention;
    ///
    /// let week = Retention::older_than(Duration::from_secs(7 * 24 * 3600)).and_failed();
    /// let deleted = runner.delete_runs(week).await?;
    /// println!("deleted {deleted} runs");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// The store's errors.
    pub async fn delete_runs(&self, retention: Retention) -> Result<u64, Error> {
        self.store.delete_runs(retention).await
    }

    /// The entries of run `run`'s event log numbered `from` or more, oldest first, at most
    /// `limit`: a page of what the run did, as its events told it (steps started and finished
    /// with their elapsed time and usage, retries, branches, model calls, pauses, errors;
    /// never the model's text), across every worker and call that drove it. Each entry's
    /// [`event`](LoggedEvent::event) is the JSON of an [`EventKind`](crate::event::EventKind).
    ///
    /// The events are saved with each checkpoint, and the last ones when the run stops: a
    /// reader that follows a live run asks again from after the last entry it read. A run
    /// whose process crashed has the events up to its last checkpoint.
    ///
    /// ```
    /// # use std::future::Future;
    /// # use std::sync::Arc;
    /// # use workflow_runtime::{Context, Error, MemoryStore, Runner, Workflow};
    /// # struct Double;
    /// # #[derive(serde::Serialize, serde::Deserialize)]
    /// # enum State { Double(u32), End(u32) }
    /// # impl Workflow for Double {
    /// #     type Input = u32;
    /// #     type Output = u32;
    /// #     type State = State;
    /// #     const NAME: &'static str = "Double";
    /// #     const FINGERPRINT: u64 = 1;
    /// #     const STEPS: &'static [&'static str] = &["double"];
    /// #     fn start(input: u32) -> State { State::Double(input) }
    /// #     fn finish(state: State) -> Result<u32, State> {
    /// #         match state { State::End(out) => Ok(out), other => Err(other) }
    /// #     }
    /// #     fn step_name(state: &State) -> &'static str {
    /// #         match state { State::Double(_) => "double", State::End(_) => "end" }
    /// #     }
    /// #     fn transition<'a>(&'a self, state: State, _: &'a mut Context)
    /// #         -> impl Future<Output = Result<State, Error>> + Send + 'a {
    /// #         async move { Ok(match state { State::Double(x) => State::End(x * 2), end => end }) }
    /// #     }
    /// # }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let runner = Runner::new(Arc::new(MemoryStore::new()));
    /// let run = runner.start(&Double, 21).await?;
    /// let log = runner.events(run.id, 0, 100).await?;
    /// let kinds: Vec<serde_json::Value> =
    ///     log.iter().map(|entry| serde_json::from_str(&entry.event).unwrap()).collect();
    /// let kinds: Vec<&str> = kinds.iter().map(|kind| kind["type"].as_str().unwrap()).collect();
    /// assert_eq!(kinds, ["run_started", "step_started", "step_finished", "completed"]);
    /// assert_eq!(log[3].seq, 3);
    /// # Ok::<(), Error>(()) }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::RunNotFound`], the store's errors; [`Error::CorruptCheckpoint`] for an entry
    /// that does not read back.
    pub async fn events(
        &self,
        run: RunId,
        from: u64,
        limit: u32,
    ) -> Result<Vec<LoggedEvent>, Error> {
        self.store.events(run, from, limit).await
    }

    /// The last `limit` entries of run `run`'s event log, in order: what a view of a long run
    /// shows first, before it reads on with [`events`](Self::events) from after the last one.
    ///
    /// # Errors
    ///
    /// As [`events`](Self::events).
    pub async fn latest_events(&self, run: RunId, limit: u32) -> Result<Vec<LoggedEvent>, Error> {
        self.store.latest_events(run, limit).await
    }

    /// The pause run `run` waits at, with what it shows and the [token](Pause::token) to
    /// answer it with, or `None` if it does not wait. A run whose step waits for a human's
    /// approval of a tool call shows that call: its pause
    /// [`is_approval`](Pause::is_approval), and its payload is the
    /// [`ApprovalRequest`](crate::ApprovalRequest).
    ///
    /// # Errors
    ///
    /// [`Error::RunNotFound`], the errors of [`Checkpoint::decode`], the store's errors.
    pub async fn pending<W: Workflow>(&self, run: RunId) -> Result<Option<Pause>, Error> {
        let latest = self.store.checkpoint(run, None).await?;
        let (state, _) = latest.decode::<W>()?;
        let token = PauseToken::new(run, latest.seq);
        if let Some(pause) = W::pause(&state) {
            return Ok(Some(pause.at(token)));
        }
        match self.store.run(run).await?.status {
            RunStatus::Suspended => {
                self.approval_at(run, latest.seq, W::step_name(&state))
                    .await
            }
            _ => Ok(None),
        }
    }

    /// The output of run `run`, if it has finished.
    ///
    /// # Errors
    ///
    /// [`Error::RunNotFound`], the errors of [`Checkpoint::decode`], the store's errors.
    pub async fn output<W: Workflow>(&self, run: RunId) -> Result<Option<W::Output>, Error> {
        let (state, _) = self.store.checkpoint(run, None).await?.decode::<W>()?;
        Ok(W::finish(state).ok())
    }
}
