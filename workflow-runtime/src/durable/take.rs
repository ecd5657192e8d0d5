//! Taking a run up: creating it with a lease, or claiming an existing one, and giving a
//! paused run its value.

use std::sync::Arc;

use super::codec::Definition;
use super::held::Held;
use super::Runner;
use crate::error::Error;
use crate::run::Report;
use crate::state::Loops;
use crate::store::{Checkpoint, Lease, NewRun, RunId};
use crate::workflow::Workflow;

impl Runner {
    pub(super) fn new_lease(&self) -> Lease {
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
        Ok(Held::new(Arc::clone(&self.store), id, lease, 0))
    }

    /// Takes the lease of run `run` and reads its latest checkpoint as a state of `W`.
    pub(super) async fn claim<W: Workflow>(
        &self,
        run: RunId,
    ) -> Result<(Arc<Held>, W::State, Loops), Error> {
        let lease = self.new_lease();
        let (info, latest) = self.store.claim(run, &lease).await?;
        let held = Held::new(Arc::clone(&self.store), run, lease, info.version);
        match latest.decode::<W>() {
            Ok((state, loops)) => Ok((held, state, loops)),
            Err(error) => {
                held.release(None).await;
                Err(error)
            }
        }
    }

    /// Takes run `run` up, gives its state a value with `give`, saves the result, and drives
    /// the run on.
    pub(super) async fn give<W: Workflow>(
        &self,
        workflow: &W,
        run: RunId,
        give: impl FnOnce(W::State) -> Result<W::State, Error>,
    ) -> Result<Report<W::Output>, Error> {
        let (held, state, loops) = self.claim::<W>(run).await?;
        let saved = match give(state) {
            Ok(state) => match Definition::of::<W>().encode(run, 0, &state, &loops) {
                Ok(checkpoint) => held.save(checkpoint).await.map(|()| state),
                Err(error) => Err(error),
            },
            Err(error) => Err(error),
        };
        match saved {
            Ok(state) => Ok(self.drive(workflow, held, state, loops, true).await),
            Err(error) => {
                held.release(None).await;
                Err(error)
            }
        }
    }
}
