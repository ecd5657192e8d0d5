//! [`Held`]: a lease this worker holds on a run, through which it writes the run's
//! checkpoints; [`Checkpoints`], which saves the state after each step, and what saves each
//! finished branch of a fan-out or a map.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::codec::Definition;
use crate::error::Error;
use crate::future::BoxFuture;
use crate::run::Saver;
use crate::scope::BranchRecorder;
use crate::state::Loops;
use crate::store::{BranchRecord, Checkpoint, CheckpointStore, Lease, RunId, RunStatus};

/// A lease on a run, held by this worker: the run's writer.
pub(crate) struct Held {
    store: Arc<dyn CheckpointStore>,
    run: RunId,
    lease: Lease,
    /// The number of the run's latest checkpoint. Writes are serialized by this lock: the
    /// branches of a fan-out may finish at the same time.
    version: tokio::sync::Mutex<u64>,
    /// Whether the lease was given up, by saving a suspended or finished checkpoint.
    released: AtomicBool,
}

impl Held {
    pub(crate) fn new(
        store: Arc<dyn CheckpointStore>,
        run: RunId,
        lease: Lease,
        version: u64,
    ) -> Arc<Self> {
        Arc::new(Held {
            store,
            run,
            lease,
            version: tokio::sync::Mutex::new(version),
            released: AtomicBool::new(false),
        })
    }

    pub(crate) fn run(&self) -> RunId {
        self.run
    }

    /// Saves `checkpoint` as the run's next one (its `seq` is set here).
    ///
    /// # Errors
    ///
    /// What the store returns: [`Error::LeaseLost`] and [`Error::VersionConflict`] if
    /// another worker has taken the run over.
    pub(crate) async fn save(&self, mut checkpoint: Checkpoint) -> Result<(), Error> {
        let mut version = self.version.lock().await;
        checkpoint.seq = *version + 1;
        let releases = checkpoint.status != RunStatus::Running;
        self.store.save(&self.lease, checkpoint).await?;
        *version += 1;
        if releases {
            self.released.store(true, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Saves a branch of the fan-out or map the latest checkpoint is running, which has just
    /// finished.
    ///
    /// # Errors
    ///
    /// As [`save`](Self::save).
    async fn save_branch(&self, branch: BranchRecord) -> Result<(), Error> {
        let version = self.version.lock().await;
        let lease = &self.lease;
        self.store
            .save_branch(lease, self.run, *version, branch)
            .await
    }

    /// Extends the lease. A failure to reach the store is ignored: the lease still runs for
    /// a while, and the next renewal or write tries again.
    ///
    /// # Errors
    ///
    /// [`Error::LeaseLost`] or [`Error::RunNotFound`]: the run is no longer this worker's.
    pub(crate) async fn renew(&self) -> Result<(), Error> {
        match self.store.renew(self.run, &self.lease).await {
            Err(error @ (Error::LeaseLost { .. } | Error::RunNotFound { .. })) => Err(error),
            _ => Ok(()),
        }
    }

    /// Renews the lease every `every` until it is lost; returns the error that says so.
    pub(crate) async fn keep(self: Arc<Self>, every: Duration) -> Error {
        loop {
            tokio::time::sleep(every).await;
            if let Err(error) = self.renew().await {
                return error;
            }
        }
    }

    /// Gives up the lease, unless a checkpoint already did, recording `error` as why the run
    /// stopped if there is one. Best effort: if the store cannot be reached, the lease
    /// expires on its own.
    pub(crate) async fn release(&self, error: Option<String>) {
        if !self.released.swap(true, Ordering::Relaxed) {
            let _ = self.store.release(self.run, &self.lease, error).await;
        }
    }
}

/// Saves a run's state after each step, and each branch of a fan-out or a map as soon as it
/// finishes, through the lease `held`.
pub(crate) struct Checkpoints<S> {
    pub(crate) held: Arc<Held>,
    pub(crate) definition: Definition<S>,
}

impl<S> Saver<S> for Checkpoints<S>
where
    S: Serialize + DeserializeOwned + Send + 'static,
{
    fn save<'a>(&'a self, state: &'a S, loops: &'a Loops) -> BoxFuture<'a, Result<(), Error>> {
        // Encoded here, so that the future does not hold the state.
        let checkpoint = self.definition.encode(self.held.run(), 0, state, loops);
        Box::pin(async move { self.held.save(checkpoint?).await })
    }
}

impl BranchRecorder for Held {
    fn record(&self, index: usize, value: serde_json::Value) -> BoxFuture<'_, Result<(), Error>> {
        let branch = BranchRecord {
            index: u32::try_from(index).unwrap_or(u32::MAX),
            value: value.to_string(),
        };
        Box::pin(self.save_branch(branch))
    }
}
