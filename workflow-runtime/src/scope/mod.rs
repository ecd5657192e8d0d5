//! The run scope: what the code of a run finds about the run it belongs to, without anyone
//! passing it around. One `tokio` task-local holds it, set only by the driver (around a run,
//! and around each branch of a fan-out or a map) and by [`Ledger::scope`].
//!
//! A scope knows the run (its id, workflow and steps), the step running now, the branch the
//! current future runs in, the run's [`Ledger`] if anything reads its usage, its
//! [`Observer`] if anything watches it (events, spans), and the scope the run was started in,
//! so that the calls of a run inside a step of another are also that step's calls.
//!
//! - `observe.rs`: what a run tells its subscribers and `tracing`, as it goes;
//! - `branch.rs`: the future of one branch, with its own scope;
//! - `call.rs`: one model call, recorded in every ledger of the scope chain;
//! - `child.rs`: the scope of a child run, inside a step of its parent;
//! - `memo.rs`: the calls a durable run's step in flight records, and replays when it runs
//!   again;
//! - `trace.rs`: the `tracing` spans.

mod branch;
mod call;
mod child;
mod memo;
mod observe;
mod trace;

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::broadcast;

use crate::error::Error;
use crate::event::{Event, Journal};
use crate::future::BoxFuture;
use crate::id::RunId;
use crate::usage::{Ledger, SavedUsage};

pub(crate) use call::Call;
pub use memo::once;
pub(crate) use memo::Memo;
pub(crate) use observe::{Ending, Observer};
pub(crate) use trace::RunTrace;

tokio::task_local! {
    /// The scope of the run the current future belongs to.
    static SCOPE: Scope;
}

/// Where the current future is: its run, and the branch it runs in, if any.
#[derive(Clone)]
pub(crate) struct Scope {
    run: Arc<RunScope>,
    branch: Option<Arc<branch::BranchScope>>,
}

/// One run, as its scope knows it. Shared by the driver, the run's [`Context`](crate::Context)
/// and every future of the run.
pub(crate) struct RunScope {
    id: RunId,
    workflow: &'static str,
    steps: &'static [&'static str],
    ledger: Option<Ledger>,
    observer: Option<Observer>,
    /// The index in `steps` of the top-level step running now; `usize::MAX` for none (before
    /// the first step, in a fan-out or a map, after the end).
    current: AtomicUsize,
    /// The scope the run was started in: its calls are also that scope's calls.
    parent: Option<Scope>,
    /// Where a durable run saves the branches of a fan-out or a map that finish, and the
    /// calls its steps record.
    recorder: Option<Arc<dyn Recorder>>,
    /// For a child run, the steps of its parents it runs in, from the outermost: its events
    /// are tagged with them. Empty for a run of its own.
    path: Vec<&'static str>,
}

/// Where a durable run saves what its step in flight finished, so that the step, run again
/// after a crash, does not do it again: each branch of a fan-out or a map, and each call
/// recorded through a [`Memo`] (model turns, tool calls, [`once`] blocks).
pub(crate) trait Recorder: Send + Sync {
    /// Saves the value branch `index` of the running fan-out or map finished with, as JSON,
    /// and what the run had spent by then.
    fn record(
        &self,
        index: usize,
        value: serde_json::Value,
        usage: SavedUsage,
    ) -> BoxFuture<'_, Result<(), Error>>;

    /// What call `key` of the step in flight returned (as JSON), if it is recorded.
    fn recall<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<String>, Error>>;

    /// Records `value` (JSON) as what call `key` of the step in flight returned.
    fn remember(&self, key: String, value: String) -> BoxFuture<'_, Result<(), Error>>;

    /// How many times `key` was counted in the step in flight (in its current attempt) before
    /// this time, which it counts.
    fn occurrence(&self, key: &str) -> u32;

    /// Forgets the counts of the keys that start with `prefix`: the step they belong to
    /// starts another attempt.
    fn restart(&self, prefix: &str);
}

impl Scope {
    /// The scope of the current future, if it belongs to a run (or a ledger opened by hand).
    pub(crate) fn current() -> Option<Scope> {
        SCOPE.try_with(Scope::clone).ok()
    }

    /// The index of the branch the current future runs in, if any.
    pub(crate) fn branch_index() -> Option<usize> {
        SCOPE
            .try_with(|scope| scope.branch.as_ref().map(|branch| branch.index))
            .ok()
            .flatten()
    }

    /// The run this scope belongs to.
    pub(crate) fn run(&self) -> &Arc<RunScope> {
        &self.run
    }

    /// The step calls made here belong to: the branch's, or the run's current step.
    fn step(&self) -> usize {
        match &self.branch {
            Some(branch) => branch.step,
            None => self.run.current.load(Ordering::Relaxed),
        }
    }

    /// Runs `future` in this scope.
    pub(crate) fn enter<F: Future>(self, future: F) -> impl Future<Output = F::Output> {
        SCOPE.scope(self, future)
    }
}

/// What a run's scope is made of: see [`RunScope::new`].
pub(crate) struct Parts {
    pub(crate) id: RunId,
    pub(crate) workflow: &'static str,
    pub(crate) steps: &'static [&'static str],
    pub(crate) ledger: Option<Ledger>,
    /// Where its events go; none if nobody listens.
    pub(crate) sinks: Vec<broadcast::Sender<Event>>,
    /// Its spans, if a `tracing` subscriber wants them.
    pub(crate) trace: Option<RunTrace>,
    /// Where it saves finished branches and recorded calls, if it is durable.
    pub(crate) recorder: Option<Arc<dyn Recorder>>,
    /// Where it keeps its events for its event log, if it is durable.
    pub(crate) journal: Option<Arc<Journal>>,
}

impl RunScope {
    /// The scope of a new run, started in the current scope if there is one.
    pub(crate) fn new(parts: Parts) -> Arc<Self> {
        let observed = !parts.sinks.is_empty() || parts.trace.is_some() || parts.journal.is_some();
        let observer = observed.then(|| Observer::new(parts.sinks, parts.trace, parts.journal));
        Arc::new(RunScope {
            id: parts.id,
            workflow: parts.workflow,
            steps: parts.steps,
            ledger: parts.ledger,
            observer,
            current: AtomicUsize::new(usize::MAX),
            parent: Scope::current(),
            recorder: parts.recorder,
            path: Vec::new(),
        })
    }

    /// The scope of the run's futures outside any branch.
    pub(crate) fn scope(self: &Arc<Self>) -> Scope {
        Scope {
            run: Arc::clone(self),
            branch: None,
        }
    }

    pub(crate) fn ledger(&self) -> Option<&Ledger> {
        self.ledger.as_ref()
    }

    /// The first ledger of this run or of the runs it runs in whose budget is used up.
    pub(crate) fn exhausted_ledger(&self) -> Option<&Ledger> {
        let mut run = self;
        loop {
            if let Some(ledger) = run.ledger.as_ref().filter(|ledger| ledger.is_exhausted()) {
                return Some(ledger);
            }
            run = &run.parent.as_ref()?.run;
        }
    }

    /// What the run spent so far, as a checkpoint saves it: empty if it has no ledger.
    pub(crate) fn saved_usage(&self) -> SavedUsage {
        self.ledger.as_ref().map(Ledger::saved).unwrap_or_default()
    }

    /// The run's spans, if a `tracing` subscriber wants them.
    pub(crate) fn trace(&self) -> Option<&RunTrace> {
        self.observer.as_ref()?.trace()
    }

    /// Where the run saves finished branches, if it is durable.
    pub(crate) fn recorder(&self) -> Option<&dyn Recorder> {
        self.recorder.as_deref()
    }

    /// The top-level step running now, if any.
    pub(crate) fn current_step(&self) -> Option<&'static str> {
        self.step_name(self.current.load(Ordering::Relaxed))
    }

    /// The name of step number `step`, if it is one.
    fn step_name(&self, step: usize) -> Option<&'static str> {
        self.steps.get(step).copied()
    }
}

impl Ledger {
    /// The ledger of the run the current task belongs to (or of the ledger scope it runs
    /// in), if any.
    pub fn current() -> Option<Ledger> {
        SCOPE
            .try_with(|scope| scope.run.ledger.clone())
            .ok()
            .flatten()
    }

    /// Runs `future` with this ledger as the current one: the calls agents make in it are
    /// recorded here, and, if it runs inside a run, in that run too (in the step running
    /// there). Called with the ledger of the current run ([`Ledger::current`]), it carries the
    /// run's scope into `future`, a task the run spawns, say, whose calls are then the step's.
    pub fn scope<F: Future>(&self, future: F) -> impl Future<Output = F::Output> {
        let scope = match Scope::current() {
            Some(current) if current.run.ledger.as_ref().is_some_and(|l| l.same(self)) => current,
            _ => RunScope::new(Parts {
                id: RunId::new(),
                workflow: self.workflow(),
                steps: &[],
                ledger: Some(self.clone()),
                sinks: Vec::new(),
                trace: None,
                recorder: None,
                journal: None,
            })
            .scope(),
        };
        scope.enter(future)
    }
}
