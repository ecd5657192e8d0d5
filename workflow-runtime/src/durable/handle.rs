//! [`RunHandle`]: a run submitted for workers, whose result any process can await.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::{self, error::RecvError};

use crate::error::Error;
use crate::store::{CheckpointStore, RunId, RunInfo, RunStatus};
use crate::workflow::Workflow;

/// A run of `W` in a store, whose result any process sharing the store can await: from
/// [`Runner::submit`](crate::Runner::submit), or [`Runner::handle`](crate::Runner::handle)
/// with the run's id. Awaiting waits for the store to announce that the run ended, if it
/// can ([`CheckpointStore::run_ends`]: Postgres, once the handle has asked for it with
/// [`CheckpointStore::await_end`]), and polls it otherwise; the run itself is driven by a
/// [`Worker`](crate::Worker), wherever it runs.
pub struct RunHandle<W> {
    store: Arc<dyn CheckpointStore>,
    run: RunId,
    every: Duration,
    workflow: PhantomData<fn() -> W>,
}

impl<W> Clone for RunHandle<W> {
    fn clone(&self) -> Self {
        RunHandle {
            store: Arc::clone(&self.store),
            run: self.run,
            every: self.every,
            workflow: PhantomData,
        }
    }
}

impl<W> std::fmt::Debug for RunHandle<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunHandle")
            .field("run", &self.run)
            .field("poll", &self.every)
            .finish_non_exhaustive()
    }
}

impl<W: Workflow> RunHandle<W> {
    pub(crate) fn new(store: Arc<dyn CheckpointStore>, run: RunId) -> Self {
        RunHandle {
            store,
            run,
            every: Duration::from_millis(50),
            workflow: PhantomData,
        }
    }

    /// The run's id: give it to another process to await or cancel the run there.
    pub fn id(&self) -> RunId {
        self.run
    }

    /// Looks at the store every `every` while awaiting the result (default 50 ms). On a
    /// store that announces the runs that end, it looks when its run is announced, and
    /// only every 20 × `every` otherwise (1 s by default), in case an end went unannounced.
    pub fn poll_every(mut self, every: Duration) -> Self {
        self.every = every.max(Duration::from_millis(1));
        self
    }

    /// Where the run stands now.
    ///
    /// # Errors
    ///
    /// [`Error::RunNotFound`], the store's errors.
    pub async fn status(&self) -> Result<RunInfo, Error> {
        self.store.run(self.run).await
    }

    /// The run's output if it has finished, `None` if it has not ended yet (it waits for a
    /// worker, runs, or waits at a pause).
    ///
    /// # Errors
    ///
    /// [`Error::RunFailed`] if it failed (with why), [`Error::RunCancelled`] if it was
    /// cancelled; [`Error::RunNotFound`], [`Error::DefinitionMismatch`] if the run is of
    /// another workflow, [`Error::CorruptCheckpoint`], the store's errors.
    pub async fn try_result(&self) -> Result<Option<W::Output>, Error> {
        let info = self.status().await?;
        let run = self.run;
        match info.status {
            RunStatus::Finished => {}
            RunStatus::Failed => {
                let reason = info.error.unwrap_or_else(|| "no reason recorded".into());
                return Err(Error::RunFailed { run, reason });
            }
            RunStatus::Cancelled => return Err(Error::RunCancelled { run }),
            _ => return Ok(None),
        }
        let latest = self.store.checkpoint(run, None).await?;
        let (state, _) = latest.decode::<W>()?;
        match W::finish(state) {
            Ok(output) => Ok(Some(output)),
            Err(_) => Err(Error::CorruptCheckpoint {
                run: Some(run),
                seq: Some(latest.seq),
                reason: "the run is recorded as finished, but its latest state is not `end`".into(),
                source: None,
            }),
        }
    }

    /// Waits until the run ends, and gives its output. A run at a pause is waited for until
    /// it is answered and goes on.
    ///
    /// # Errors
    ///
    /// As [`try_result`](Self::try_result). A failed run can still be resumed by hand; this
    /// reports its failure when it is seen.
    pub async fn result(&self) -> Result<W::Output, Error> {
        // Listening, and the end asked for, before the first look: an end announced in
        // between is not missed.
        let mut ends = self.store.run_ends();
        if ends.is_some() {
            if let Err(error) = self.store.await_end(self.run).await {
                // Not announced then: the handle looks at the run every poll interval.
                tracing::debug!(
                    error = %error,
                    run = %self.run,
                    "run handle: asking for the run's end to be announced failed"
                );
                ends = None;
            }
        }
        loop {
            if let Some(output) = self.try_result().await? {
                return Ok(output);
            }
            match ends.as_mut() {
                Some(heard) => {
                    if !self.announced(heard).await {
                        ends = None;
                    }
                }
                None => tokio::time::sleep(self.every).await,
            }
        }
    }

    /// Waits until the store announces that this run may have ended (or that it may have
    /// missed announcing it), or for 20 × the poll interval; `false` if the store stopped
    /// announcing.
    async fn announced(&self, ends: &mut broadcast::Receiver<Option<RunId>>) -> bool {
        let heard = async {
            loop {
                match ends.recv().await {
                    Ok(Some(run)) if run != self.run => {}
                    Ok(_) | Err(RecvError::Lagged(_)) => return true,
                    Err(RecvError::Closed) => return false,
                }
            }
        };
        tokio::select! {
            heard = heard => heard,
            () = tokio::time::sleep(self.every.saturating_mul(20)) => true,
        }
    }
}
