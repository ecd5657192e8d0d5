//! The `tracing` spans of a run: `workflow.run`, and one `workflow.step` per step and per
//! branch, its child.

use tracing::field::{display, Empty};
use tracing::Span;

use crate::id::RunId;

/// The spans of one run: its `workflow.run` span, and how it makes the spans of its steps.
pub(crate) struct RunTrace {
    workflow: &'static str,
    run: RunId,
    span: Span,
}

impl RunTrace {
    /// The `workflow.run` span of a run of `workflow`, if a `tracing` subscriber wants it; the
    /// run's id comes from `id`, called only then.
    #[inline]
    pub(crate) fn start(workflow: &'static str, id: impl FnOnce() -> RunId) -> Option<RunTrace> {
        // One relaxed load while no subscriber was ever set, where building the disabled span
        // would cost a run about 20 ns.
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

    /// A `workflow.step` span for `step`, in branch `branch` of a fan-out or a map if any.
    pub(crate) fn step_span(&self, step: &'static str, branch: Option<usize>) -> Span {
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
}
