//! Looking at runs: status, listing, history, pauses, outputs.

use crate::store::{Checkpoint, RunFilter, RunId, RunInfo, RunList};
use crate::{Error, Pause, Workflow};

use super::Runner;

impl Runner {
    /// Run `run`: its status, step, owner, latest checkpoint number.
    ///
    /// # Errors
    ///
    /// [`Error::RunNotFound`], the store's errors.
    pub async fn status(&self, run: RunId) -> Result<RunInfo, Error> {
        self.store.run(run).await
    }

    /// The runs that pass `filter`, oldest first: those that read back, and an error for each
    /// stored run that does not, so that one corrupt row hides no other run. See [`RunList`]
    /// for paging; [`RunList::into_runs`] turns a corrupt row into an error.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] if the store cannot be read.
    pub async fn list(&self, filter: RunFilter) -> Result<RunList, Error> {
        self.store.list(filter).await
    }

    /// Every checkpoint of run `run`, oldest first; [`Checkpoint::decode`] reads each one's
    /// state.
    ///
    /// # Errors
    ///
    /// [`Error::RunNotFound`], the store's errors.
    pub async fn history(&self, run: RunId) -> Result<Vec<Checkpoint>, Error> {
        self.store.history(run).await
    }

    /// The pause run `run` waits at, with what it shows, or `None` if it does not wait.
    ///
    /// # Errors
    ///
    /// [`Error::RunNotFound`], the errors of [`Checkpoint::decode`], the store's errors.
    pub async fn pending<W: Workflow>(&self, run: RunId) -> Result<Option<Pause>, Error> {
        let (state, _) = self.store.checkpoint(run, None).await?.decode::<W>()?;
        Ok(W::pause(&state))
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
