//! [`Ledger`]: where the calls of one run are recorded, per step and in total, against its
//! budget.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::{Budget, Ended, Pricing, SavedUsage, StepUsage, UsageReport, UsageTotals};
use crate::error::{BudgetLimit, Error};

/// The record of the model calls of one run: totals per run and per step, the run's
/// [`Budget`] and [`Pricing`]. Cheap to clone: clones share the record.
///
/// Every run that reports its usage or has a budget has one, and you rarely touch it. Open one
/// yourself to account for calls made outside a run: agents called inside
/// [`scope`](Self::scope) record their calls in it. A ledger opened inside a run (in one of
/// its steps) also reports every call to that run, attributed to that step, and the run's
/// budget applies too.
///
/// ```
/// use std::sync::Arc;
/// use workflow_runtime::provider::{ChatResponse, Scripted, Usage};
/// use workflow_runtime::usage::{Budget, Ledger};
/// use workflow_runtime::{Agent, Error};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let model = Scripted::new().replies(["one", "two"].map(|text| ChatResponse::new(text).with_usage(Usage::new(5, 5))));
/// let agent = Agent::builder(Arc::new(model)).build();
///
/// agent.prompt("not recorded: no ledger").await.unwrap();
/// let ledger = Ledger::new("batch").budget(Budget::new().max_calls(1));
/// let second = ledger.scope(async { agent.prompt("recorded").await }).await.unwrap();
/// assert_eq!(second, "two");
/// let third = ledger.scope(agent.prompt("over budget")).await;
/// assert!(matches!(third, Err(Error::BudgetExceeded { .. })));
/// assert_eq!(ledger.report().total.calls, 1);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Ledger(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    workflow: &'static str,
    steps: &'static [&'static str],
    /// Whether the budget has been found used up: the run stops at its next step.
    exhausted: AtomicBool,
    /// Whether anything was ever recorded (or the ledger started from usage saved before):
    /// until then, a checkpoint saves no usage without taking the lock.
    spent: AtomicBool,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    budget: Budget,
    pricing: Arc<Pricing>,
    total: UsageTotals,
    /// Per step, indexed like `Inner::steps`; grown on demand.
    steps: Vec<UsageTotals>,
    /// The limit found used up, what was used then, and the step whose call found it.
    exhausted: Option<(BudgetLimit, BudgetLimit, Option<&'static str>)>,
}

/// One call counted in one ledger, in the step it was made in, until it is closed with what it
/// spent.
#[derive(Debug)]
pub(crate) struct Slot {
    ledger: Ledger,
    step: usize,
}

impl Ledger {
    /// A ledger named `name`, with no steps, no budget and no prices: for calls made outside a
    /// run. The name stands for the workflow's in reports and errors.
    pub fn new(name: &'static str) -> Self {
        Self::for_run(name, &[])
    }

    /// A ledger for a run of workflow `workflow`, which attributes calls to `steps`.
    pub(crate) fn for_run(workflow: &'static str, steps: &'static [&'static str]) -> Self {
        Ledger(Arc::new(Inner {
            workflow,
            steps,
            exhausted: AtomicBool::new(false),
            spent: AtomicBool::new(false),
            state: Mutex::new(State::default()),
        }))
    }

    /// Sets the budget of the calls recorded here.
    pub fn budget(self, budget: Budget) -> Self {
        self.lock().budget = budget;
        self
    }

    /// Sets the prices the cost of the calls recorded here is estimated with.
    pub fn pricing(self, pricing: impl Into<Arc<Pricing>>) -> Self {
        self.lock().pricing = pricing.into();
        self
    }

    /// The prices the cost of the calls recorded here is estimated with.
    pub(crate) fn prices(&self) -> Arc<Pricing> {
        Arc::clone(&self.lock().pricing)
    }

    /// Starts the ledger from `saved`, what the run spent before it was resumed: its totals,
    /// and those of its steps that are among the ledger's (the others count in the total only).
    pub(crate) fn starting_from(self, saved: &SavedUsage) -> Self {
        if saved.is_empty() {
            return self;
        }
        {
            let mut state = self.lock();
            state.total = saved.total;
            for (name, totals) in &saved.steps {
                if let Some(step) = self.0.steps.iter().position(|step| step == name) {
                    if let Some(slot) = state.step_mut(self.0.steps, step) {
                        *slot = *totals;
                    }
                }
            }
        }
        self.0.spent.store(true, Ordering::Relaxed);
        self
    }

    /// What the calls recorded so far spent, as a durable run saves it with a checkpoint:
    /// empty, without taking the lock, until a call is made.
    pub(crate) fn saved(&self) -> SavedUsage {
        if !self.0.spent.load(Ordering::Relaxed) {
            return SavedUsage::default();
        }
        let state = self.lock();
        let steps = self.0.steps.iter().zip(&state.steps);
        SavedUsage {
            total: state.total,
            steps: steps
                .filter(|(_, totals)| totals.calls > 0)
                .map(|(step, totals)| ((*step).to_owned(), *totals))
                .collect(),
        }
    }

    /// The name of the workflow (or of the ledger, if opened by hand).
    pub fn workflow(&self) -> &'static str {
        self.0.workflow
    }

    /// What the calls recorded so far spent.
    pub fn report(&self) -> UsageReport {
        let state = self.lock();
        let steps = self.0.steps.iter().zip(&state.steps);
        UsageReport {
            workflow: self.0.workflow,
            total: state.total,
            steps: steps
                .filter(|(_, totals)| totals.calls > 0)
                .map(|(step, totals)| StepUsage {
                    step,
                    totals: *totals,
                })
                .collect(),
        }
    }

    /// Whether `other` is this ledger (or a clone of it).
    pub(crate) fn same(&self, other: &Ledger) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// What the calls of step number `step` spent so far, in all its runs.
    pub(crate) fn step_totals(&self, step: usize) -> UsageTotals {
        self.lock().steps.get(step).copied().unwrap_or_default()
    }

    /// What all the calls recorded here spent so far.
    pub(crate) fn totals(&self) -> UsageTotals {
        self.lock().total
    }

    /// Whether the budget was found used up (the step that found it may have gone on anyway):
    /// the run must stop with [`exhausted_error`](Self::exhausted_error) before its next step.
    #[inline]
    pub(crate) fn is_exhausted(&self) -> bool {
        self.0.exhausted.load(Ordering::Relaxed)
    }

    /// The error of a run whose budget was found used up.
    #[cold]
    pub(crate) fn exhausted_error(&self) -> Error {
        // `exhaust` records the limit before it raises the flag, so it is always there.
        let exhausted = self.lock().exhausted;
        let (limit, used, step) =
            exhausted.unwrap_or((BudgetLimit::Calls(0), BudgetLimit::Calls(0), None));
        self.budget_error(limit, used, step)
    }

    /// Counts a call about to be made in step number `step` (`usize::MAX` outside any step),
    /// unless the budget is already used up.
    ///
    /// # Errors
    ///
    /// [`Error::BudgetExceeded`] if the budget is used up; the call is then not counted.
    pub(crate) fn open_call(&self, step: usize) -> Result<Slot, Error> {
        let mut state = self.lock();
        if let Some((limit, used)) = state.budget.reached(&state.total) {
            return Err(self.exhaust(&mut state, limit, used, step));
        }
        state.total.calls += 1;
        self.0.spent.store(true, Ordering::Relaxed);
        if let Some(totals) = state.step_mut(self.0.steps, step) {
            totals.calls += 1;
        }
        Ok(Slot {
            ledger: self.clone(),
            step,
        })
    }

    /// Records that the budget is used up, and the error that says so.
    fn exhaust(
        &self,
        state: &mut State,
        limit: BudgetLimit,
        used: BudgetLimit,
        step: usize,
    ) -> Error {
        let step = self.0.steps.get(step).copied();
        state.exhausted.get_or_insert((limit, used, step));
        self.0.exhausted.store(true, Ordering::Relaxed);
        self.budget_error(limit, used, step)
    }

    fn budget_error(
        &self,
        limit: BudgetLimit,
        used: BudgetLimit,
        step: Option<&'static str>,
    ) -> Error {
        Error::BudgetExceeded {
            workflow: self.0.workflow,
            step,
            limit,
            used,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    fn step_mut(&mut self, steps: &[&str], step: usize) -> Option<&mut UsageTotals> {
        if step >= steps.len() {
            return None;
        }
        if self.steps.len() <= step {
            self.steps.resize(steps.len(), UsageTotals::default());
        }
        self.steps.get_mut(step)
    }
}

impl Slot {
    /// Adds what the call spent, in its step and in total; returns its estimated cost.
    ///
    /// # Errors
    ///
    /// [`Error::BudgetExceeded`] if the call went past the budget (it is recorded all the
    /// same, at the cost returned with the error).
    pub(crate) fn close(&self, model: &str, call: &Ended) -> Result<f64, (f64, Error)> {
        let ledger = &self.ledger;
        let mut state = ledger.lock();
        let cost = call
            .usage
            .map_or(0.0, |usage| state.pricing.cost(model, &usage));
        state.total.add(call, cost);
        if let Some(totals) = state.step_mut(ledger.0.steps, self.step) {
            totals.add(call, cost);
        }
        match state.budget.exceeded(&state.total) {
            Some((limit, used)) => Err((cost, ledger.exhaust(&mut state, limit, used, self.step))),
            None => Ok(cost),
        }
    }

    /// Takes back the count of a call that was not made after all.
    pub(crate) fn uncount(&self) {
        let mut state = self.ledger.lock();
        state.total.calls = state.total.calls.saturating_sub(1);
        if let Some(totals) = state.step_mut(self.ledger.0.steps, self.step) {
            totals.calls = totals.calls.saturating_sub(1);
        }
    }
}
