//! [`Call`]: one model call being recorded, from before it starts to after it ends.

use tokio::time::Instant;

use super::ledger::{Ledger, Slot};
use crate::provider::{ChatResponse, Usage};
use crate::Error;

/// One model call, recorded in the current ledger (and those it reports to), if any.
///
/// [`begin`](Self::begin) counts the call, [`succeeded`](Self::succeeded) or
/// [`failed`](Self::failed) add what it spent. A call dropped before either (its future was
/// dropped by a timeout or a cancellation, or its stream before its end) counts as failed.
#[derive(Debug)]
pub(crate) struct Call {
    slots: Vec<Slot>,
    started: Instant,
    /// The model asked for, to price the call when the response does not name one.
    model: Option<String>,
}

impl Call {
    /// Starts a call to `model` (the provider's default if `None`).
    ///
    /// # Errors
    ///
    /// [`Error::BudgetExceeded`] if the current run's budget is used up: the call must not be
    /// made.
    pub(crate) fn begin(model: Option<&str>) -> Result<Call, Error> {
        let slots = match Ledger::current() {
            Some(ledger) => ledger.open_call()?,
            None => Vec::new(),
        };
        Ok(Call {
            slots,
            started: Instant::now(),
            model: model.map(str::to_owned),
        })
    }

    /// Records a call that answered `response`.
    ///
    /// # Errors
    ///
    /// [`Error::BudgetExceeded`] if the call went past the budget.
    pub(crate) fn succeeded(self, response: &ChatResponse) -> Result<(), Error> {
        let model = if response.model.is_empty() {
            self.model.as_deref().unwrap_or_default()
        } else {
            response.model.as_str()
        };
        let model = model.to_owned();
        self.close(&model, response.usage, true)
    }

    /// Records a call that failed, having used `usage` if the provider said so before failing.
    pub(crate) fn failed(self, usage: Option<Usage>) {
        let model = self.model.clone().unwrap_or_default();
        // The call's own error is what the caller sees; a budget it went past stops the run at
        // the next call or step.
        let _ = self.close(&model, usage, false);
    }

    fn close(mut self, model: &str, usage: Option<Usage>, ok: bool) -> Result<(), Error> {
        let latency = self.started.elapsed();
        let mut result = Ok(());
        for slot in std::mem::take(&mut self.slots) {
            let closed = slot.close(model, usage, latency, ok);
            if result.is_ok() {
                result = closed;
            }
        }
        result
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        if self.slots.is_empty() {
            return;
        }
        let latency = self.started.elapsed();
        let model = self.model.as_deref().unwrap_or_default();
        for slot in std::mem::take(&mut self.slots) {
            let _ = slot.close(model, None, latency, false);
        }
    }
}
