//! What the lease of a run knows of the calls its step in flight recorded: read from the
//! store once, for the step in flight when this worker took the run (a later step starts from
//! a checkpoint this worker saved, and finds only what it records itself), and kept until the
//! step's checkpoint is saved.

use std::collections::HashMap;
use std::sync::{MutexGuard, PoisonError};

use super::held::Held;
use crate::error::Error;
use crate::future::BoxFuture;
use crate::store::CallRecord;

/// The calls recorded at one checkpoint, and how many times each key was asked for there.
#[derive(Default)]
pub(super) struct Memo {
    /// The checkpoint the step in flight started from.
    version: u64,
    /// Whether `values` holds every record of the store at `version`.
    loaded: bool,
    /// The first checkpoint this worker saved: nothing was recorded at it or after it before
    /// this worker took the run.
    first_fresh: u64,
    values: HashMap<String, String>,
    counts: HashMap<String, u32>,
}

impl Memo {
    /// The memo of a lease taken at checkpoint `taken`: the steps that start from a later
    /// checkpoint (one this worker saves) record nothing but what they record themselves.
    pub(super) fn new(taken: u64) -> Self {
        Memo {
            version: taken,
            first_fresh: taken.saturating_add(1),
            ..Memo::default()
        }
    }

    /// The memo of a run this worker created: nothing is recorded at any of its checkpoints
    /// but what it records.
    pub(super) fn created() -> Self {
        Memo {
            loaded: true,
            ..Memo::default()
        }
    }

    /// The memo of checkpoint `version`: this one, or a new one if it is of another.
    fn at(&mut self, version: u64) -> &mut Self {
        if self.version != version {
            *self = Memo {
                version,
                loaded: version >= self.first_fresh,
                first_fresh: self.first_fresh,
                ..Memo::default()
            };
        }
        self
    }
}

impl Held {
    fn memo(&self) -> MutexGuard<'_, Memo> {
        self.memo.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What call `key` of the step in flight returned, if it is recorded.
    pub(super) fn recall_call<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, Error>> {
        Box::pin(async move {
            let version = self.version();
            {
                let mut memo = self.memo();
                let memo = memo.at(version);
                if memo.loaded {
                    return Ok(memo.values.get(key).cloned());
                }
            }
            let calls = self.store.calls(self.run(), version).await?;
            let mut memo = self.memo();
            let memo = memo.at(version);
            for CallRecord { key, value } in calls {
                memo.values.entry(key).or_insert(value);
            }
            memo.loaded = true;
            Ok(memo.values.get(key).cloned())
        })
    }

    /// Records `value` as what call `key` of the step in flight returned.
    pub(super) fn remember_call(
        &self,
        key: String,
        value: String,
    ) -> BoxFuture<'_, Result<(), Error>> {
        let version = self.version();
        Box::pin(async move {
            let call = CallRecord {
                key: key.clone(),
                value: value.clone(),
            };
            self.store
                .save_call(&self.lease, self.run(), version, call)
                .await?;
            self.memo().at(version).values.entry(key).or_insert(value);
            Ok(())
        })
    }

    /// How many times `key` was counted in the step in flight before, counting this time.
    pub(super) fn count_call(&self, key: &str) -> u32 {
        let version = self.version();
        let mut memo = self.memo();
        let memo = memo.at(version);
        match memo.counts.get_mut(key) {
            Some(count) => {
                *count += 1;
                *count - 1
            }
            None => {
                memo.counts.insert(key.to_owned(), 1);
                0
            }
        }
    }

    /// Forgets the counts of the keys that start with `prefix`.
    pub(super) fn restart_calls(&self, prefix: &str) {
        let version = self.version();
        let mut memo = self.memo();
        memo.at(version)
            .counts
            .retain(|key, _| !key.starts_with(prefix));
    }
}
