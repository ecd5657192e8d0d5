//! [`Held`]: a lease this worker holds on a run, through which it writes the run's
//! checkpoints; and [`MidStep`], the checkpoints a step saves in its middle.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::codec::Definition;
use crate::store::{Checkpoint, CheckpointStore, Lease, RunId, RunStatus};
use crate::{BoxFuture, Checkpointer, Error, Loops};

/// A lease on a run, held by this worker: the run's writer.
pub(crate) struct Held {
    store: Arc<dyn CheckpointStore>,
    run: RunId,
    lease: Lease,
    /// The number of the run's latest checkpoint. Writes are serialized by this lock: the
    /// branches of a fan-out may save at the same time.
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

    /// Gives up the lease, unless a checkpoint already did, recording `error` as why the run
    /// stopped if there is one. Best effort: if the store cannot be reached, the lease
    /// expires on its own.
    pub(crate) async fn release(&self, error: Option<String>) {
        if !self.released.swap(true, Ordering::Relaxed) {
            let _ = self.store.release(self.run, &self.lease, error).await;
        }
    }
}

/// Saves the checkpoints a step makes in its middle ([`Context::checkpoint`](crate::Context::checkpoint)):
/// one per finished branch of a fan-out.
pub(crate) struct MidStep<S> {
    pub(crate) held: Arc<Held>,
    pub(crate) definition: Definition<S>,
}

impl<S> Checkpointer for MidStep<S>
where
    S: Serialize + DeserializeOwned + Send + 'static,
{
    fn save<'a>(
        &'a self,
        state: serde_json::Value,
        loops: &'a Loops,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let definition = &self.definition;
            // Reading the state back checks it is one, and gives its step and status.
            let typed = S::deserialize(&state).map_err(|error| definition.unsaved(error))?;
            let text = state.to_string();
            let checkpoint = definition.checkpoint(self.held.run(), 0, &typed, text, loops)?;
            self.held.save(checkpoint).await
        })
    }
}
