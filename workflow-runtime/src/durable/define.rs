//! Recording the definitions of the workflows a runner creates runs of, once each.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

use super::Runner;
use crate::definition::WorkflowDefinition;
use crate::workflow::Workflow;

/// The workflows (name and fingerprint) whose definition a runner has recorded.
pub(super) type Defined = Mutex<HashSet<(&'static str, u64)>>;

impl Runner {
    /// Records the definition of `W` in the store, the first time this runner (or a clone)
    /// creates a run of it. Best effort: a store that fails now is asked again next time, and
    /// the run is created all the same (its definition is for tools to show).
    pub(super) async fn define<W: Workflow>(&self) {
        let key = (W::NAME, W::FINGERPRINT);
        let lock = || self.defined.lock().unwrap_or_else(PoisonError::into_inner);
        if lock().contains(&key) {
            return;
        }
        let definition = WorkflowDefinition::of::<W>();
        if self.store.save_definition(definition).await.is_ok() {
            lock().insert(key);
        }
    }
}
