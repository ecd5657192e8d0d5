//! [`Call`]: one model call being recorded, from before it starts to after it ends.

use tokio::time::Instant;

use super::ledger::{Ledger, Slot};
use crate::event::Scope;
use crate::provider::{ChatResponse, Usage};
use crate::Error;

/// One model call, recorded in the current ledger (and those it reports to), if any, and
/// told to the current run's subscribers, if any.
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
    /// The observed run, step and branch the call is made in.
    scope: Option<Scope>,
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
            scope: Scope::current(),
        })
    }

    /// Tells the run's subscribers that the model wrote `text`, if anyone listens.
    pub(crate) fn text_delta(&self, text: &str) {
        if let Some(scope) = &self.scope {
            scope.text_delta(text);
        }
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
        let (cost, result) =
            close_slots(std::mem::take(&mut self.slots), model, usage, latency, ok);
        if let Some(scope) = self.scope.take() {
            scope.call_finished(model, usage, cost, latency, ok);
        }
        result
    }
}

/// Closes each slot; returns the cost the innermost ledger (the first) estimated, and the
/// first error.
fn close_slots(
    slots: Vec<Slot>,
    model: &str,
    usage: Option<Usage>,
    latency: std::time::Duration,
    ok: bool,
) -> (f64, Result<(), Error>) {
    let mut result = Ok(());
    let mut first = None;
    for slot in slots {
        let (cost, closed) = match slot.close(model, usage, latency, ok) {
            Ok(cost) => (cost, Ok(())),
            Err((cost, error)) => (cost, Err(error)),
        };
        first.get_or_insert(cost);
        if result.is_ok() {
            result = closed;
        }
    }
    (first.unwrap_or(0.0), result)
}

impl Drop for Call {
    fn drop(&mut self) {
        if self.slots.is_empty() && self.scope.is_none() {
            return;
        }
        let latency = self.started.elapsed();
        let model = self.model.take().unwrap_or_default();
        let (cost, _) = close_slots(
            std::mem::take(&mut self.slots),
            &model,
            None,
            latency,
            false,
        );
        if let Some(scope) = self.scope.take() {
            scope.call_finished(&model, None, cost, latency, false);
        }
    }
}
