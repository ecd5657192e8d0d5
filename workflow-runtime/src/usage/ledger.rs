//! [`Ledger`]: where the calls of one run are recorded, and how agents find it.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::{Budget, BudgetLimit, Pricing, StepUsage, UsageReport, UsageTotals};
use crate::provider::Usage;
use crate::{Error, Workflow};

tokio::task_local! {
    /// The ledger of the run the current task belongs to.
    static CURRENT: Ledger;
    /// The branches of fan-outs the current future runs in, innermost first.
    static BRANCH: Arc<BranchStep>;
}

/// A branch of a fan-out: the calls made in it go to `step` of the ledger `ledger`, whatever
/// the ledger's current step (its siblings run at the same time).
#[derive(Debug)]
struct BranchStep {
    /// The ledger, by address.
    ledger: usize,
    step: usize,
    outer: Option<Arc<BranchStep>>,
}

/// The record of the model calls of one run: totals per run and per step, the run's
/// [`Budget`] and [`Pricing`]. Cheap to clone: clones share the record.
///
/// The [`Executor`](crate::Executor) opens one per run and you rarely touch it. Open one
/// yourself to account for calls made outside a run: agents called inside
/// [`scope`](Self::scope) record their calls in it. A ledger opened inside another's scope
/// (a run inside a step of another run) also reports every call to that one, attributed to the
/// step that was running there, and that one's budget applies too.
///
/// ```
/// use std::sync::Arc;
/// use workflow_runtime::provider::{ChatResponse, Scripted, Usage};
/// use workflow_runtime::{Agent, Budget, Error, Ledger};
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
    /// The index in `steps` of the step running now, `usize::MAX` outside any step.
    current: AtomicUsize,
    /// Whether the budget has been found used up: the run stops at its next step.
    exhausted: AtomicBool,
    parent: Option<Ledger>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    budget: Budget,
    pricing: Arc<Pricing>,
    total: UsageTotals,
    /// Per step, indexed like `Inner::steps`; grown on demand.
    steps: Vec<UsageTotals>,
    /// The limit found used up, and what was used then.
    exhausted: Option<(BudgetLimit, BudgetLimit, Option<&'static str>)>,
}

/// Where one call is recorded in one ledger: the ledger and the step it was made in.
#[derive(Debug)]
pub(crate) struct Slot {
    ledger: Ledger,
    step: usize,
}

impl Ledger {
    /// A ledger named `name`, with no steps, no budget and no prices: for calls made outside a
    /// run. The name stands for the workflow's in reports and errors.
    pub fn new(name: &'static str) -> Self {
        Self::with_steps(name, &[])
    }

    /// A ledger for a run of `W`, which attributes calls to its steps.
    pub fn of<W: Workflow>() -> Self {
        Self::with_steps(W::NAME, W::STEPS)
    }

    fn with_steps(workflow: &'static str, steps: &'static [&'static str]) -> Self {
        Ledger(Arc::new(Inner {
            workflow,
            steps,
            current: AtomicUsize::new(usize::MAX),
            exhausted: AtomicBool::new(false),
            parent: Self::current(),
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

    /// The name of the workflow (or of the ledger, if opened by hand).
    pub fn workflow(&self) -> &'static str {
        self.0.workflow
    }

    /// The ledger of the run the current task belongs to, if any.
    pub fn current() -> Option<Ledger> {
        CURRENT.try_with(Ledger::clone).ok()
    }

    /// Runs `future` with this ledger as the current one: the calls agents make in it are
    /// recorded here.
    pub fn scope<F: Future>(&self, future: F) -> impl Future<Output = F::Output> {
        CURRENT.scope(self.clone(), future)
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

    /// What the calls of step number `step` spent so far, in all its runs.
    pub(crate) fn step_totals(&self, step: usize) -> UsageTotals {
        self.lock().steps.get(step).copied().unwrap_or_default()
    }

    /// What all the calls recorded here spent so far.
    pub(crate) fn totals(&self) -> UsageTotals {
        self.lock().total
    }

    /// Announces that step number `step` starts: the calls from now on are its calls.
    ///
    /// Returns whether the budget was found used up (the step that found it may have gone on
    /// anyway): the run must stop with [`exhausted_error`](Self::exhausted_error).
    #[inline]
    pub(crate) fn enter(&self, step: usize) -> bool {
        self.0.current.store(step, Ordering::Relaxed);
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

    /// Starts recording a call in this ledger and those it reports to: checks their budgets,
    /// then counts the call in each, in the step running there now.
    ///
    /// # Errors
    ///
    /// [`Error::BudgetExceeded`] if a budget is used up; the call is then counted nowhere.
    pub(crate) fn open_call(&self) -> Result<Vec<Slot>, Error> {
        let mut slots: Vec<Slot> = Vec::new();
        let mut next = Some(self);
        while let Some(ledger) = next {
            match ledger.count_call() {
                Ok(slot) => slots.push(slot),
                Err(error) => {
                    slots.iter().for_each(Slot::uncount);
                    return Err(error);
                }
            }
            next = ledger.0.parent.as_ref();
        }
        Ok(slots)
    }

    /// Runs `future` as a branch of a fan-out that runs step number `step`: the calls made in
    /// it are that step's, while its siblings run theirs.
    pub(crate) fn branch<F: Future>(
        &self,
        step: usize,
        future: F,
    ) -> impl Future<Output = F::Output> {
        let outer = BRANCH.try_with(Arc::clone).ok();
        let branch = BranchStep {
            ledger: self.id(),
            step,
            outer,
        };
        BRANCH.scope(Arc::new(branch), future)
    }

    fn id(&self) -> usize {
        Arc::as_ptr(&self.0) as usize
    }

    /// The step calls are made in now: the branch's, inside a branch of a fan-out.
    fn current_step(&self) -> usize {
        let id = self.id();
        let branch = BRANCH.try_with(|branch| {
            let mut next = Some(branch);
            while let Some(branch) = next {
                if branch.ledger == id {
                    return Some(branch.step);
                }
                next = branch.outer.as_ref();
            }
            None
        });
        branch
            .ok()
            .flatten()
            .unwrap_or_else(|| self.0.current.load(Ordering::Relaxed))
    }

    fn count_call(&self) -> Result<Slot, Error> {
        let step = self.current_step();
        let mut state = self.lock();
        if let Some((limit, used)) = state.budget.reached(&state.total) {
            return Err(self.exhaust(&mut state, limit, used, step));
        }
        state.total.calls += 1;
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
    pub(crate) fn close(
        &self,
        model: &str,
        usage: Option<Usage>,
        latency: Duration,
        ok: bool,
    ) -> Result<f64, (f64, Error)> {
        let ledger = &self.ledger;
        let mut state = ledger.lock();
        let cost = usage.map_or(0.0, |usage| state.pricing.cost(model, &usage));
        state.total.add(usage, latency, cost, ok);
        if let Some(totals) = state.step_mut(ledger.0.steps, self.step) {
            totals.add(usage, latency, cost, ok);
        }
        match state.budget.exceeded(&state.total) {
            Some((limit, used)) => Err((cost, ledger.exhaust(&mut state, limit, used, self.step))),
            None => Ok(cost),
        }
    }

    /// Takes back the call counted by [`Ledger::open_call`], which was not made after all.
    fn uncount(&self) {
        let mut state = self.ledger.lock();
        state.total.calls = state.total.calls.saturating_sub(1);
        if let Some(totals) = state.step_mut(self.ledger.0.steps, self.step) {
            totals.calls = totals.calls.saturating_sub(1);
        }
    }
}
