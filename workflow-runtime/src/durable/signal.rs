//! Signals: typed messages sent to a run by id, from any process, queued in the store until
//! the run reaches a step that receives them.

use super::Runner;
use crate::error::Error;
use crate::store::RunId;
use crate::workflow::{Signal, Workflow};

impl Runner {
    /// Sends run `run` of workflow `W` the message `value`, of a type a `receive` step of `W`
    /// takes (a type none takes does not compile): it is queued in the store after the
    /// messages of that type sent before it, and delivered once, in order, each to the next
    /// step of the run that receives that type (a message sent before the run gets there
    /// waits for it). Delivering a message and saving the checkpoint that holds it are one
    /// write, so a crash neither loses it nor delivers it twice. A worker picks up a run that
    /// waited for it. Returns the message's number in the run's queue.
    ///
    /// ```
    /// # use workflow_runtime::{Error, Runner, RunId, Signal};
    /// # async fn approve<W: Signal<bool>>(runner: &Runner, run: RunId) -> Result<(), Error> {
    /// runner.send::<W, bool>(run, true).await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::RunNotFound`]; [`Error::ChildRun`] for a child run (send to its parent);
    /// [`Error::DefinitionMismatch`] if the run is not one of `W` as
    /// compiled here; [`Error::SignalValue`] if the value does not serialize; the store's
    /// errors.
    pub async fn send<W: Signal<V>, V: serde::Serialize>(
        &self,
        run: RunId,
        value: V,
    ) -> Result<u64, Error> {
        let json = serde_json::to_string(&value).map_err(|source| Error::SignalValue {
            workflow: W::NAME,
            signal: <W as Signal<V>>::SIGNAL.to_owned(),
            expected: std::any::type_name::<V>(),
            source,
        })?;
        self.queue::<W>(run, <W as Signal<V>>::SIGNAL, json).await
    }

    /// [`send`](Self::send), with the signal named and the message as JSON, for messages
    /// that come from outside the program (a form, a webhook): checked against the type `W`
    /// receives as `signal` ([`Signal::SIGNAL`]: the type as written in the step) before it is
    /// queued.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownSignal`] if `W` receives no signal `signal`, [`Error::SignalValue`] if
    /// `value` is not of its type, and those of [`send`](Self::send).
    pub async fn send_json<W: Workflow>(
        &self,
        run: RunId,
        signal: &str,
        value: serde_json::Value,
    ) -> Result<u64, Error> {
        W::check_signal(signal, &value)?;
        self.queue::<W>(run, signal, value.to_string()).await
    }

    /// Queues `json` for run `run` of `W` under `signal`.
    async fn queue<W: Workflow>(
        &self,
        run: RunId,
        signal: &str,
        json: String,
    ) -> Result<u64, Error> {
        let info = self.store.run(run).await?;
        info.on_its_own()?;
        if (info.workflow.as_str(), info.fingerprint) != (W::NAME, W::FINGERPRINT) {
            return Err(Error::DefinitionMismatch {
                run,
                workflow: W::NAME,
                fingerprint: W::FINGERPRINT,
                stored_workflow: info.workflow,
                stored_fingerprint: info.fingerprint,
            });
        }
        self.store.send_signal(run, signal, json).await
    }
}
