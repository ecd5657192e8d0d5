//! [`Call`]: one model call being recorded, from before it starts to after it ends.

use std::future::Future;

use tokio::time::Instant;

use super::Scope;
use crate::error::Error;
use crate::event::EventKind;
use crate::policy::Attempts;
use crate::usage::{Ended, Slot, Usage};

/// One model call, recorded in the ledgers of the current scope and of the scopes it was
/// started in (a run inside a step of another), if any, and told to the current run's
/// subscribers, if any.
///
/// [`begin`](Self::begin) counts the call, [`succeeded`](Self::succeeded) or
/// [`failed`](Self::failed) add what it spent. A call dropped before either (its future was
/// dropped by a timeout or a cancellation, or its stream before its end) counts as failed.
/// The requests its provider sent are counted while its future runs in
/// [`counting`](Self::counting).
pub(crate) struct Call {
    slots: Vec<Slot>,
    started: Instant,
    attempts: Attempts,
    /// The model asked for, to price the call when the response does not name one.
    model: Option<String>,
    /// The run, step and branch the call is made in.
    scope: Option<Scope>,
}

impl std::fmt::Debug for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("ledgers", &self.slots.len())
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

impl Call {
    /// Starts a call to `model` (the provider's default if `None`).
    ///
    /// # Errors
    ///
    /// [`Error::BudgetExceeded`] if the budget of a ledger it is recorded in is used up: the
    /// call must not be made.
    pub(crate) fn begin(model: Option<&str>) -> Result<Call, Error> {
        let scope = Scope::current();
        let mut slots: Vec<Slot> = Vec::new();
        let mut next = scope.as_ref();
        while let Some(at) = next {
            if let Some(ledger) = at.run.ledger() {
                match ledger.open_call(at.step()) {
                    Ok(slot) => slots.push(slot),
                    Err(error) => {
                        slots.iter().for_each(Slot::uncount);
                        return Err(error);
                    }
                }
            }
            next = at.run.parent.as_ref();
        }
        Ok(Call {
            slots,
            started: Instant::now(),
            attempts: Attempts::default(),
            model: model.map(str::to_owned),
            scope,
        })
    }

    /// Runs `call`, the provider's future of this call, counting the requests it sends.
    pub(crate) fn counting<F: Future>(&self, call: F) -> impl Future<Output = F::Output> {
        self.attempts.counting(call)
    }

    /// Tells the run's subscribers that the model wrote `text`, if anyone listens.
    pub(crate) fn text_delta(&self, text: &str) {
        if let Some(scope) = &self.scope {
            let (step, branch) = scope.place();
            scope.run.emit(|| crate::event::EventKind::TextDelta {
                step,
                branch,
                text: text.to_owned(),
            });
        }
    }

    /// Records a call that succeeded: the model that answered (empty if the response did not
    /// name it), and the tokens it used.
    ///
    /// # Errors
    ///
    /// [`Error::BudgetExceeded`] if the call went past the budget.
    pub(crate) fn succeeded(self, model: &str, usage: Option<Usage>) -> Result<(), Error> {
        let model = if model.is_empty() {
            self.model.clone().unwrap_or_default()
        } else {
            model.to_owned()
        };
        self.close(&model, usage, true)
    }

    /// Records a call that failed, having used `usage` if the provider said so before failing.
    pub(crate) fn failed(self, usage: Option<Usage>) {
        let model = self.model.clone().unwrap_or_default();
        // The call's own error is what the caller sees; a budget it went past stops the run at
        // the next call or step.
        let _ = self.close(&model, usage, false);
    }

    fn close(mut self, model: &str, usage: Option<Usage>, ok: bool) -> Result<(), Error> {
        let call = self.ended(usage, ok);
        let (cost, result) = close_slots(std::mem::take(&mut self.slots), model, &call);
        if let Some(scope) = self.scope.take() {
            scope.call_finished(model, &call, cost);
        }
        result
    }

    /// How the call ended, now.
    fn ended(&self, usage: Option<Usage>, ok: bool) -> Ended {
        Ended {
            usage,
            latency: self.started.elapsed(),
            attempts: self.attempts.get(),
            ok,
        }
    }
}

impl Scope {
    /// The step and branch calls made here are tagged with.
    fn place(&self) -> (Option<&'static str>, Option<usize>) {
        let step = self.run.step_name(self.step());
        (step, self.branch.as_ref().map(|branch| branch.index))
    }

    /// Tells the current run's subscribers, if any, the event `kind` makes of the step and
    /// branch it happens in: for what agents do besides model calls (their tool calls).
    pub(crate) fn tell(kind: impl FnOnce(Option<&'static str>, Option<usize>) -> EventKind) {
        if let Some(scope) = Scope::current() {
            let (step, branch) = scope.place();
            scope.run.emit(|| kind(step, branch));
        }
    }

    /// A call made here to `model` ended, at an estimated `cost_usd`.
    fn call_finished(&self, model: &str, call: &Ended, cost_usd: f64) {
        self.add_to_branch(call, cost_usd);
        let (step, branch) = self.place();
        self.run.emit(|| crate::event::EventKind::CallFinished {
            step,
            branch,
            model: model.to_owned(),
            usage: call.usage,
            cost_usd,
            latency: call.latency,
            attempts: call.attempts,
            ok: call.ok,
        });
    }
}

/// Closes each slot; returns the cost the innermost ledger (the first) estimated, and the
/// first error.
fn close_slots(slots: Vec<Slot>, model: &str, call: &Ended) -> (f64, Result<(), Error>) {
    let mut result = Ok(());
    let mut first = None;
    for slot in slots {
        let (cost, closed) = match slot.close(model, call) {
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
        let call = self.ended(None, false);
        let model = self.model.take().unwrap_or_default();
        let (cost, _) = close_slots(std::mem::take(&mut self.slots), &model, &call);
        if let Some(scope) = self.scope.take() {
            scope.call_finished(&model, &call, cost);
        }
    }
}
