//! The `tracing` spans of a run: `workflow.run`, and one `workflow.step` per step and per
//! branch, its child.

use std::sync::{Mutex, MutexGuard, PoisonError};

use tracing::field::{display, Empty};
use tracing::Span;

use super::RunId;
use crate::UsageTotals;

/// The spans of one run. The step span of the top-level step running now is entered while the
/// run is polled, and switched as the run goes from step to step within one poll.
pub(crate) struct RunTrace {
    workflow: &'static str,
    run: RunId,
    span: Span,
    step: Mutex<StepSpan>,
}

#[derive(Default)]
struct StepSpan {
    span: Option<Span>,
    /// Whether `span` is entered on the polling thread now.
    entered: bool,
    /// Whether the run is being polled now.
    polling: bool,
}

impl RunTrace {
    /// The `workflow.run` span of a run of `workflow`, if a `tracing` subscriber wants it; the
    /// run's id comes from `id`, called only then.
    #[inline]
    pub(crate) fn start(workflow: &'static str, id: impl FnOnce() -> RunId) -> Option<RunTrace> {
        // One relaxed load while no subscriber was ever set, where building the disabled span
        // would cost a run about 20 ns. Inlined, so that such a run makes no call at all.
        if !tracing::dispatcher::has_been_set() {
            return None;
        }
        Self::open(workflow, id)
    }

    /// [`RunTrace::start`] once a `tracing` subscriber was set.
    #[inline(never)]
    fn open(workflow: &'static str, id: impl FnOnce() -> RunId) -> Option<RunTrace> {
        let span = tracing::info_span!(
            target: "workflow",
            "workflow.run",
            workflow,
            run_id = Empty,
            usage.input_tokens = Empty,
            usage.output_tokens = Empty,
            usage.cost_usd = Empty,
            usage.calls = Empty,
            error = Empty,
            otel.status_code = Empty,
        );
        if span.is_disabled() {
            return None;
        }
        let run = id();
        span.record("run_id", display(run));
        Some(RunTrace {
            workflow,
            run,
            span,
            step: Mutex::default(),
        })
    }

    /// The run's id, as the span records it.
    pub(crate) fn run(&self) -> RunId {
        self.run
    }

    /// The `workflow.run` span.
    pub(crate) fn span(&self) -> &Span {
        &self.span
    }

    /// A `workflow.step` span for `step`, in branch `branch` of a fork if any.
    fn step_span(&self, step: &'static str, branch: Option<usize>) -> Span {
        let span = tracing::info_span!(
            target: "workflow",
            parent: &self.span,
            "workflow.step",
            workflow = self.workflow,
            run_id = %self.run,
            step,
            attempt = 1u32,
            branch = Empty,
            usage.input_tokens = Empty,
            usage.output_tokens = Empty,
            usage.cost_usd = Empty,
            usage.calls = Empty,
            error = Empty,
            otel.status_code = Empty,
        );
        if let Some(branch) = branch {
            span.record("branch", branch);
        }
        span
    }

    /// Opens the span of top-level step `step`, closing the previous one.
    pub(crate) fn start_step(&self, step: &'static str) {
        let span = self.step_span(step, None);
        self.switch(Some(span));
    }

    /// Records what the top-level step running now spent, or its error, and closes its span.
    pub(crate) fn end_step(&self, usage: Option<&UsageTotals>, error: Option<&str>) {
        if let Some(span) = &self.lock().span {
            record_end(span, usage, error);
        }
        self.switch(None);
    }

    /// The span of branch `index` of a fork, running `step`.
    pub(crate) fn branch_span(&self, step: &'static str, index: usize) -> Span {
        self.step_span(step, Some(index))
    }

    /// Attempt `attempt` of the step running now starts: in a branch (whose span is entered
    /// now), or at the top level.
    pub(crate) fn record_attempt(&self, attempt: u32, in_branch: bool) {
        if in_branch {
            Span::current().record("attempt", attempt);
        } else if let Some(span) = &self.lock().span {
            span.record("attempt", attempt);
        }
    }

    /// Records what the run spent, or its error, on the run's span.
    pub(crate) fn end_run(&self, usage: Option<&UsageTotals>, error: Option<&str>) {
        record_end(&self.span, usage, error);
    }

    /// The run starts (`true`) or stops (`false`) being polled: enters or exits the step span.
    pub(crate) fn polling(&self, polling: bool) {
        let mut state = self.lock();
        state.polling = polling;
        match (&state.span, polling, state.entered) {
            (Some(span), true, false) => enter(span),
            (Some(span), false, true) => exit(span),
            _ => {}
        }
        state.entered = polling && state.span.is_some();
    }

    /// Makes `next` the step span, exiting the old one and entering `next` if the run is being
    /// polled.
    fn switch(&self, next: Option<Span>) {
        let mut state = self.lock();
        if let (Some(old), true) = (&state.span, state.entered) {
            exit(old);
        }
        state.span = next;
        state.entered = false;
        if let (Some(span), true) = (&state.span, state.polling) {
            enter(span);
            state.entered = true;
        }
    }

    fn lock(&self) -> MutexGuard<'_, StepSpan> {
        self.step.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn enter(span: &Span) {
    span.with_subscriber(|(id, dispatch)| dispatch.enter(id));
}

fn exit(span: &Span) {
    span.with_subscriber(|(id, dispatch)| dispatch.exit(id));
}

/// Records `usage` (tokens, cost and calls, never prompts) and `error` on `span`.
pub(crate) fn record_end(span: &Span, usage: Option<&UsageTotals>, error: Option<&str>) {
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
