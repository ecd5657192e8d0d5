//! The budget of a [shared](super::RateLimit::shared) rate limit: kept in a checkpoint store,
//! so that every process using the store counts against it.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::Mutex;

use crate::error::Error;
use crate::store::{CheckpointStore, RateSlot};

/// A limit kept in `store` under `key`.
pub(super) struct Shared {
    store: Arc<dyn CheckpointStore>,
    key: String,
    calls: u32,
    period: Duration,
    /// Held while a caller of this process takes a place: they go in turn, and one at a time
    /// asks the store (the others wait here rather than poll it).
    turn: Mutex<()>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("key", &self.key)
            .field("calls", &self.calls)
            .field("period", &self.period)
            .finish_non_exhaustive()
    }
}

impl Shared {
    pub(super) fn new(
        store: Arc<dyn CheckpointStore>,
        key: String,
        calls: u32,
        period: Duration,
    ) -> Self {
        Shared {
            store,
            key,
            calls,
            period,
            turn: Mutex::new(()),
        }
    }

    /// Asks the store for a place until it gives one, sleeping on tokio's clock for as long
    /// as it says in between; returns when the store counted the call as started.
    pub(super) async fn acquire(&self) -> Result<SystemTime, Error> {
        let _turn = self.turn.lock().await;
        loop {
            let slot = self
                .store
                .take_rate_slot(&self.key, self.calls, self.period)
                .await?;
            match slot {
                RateSlot::Taken { at } => return Ok(at),
                RateSlot::Full { retry_in } => {
                    tracing::debug!(
                        key = %self.key,
                        wait_ms = retry_in.as_millis() as u64,
                        "shared rate limit: waiting for room"
                    );
                    tokio::time::sleep(retry_in).await;
                }
            }
        }
    }
}
