//! What a run tells its subscribers and `tracing` as it goes: the [`Observer`] of a run, and the
//! methods of [`RunScope`] that the driver, the step attempts and the agents call.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::broadcast;
use tokio::time::Instant;
use tracing::Span;

use super::{RunScope, RunTrace, Scope};
use crate::error::Error;
use crate::event::{Event, EventKind, Journal};
use crate::usage::UsageTotals;

/// Where an observed run's events go and its spans are opened.
pub(crate) struct Observer {
    /// Shared with the run's child runs, whose events go to the same subscribers.
    outlet: Arc<Outlet>,
    started: Instant,
    trace: Option<RunTrace>,
    step: Mutex<StepRun>,
}

/// Where the events of a run and of its child runs go, numbered in one sequence.
struct Outlet {
    sinks: Vec<broadcast::Sender<Event>>,
    /// Where a durable run keeps its events, and its child runs', for its event log.
    journal: Option<Arc<Journal>>,
    seq: AtomicU64,
}

/// The top-level step running now.
struct StepRun {
    /// Its index in the run's steps; `usize::MAX` for none.
    index: usize,
    started: Instant,
    attempts: u32,
    /// Its totals in the ledger when it started.
    before: UsageTotals,
    span: Option<Span>,
}

/// How a run ended, as its last event tells it.
#[derive(Clone, Copy)]
pub(crate) enum Ending<'a> {
    Completed,
    /// Waiting at the pause before this step.
    Suspended(&'static str),
    Failed(&'a Error),
}

impl Observer {
    pub(super) fn new(
        sinks: Vec<broadcast::Sender<Event>>,
        trace: Option<RunTrace>,
        journal: Option<Arc<Journal>>,
    ) -> Self {
        let outlet = Outlet {
            sinks,
            journal,
            seq: AtomicU64::new(0),
        };
        Self::sharing(Arc::new(outlet), trace)
    }

    /// The observer of a child run of this one's: its events go to the same subscribers.
    pub(super) fn child(&self, trace: Option<RunTrace>) -> Self {
        Self::sharing(Arc::clone(&self.outlet), trace)
    }

    fn sharing(outlet: Arc<Outlet>, trace: Option<RunTrace>) -> Self {
        Observer {
            outlet,
            started: Instant::now(),
            trace,
            step: Mutex::new(StepRun::none()),
        }
    }

    pub(super) fn trace(&self) -> Option<&RunTrace> {
        self.trace.as_ref()
    }

    fn lock(&self) -> MutexGuard<'_, StepRun> {
        self.step.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl RunScope {
    /// Sends the event `kind` makes, if anyone listens, and keeps it in the run's journal if
    /// it is durable. Never waits: see [`Events`](crate::event::Events) for what a subscriber
    /// that lags loses (the journal loses nothing).
    pub(crate) fn emit(&self, kind: impl FnOnce() -> EventKind) {
        self.deliver(self.record(kind));
    }

    /// Keeps the event `kind` makes in the run's journal if it is durable, and returns it
    /// numbered for its subscribers, if any, to [`deliver`](Self::deliver).
    fn record(&self, kind: impl FnOnce() -> EventKind) -> Option<Event> {
        let observer = self.observer.as_ref()?;
        let outlet = &observer.outlet;
        if outlet.sinks.is_empty() && outlet.journal.is_none() {
            return None;
        }
        let kind = kind();
        if let Some(journal) = &outlet.journal {
            journal.record(&self.path, &kind);
        }
        if outlet.sinks.is_empty() {
            return None;
        }
        Some(Event {
            run: self.id,
            workflow: self.workflow,
            path: self.path.clone(),
            seq: outlet.seq.fetch_add(1, Ordering::Relaxed),
            kind,
        })
    }

    /// Sends `event`, [`record`](Self::record)ed, to the run's subscribers.
    pub(crate) fn deliver(&self, event: Option<Event>) {
        let (Some(event), Some(observer)) = (event, &self.observer) else {
            return;
        };
        let Some((last, others)) = observer.outlet.sinks.split_last() else {
            return;
        };
        for sink in others {
            // An error only says that nobody listens on this channel any more.
            let _ = sink.send(event.clone());
        }
        let _ = last.send(event);
    }

    /// The run starts: from its first state, or `resumed` before that step.
    pub(crate) fn started(&self, resumed: Option<&'static str>) {
        let steps = self.steps;
        self.emit(|| match resumed {
            Some(step) => EventKind::Resumed { step },
            None => EventKind::RunStarted { steps },
        });
    }

    /// The run is about to run the step at `index` in its steps (`None`: a fan-out or a map,
    /// which is none of them): the calls from now on are its calls.
    pub(crate) fn enter(&self, index: Option<usize>) {
        self.current
            .store(index.unwrap_or(usize::MAX), Ordering::Relaxed);
    }

    /// The step entered last starts, unless the run's budget is used up; returns its span if
    /// the run is traced, for the driver to enter while the step runs (boxed, as the driver
    /// keeps it).
    ///
    /// # Errors
    ///
    /// [`Error::BudgetExceeded`] once the ledger's budget is used up.
    pub(crate) fn start_step(&self) -> Result<Option<Box<Span>>, Error> {
        if let Some(ledger) = self.exhausted_ledger() {
            return Err(ledger.exhausted_error());
        }
        let Some(observer) = &self.observer else {
            return Ok(None);
        };
        let index = self.current.load(Ordering::Relaxed);
        let Some(step) = self.step_name(index) else {
            return Ok(None);
        };
        let span = observer
            .trace
            .as_ref()
            .map(|trace| trace.step_span(step, None));
        *observer.lock() = StepRun {
            index,
            started: Instant::now(),
            attempts: 1,
            before: self.step_totals(index),
            span: span.clone(),
        };
        self.emit(|| EventKind::StepStarted {
            step,
            branch: None,
            attempt: 1,
        });
        Ok(span.map(Box::new))
    }

    /// The step started last finished: with an output, or, `routed`, with an error that its
    /// error route took to a handler (the error described, and the handler).
    pub(crate) fn finish_step(&self, routed: Option<(String, &'static str)>) {
        let Some(observer) = &self.observer else {
            return;
        };
        let run = std::mem::replace(&mut *observer.lock(), StepRun::none());
        let Some(step) = self.step_name(run.index) else {
            return;
        };
        let usage = self
            .ledger
            .as_ref()
            .map(|ledger| ledger.step_totals(run.index).since(&run.before));
        if let Some(span) = &run.span {
            let error = routed.as_ref().map(|(error, _)| error.as_str());
            trace_end(span, usage.as_ref(), error);
        }
        let (attempts, elapsed) = (run.attempts, run.started.elapsed());
        self.emit(|| match routed {
            Some((error, handler)) => EventKind::StepFailed {
                step,
                attempts,
                error,
                handler,
                elapsed,
                usage,
            },
            None => EventKind::StepFinished {
                step,
                attempts,
                elapsed,
                usage,
            },
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
        if self.observer.is_none() {
            return;
        }
        let message = crate::error::describe(error);
        if self.trace().is_some() {
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
        let Some(observer) = &self.observer else {
            return;
        };
        let branch = Scope::branch_index();
        if branch.is_none() {
            observer.lock().attempts = attempt;
        }
        if self.trace().is_some() {
            // The span entered now is the step's, or the branch's.
            Span::current().record("attempt", attempt);
        }
        self.emit(|| EventKind::StepStarted {
            step,
            branch,
            attempt,
        });
    }

    /// The run ended: its last event, and its spans' last fields.
    pub(crate) fn ended(&self, ending: Ending<'_>) {
        self.deliver(self.ending(ending));
    }

    /// The run ended: its spans' last fields, and its last event, kept in its journal and
    /// returned for its subscribers, to [`deliver`](Self::deliver) once the run's store has
    /// saved it (a durable run's last checkpoint is saved with it).
    pub(crate) fn ending(&self, ending: Ending<'_>) -> Option<Event> {
        let Some(observer) = &self.observer else {
            return None;
        };
        // The step that was running, if one was: not one the run stopped before.
        let running = std::mem::replace(&mut *observer.lock(), StepRun::none());
        let usage = self.ledger.as_ref().map(crate::usage::Ledger::totals);
        let elapsed = observer.started.elapsed();
        let trace = observer.trace.as_ref();
        match ending {
            Ending::Completed => {
                if let Some(trace) = trace {
                    trace_end(trace.span(), usage.as_ref(), None);
                }
                self.record(|| EventKind::Completed { elapsed, usage })
            }
            Ending::Suspended(step) => {
                if let Some(trace) = trace {
                    trace_end(trace.span(), usage.as_ref(), None);
                }
                self.record(|| EventKind::Suspended { step })
            }
            Ending::Failed(error) => {
                let message = crate::error::describe(error);
                if let Some(span) = &running.span {
                    trace_end(span, None, Some(&message));
                }
                if let Some(trace) = trace {
                    trace_end(trace.span(), usage.as_ref(), Some(&message));
                }
                let step = error.step().or_else(|| self.step_name(running.index));
                self.record(|| EventKind::Failed {
                    step,
                    error: message,
                    elapsed,
                    usage,
                })
            }
        }
    }
}

impl StepRun {
    fn none() -> Self {
        StepRun {
            index: usize::MAX,
            started: Instant::now(),
            attempts: 0,
            before: UsageTotals::default(),
            span: None,
        }
    }
}

/// Records `usage` (tokens, cost and calls, never prompts) and `error` on `span`.
pub(super) fn trace_end(span: &Span, usage: Option<&UsageTotals>, error: Option<&str>) {
    if let Some(totals) = usage {
        span.record("usage.input_tokens", totals.usage.input_tokens);
        span.record("usage.output_tokens", totals.usage.output_tokens);
        span.record("usage.cost_usd", totals.cost_usd);
        span.record("usage.calls", totals.calls);
    }
    if let Some(error) = error {
        span.record("error", error);
        span.record("otel.status_code", "error");
    }
}
