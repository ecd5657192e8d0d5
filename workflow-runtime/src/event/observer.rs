//! [`Observer`]: one observed run, told what happens by the context, the executor and the
//! agents, and telling its subscribers and `tracing`.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::broadcast;
use tokio::time::Instant;

use super::trace::RunTrace;
use super::{Event, EventKind, RunId, Scope};
use crate::{Error, Ledger, UsageTotals, Workflow};

/// An observed run: where its events are sent and its spans opened. Shared by the run's
/// [`Context`](crate::Context), the task-local [`Scope`] agents read, and the driver that
/// starts and ends the run.
pub(crate) struct Observer {
    run: RunId,
    workflow: &'static str,
    steps: &'static [&'static str],
    sinks: Vec<broadcast::Sender<Event>>,
    seq: AtomicU64,
    started: Instant,
    ledger: Option<Ledger>,
    trace: Option<RunTrace>,
    /// The index of the step running now, `usize::MAX` outside any (or in a fork).
    current: AtomicUsize,
    step: Mutex<StepRun>,
}

/// The step running now, at the top level of the run.
struct StepRun {
    /// Its index in `steps`; `usize::MAX` for none.
    index: usize,
    started: Instant,
    attempts: u32,
    /// Its totals in the ledger when it started.
    before: UsageTotals,
}

impl Observer {
    /// The observer of run `run` of `W`, sending to `sinks` and tracing with `trace`.
    pub(crate) fn new<W: Workflow>(
        run: RunId,
        sinks: Vec<broadcast::Sender<Event>>,
        ledger: Option<Ledger>,
        trace: Option<RunTrace>,
    ) -> Arc<Self> {
        Arc::new(Observer {
            run,
            workflow: W::NAME,
            steps: W::STEPS,
            sinks,
            seq: AtomicU64::new(0),
            started: Instant::now(),
            ledger,
            trace,
            current: AtomicUsize::new(usize::MAX),
            step: Mutex::new(StepRun {
                index: usize::MAX,
                started: Instant::now(),
                attempts: 0,
                before: UsageTotals::default(),
            }),
        })
    }

    /// The run's id.
    pub(crate) fn run(&self) -> RunId {
        self.run
    }

    pub(crate) fn trace(&self) -> Option<&RunTrace> {
        self.trace.as_ref()
    }

    pub(crate) fn has_ledger(&self) -> bool {
        self.ledger.is_some()
    }

    /// The name of step number `step`, if it is one.
    pub(crate) fn step_name(&self, step: usize) -> Option<&'static str> {
        self.steps.get(step).copied()
    }

    /// The index of the top-level step running now.
    pub(crate) fn current_step(&self) -> usize {
        self.current.load(Ordering::Relaxed)
    }

    /// Sends the event `kind` makes, if anyone listens. Never waits: see
    /// [`Events`](super::Events) for what a subscriber that lags loses.
    pub(crate) fn emit(&self, kind: impl FnOnce() -> EventKind) {
        let Some((last, others)) = self.sinks.split_last() else {
            return;
        };
        let event = Event {
            run: self.run,
            workflow: self.workflow,
            seq: self.seq.fetch_add(1, Ordering::Relaxed),
            kind: kind(),
        };
        for sink in others {
            // An error only says that nobody listens on this channel any more.
            let _ = sink.send(event.clone());
        }
        let _ = last.send(event);
    }

    /// The run starts.
    pub(crate) fn run_started(&self) {
        let steps = self.steps;
        self.emit(|| EventKind::RunStarted { steps });
    }

    /// A suspended run resumes, before step `step`: for the durable runner.
    pub(crate) fn resumed(&self, step: &'static str) {
        self.emit(|| EventKind::Resumed { step });
    }

    /// The run's loop is about to run step number `step` (`usize::MAX` for a fork): the step
    /// before, if any, has finished. `starts` is false when the run stops here instead.
    pub(crate) fn enter(&self, step: usize, starts: bool) {
        let mut run = self.lock();
        self.finish_step(&mut run);
        self.current.store(step, Ordering::Relaxed);
        let Some(name) = self.step_name(step).filter(|_| starts) else {
            return;
        };
        *run = StepRun {
            index: step,
            started: Instant::now(),
            attempts: 1,
            before: self.step_totals(step),
        };
        if let Some(trace) = &self.trace {
            trace.start_step(name);
        }
        self.emit(|| EventKind::StepStarted {
            step: name,
            branch: None,
            attempt: 1,
        });
    }

    /// Ends the step running now with `StepFinished`, if there is one.
    fn finish_step(&self, run: &mut StepRun) {
        let index = std::mem::replace(&mut run.index, usize::MAX);
        let Some(step) = self.step_name(index) else {
            return;
        };
        let elapsed = run.started.elapsed();
        let usage = self
            .ledger
            .as_ref()
            .map(|ledger| ledger.step_totals(index).since(&run.before));
        if let Some(trace) = &self.trace {
            trace.end_step(usage.as_ref(), None);
        }
        let attempts = run.attempts;
        self.emit(|| EventKind::StepFinished {
            step,
            attempts,
            elapsed,
            usage,
        });
    }

    fn step_totals(&self, step: usize) -> UsageTotals {
        self.ledger
            .as_ref()
            .map(|ledger| ledger.step_totals(step))
            .unwrap_or_default()
    }

    /// Attempt `attempt` of step `step` failed with `error`; the next one starts after
    /// `delay`.
    pub(crate) fn retrying(
        &self,
        step: &'static str,
        attempt: u32,
        error: &Error,
        delay: Duration,
    ) {
        let message = crate::error::describe(error);
        if self.trace.is_some() {
            let delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
            tracing::warn!(target: "workflow", step, attempt, delay_ms, error = %message, "retrying");
        }
        let branch = Scope::branch_index();
        self.emit(|| EventKind::Retrying {
            step,
            branch,
            attempt,
            error: message,
            delay,
        });
    }

    /// Attempt `attempt` (2 or more) of step `step` starts.
    pub(crate) fn attempt(&self, step: &'static str, attempt: u32) {
        let branch = Scope::branch_index();
        if branch.is_none() {
            self.lock().attempts = attempt;
        }
        if let Some(trace) = &self.trace {
            trace.record_attempt(attempt, branch.is_some());
        }
        self.emit(|| EventKind::StepStarted {
            step,
            branch,
            attempt,
        });
    }

    /// The run stopped at a pause before step `step`.
    pub(crate) fn suspended(&self, step: &'static str) {
        self.enter(usize::MAX, false);
        self.emit(|| EventKind::Suspended { step });
    }

    /// The run ended with `result`: completed, suspended at a pause, or failed.
    pub(crate) fn ended<T>(&self, result: &Result<T, Error>) {
        let error = match result {
            Ok(_) => {
                self.enter(usize::MAX, false);
                let (elapsed, usage) = (self.started.elapsed(), self.usage());
                self.end_trace(usage.as_ref(), None);
                return self.emit(|| EventKind::Completed { elapsed, usage });
            }
            Err(Error::Suspended { step, .. }) => {
                self.suspended(step);
                return self.end_trace(self.usage().as_ref(), None);
            }
            Err(error) => error,
        };
        let message = crate::error::describe(error);
        let step = {
            let mut run = self.lock();
            let current = self.step_name(std::mem::replace(&mut run.index, usize::MAX));
            if let Some(trace) = &self.trace {
                trace.end_step(None, Some(&message));
            }
            error.step().or(current)
        };
        let (elapsed, usage) = (self.started.elapsed(), self.usage());
        self.end_trace(usage.as_ref(), Some(&message));
        self.emit(|| EventKind::Failed {
            step,
            error: message,
            elapsed,
            usage,
        });
    }

    fn end_trace(&self, usage: Option<&UsageTotals>, error: Option<&str>) {
        if let Some(trace) = &self.trace {
            trace.end_run(usage, error);
        }
    }

    fn usage(&self) -> Option<UsageTotals> {
        self.ledger.as_ref().map(Ledger::totals)
    }

    fn lock(&self) -> MutexGuard<'_, StepRun> {
        self.step.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for Observer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Observer")
            .field("run", &self.run)
            .field("workflow", &self.workflow)
            .field("sinks", &self.sinks.len())
            .field("traced", &self.trace.is_some())
            .finish_non_exhaustive()
    }
}
