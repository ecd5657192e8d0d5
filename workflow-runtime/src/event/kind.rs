//! [`Event`] and [`EventKind`]: what a run tells its subscribers.

use std::time::Duration;

use serde::Serialize;

use crate::id::RunId;
use crate::usage::{Usage, UsageTotals};

/// One thing that happened in a run: its [`kind`](Self::kind), tagged with the run's id, the
/// workflow's name and the event's number in the run.
///
/// Serializes flat, with the kind's name under `type`:
/// `{"run":"0190…","workflow":"Article","seq":1,"type":"step_started","step":"draft","attempt":1}`.
/// Durations serialize as serde does (`{"secs":0,"nanos":1500000}`).
/// A step's or a branch's `usage` is left out when it spent nothing (the run has no ledger,
/// or the step made no model call), as most steps of a pipeline do.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Event {
    /// The run the event belongs to.
    pub run: RunId,
    /// The workflow's name ([`Workflow::NAME`](crate::Workflow::NAME)): for an event of a
    /// child run, the child workflow's.
    pub workflow: &'static str,
    /// Where in the run the event happened: empty for the run's own steps; for a workflow that
    /// runs as a step of another, the steps it runs in, from the outermost (`["research"]`
    /// for the events of the child run in step `research`, whose `step` is the child's).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub path: Vec<&'static str>,
    /// The event's number in its run, from 0 and without gaps, so a subscriber that lagged can
    /// tell which events of the run it lost.
    pub seq: u64,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What happened, in the order a run does it.
///
/// A run starts with [`RunStarted`](Self::RunStarted) (or [`Resumed`](Self::Resumed)) and
/// ends with [`Completed`](Self::Completed), [`Failed`](Self::Failed) or
/// [`Suspended`](Self::Suspended). In between, each step of the run's loop is a
/// [`StepStarted`](Self::StepStarted) and, if it finishes, a
/// [`StepFinished`](Self::StepFinished); a step that fails or is cancelled has no
/// `StepFinished`, the run's `Failed` names it, unless an error route takes its error to a
/// handler: then it has a [`StepFailed`](Self::StepFailed), and the handler's step follows. A fan-out or a map has no step events of its
/// own: each of its branches is a [`BranchStarted`](Self::BranchStarted) and a
/// [`BranchFinished`](Self::BranchFinished). Model calls made by agents, the text they
/// stream and the tools they call, are tagged with the step (and branch) that made them.
///
/// New kinds and new fields may be added in minor releases: match with `..` and a `_` arm.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// The run started, from its first state or from a saved one.
    #[non_exhaustive]
    RunStarted {
        /// The workflow's steps ([`Workflow::STEPS`](crate::Workflow::STEPS)), to lay out a view.
        steps: &'static [&'static str],
    },
    /// A suspended durable run was resumed, before the step its pause waited for.
    #[non_exhaustive]
    Resumed {
        /// The step that runs next.
        step: &'static str,
    },
    /// An attempt of a step started: attempt 1 when the run enters the step, then one per
    /// retry. Inside a fan-out or a map, only retries have one (the first attempt is the
    /// [`BranchStarted`](Self::BranchStarted)).
    #[non_exhaustive]
    StepStarted {
        /// The step.
        step: &'static str,
        /// The branch it runs in, for a retry inside a fan-out or a map.
        #[serde(skip_serializing_if = "Option::is_none")]
        branch: Option<usize>,
        /// Which attempt, from 1.
        attempt: u32,
    },
    /// An attempt of a step failed with a transient error and is retried after `delay`.
    #[non_exhaustive]
    Retrying {
        /// The step.
        step: &'static str,
        /// The branch it runs in, inside a fan-out or a map.
        #[serde(skip_serializing_if = "Option::is_none")]
        branch: Option<usize>,
        /// The attempt that failed, from 1.
        attempt: u32,
        /// Its error, with its sources, separated by `: `.
        error: String,
        /// How long the run waits before the next attempt.
        delay: Duration,
    },
    /// A step finished, with an output; the run goes on to the next state.
    #[non_exhaustive]
    StepFinished {
        /// The step.
        step: &'static str,
        /// How many attempts it took.
        attempts: u32,
        /// From its start to its end, retries and their delays included.
        elapsed: Duration,
        /// What the model calls of this run of the step spent, if the run has a
        /// [`Ledger`](crate::usage::Ledger): a run something reads has one.
        #[serde(skip_serializing_if = "spent_nothing")]
        usage: Option<UsageTotals>,
    },
    /// A step failed after its retries, and its error route (`step? -> handler` in `flow!`)
    /// took its error to the handler, which runs next. A step without an error route has
    /// none: the run's [`Failed`](Self::Failed) names it.
    #[non_exhaustive]
    StepFailed {
        /// The step.
        step: &'static str,
        /// How many attempts it took.
        attempts: u32,
        /// Its error, with its sources, separated by `: `.
        error: String,
        /// The step its error went to.
        handler: &'static str,
        /// From its start to its end, retries and their delays included.
        elapsed: Duration,
        /// What the model calls of this run of the step spent, if the run has a ledger.
        #[serde(skip_serializing_if = "spent_nothing")]
        usage: Option<UsageTotals>,
    },
    /// A branch of a fan-out, or an element of a map, started.
    #[non_exhaustive]
    BranchStarted {
        /// The branch's step.
        step: &'static str,
        /// Its position in the fan-out, or its element's index in the map.
        index: usize,
    },
    /// A branch of a fan-out, or an element of a map, finished. A branch dropped before it
    /// finished (a sibling failed, or the run was cancelled) has none.
    #[non_exhaustive]
    BranchFinished {
        /// The branch's step.
        step: &'static str,
        /// Its position in the fan-out, or its element's index in the map.
        index: usize,
        /// From its start to its end.
        elapsed: Duration,
        /// Its error, if it failed (for a `[collect]` fork too, whose join receives it).
        error: Option<String>,
        /// What the model calls made in it spent, if the run has a ledger.
        #[serde(skip_serializing_if = "spent_nothing")]
        usage: Option<UsageTotals>,
    },
    /// A model call made by an [`Agent`](crate::Agent) ended.
    #[non_exhaustive]
    CallFinished {
        /// The step that made it, if it was made in one.
        step: Option<&'static str>,
        /// The branch that made it, inside a fan-out or a map.
        #[serde(skip_serializing_if = "Option::is_none")]
        branch: Option<usize>,
        /// The model, as the response (or else the request) named it; empty if neither did.
        model: String,
        /// The tokens the provider reported, if it did.
        usage: Option<Usage>,
        /// Its estimated cost in USD, from the run's [`Pricing`](crate::usage::Pricing) (0 without
        /// a ledger).
        cost_usd: f64,
        /// How long it took, its provider's retries included.
        latency: Duration,
        /// How many requests its provider sent, its own retries included (1 for a provider
        /// that does not count them). In a step whose policy retries, the provider does not
        /// retry: each attempt of the step is a call of its own.
        attempts: u32,
        /// Whether it succeeded. A call dropped before it completed failed.
        ok: bool,
    },
    /// A piece of text an agent streamed ([`Agent::stream`](crate::Agent::stream)), as the
    /// model wrote it.
    #[non_exhaustive]
    TextDelta {
        /// The step that started the stream, if it was started in one.
        step: Option<&'static str>,
        /// The branch that started it, inside a fan-out or a map.
        #[serde(skip_serializing_if = "Option::is_none")]
        branch: Option<usize>,
        /// The text.
        text: String,
    },
    /// An [`Agent`](crate::Agent)'s model called one of its tools, and the tool starts. The
    /// calls of one model turn run concurrently.
    #[non_exhaustive]
    ToolCalled {
        /// The step that made it, if it was made in one.
        step: Option<&'static str>,
        /// The branch that made it, inside a fan-out or a map.
        #[serde(skip_serializing_if = "Option::is_none")]
        branch: Option<usize>,
        /// The agent whose model called the tool.
        agent: String,
        /// The tool, as the model named it.
        tool: String,
        /// The call's id, as the model gave it: the [`ToolFinished`](Self::ToolFinished) of the
        /// call has the same. Like prompts, the arguments are not in the event.
        call_id: String,
    },
    /// A tool call ended: with a result, or with an error the model is told (an unknown tool,
    /// arguments that do not fit, a tool that failed).
    #[non_exhaustive]
    ToolFinished {
        /// The step that made it, if it was made in one.
        step: Option<&'static str>,
        /// The branch that made it, inside a fan-out or a map.
        #[serde(skip_serializing_if = "Option::is_none")]
        branch: Option<usize>,
        /// The agent whose model called the tool.
        agent: String,
        /// The tool, as the model named it.
        tool: String,
        /// The call's id.
        call_id: String,
        /// How long the tool took.
        elapsed: Duration,
        /// Why it failed, as the model is told, if it did. Like a step's output, a result is
        /// not in the event.
        error: Option<String>,
    },
    /// The run reached a pause and waits for a value from outside.
    #[non_exhaustive]
    Suspended {
        /// The step waiting for the value.
        step: &'static str,
    },
    /// An answer recorded for the run's pause without the workflow's code (`workflow answer`,
    /// the console: [`Runner::record_answer`](crate::Runner::record_answer)) was refused by
    /// the worker that took the run up: it is not a value the pause takes. The run still
    /// waits at its pause, for another answer.
    #[non_exhaustive]
    AnswerRejected {
        /// The step waiting for the value.
        step: &'static str,
        /// Why the value was refused.
        reason: String,
    },
    /// The run reached `end`.
    #[non_exhaustive]
    Completed {
        /// From the run's start (or resume) to its end.
        elapsed: Duration,
        /// What the run's model calls spent, if it has a ledger: for a durable run, the
        /// whole run's, before a pause or a crash included (see
        /// [`Runner`](crate::Runner#usage)).
        usage: Option<UsageTotals>,
    },
    /// The run stopped with an error: a failed step, a timeout, a loop bound, cancellation, a
    /// budget…
    #[non_exhaustive]
    Failed {
        /// The step the error comes from, or the step that was running, if any.
        step: Option<&'static str>,
        /// The error, with its sources, separated by `: `.
        error: String,
        /// From the run's start (or resume) to its end.
        elapsed: Duration,
        /// What the run's model calls spent, if it has a ledger: for a durable run, the
        /// whole run's, as in [`Completed`](Self::Completed).
        usage: Option<UsageTotals>,
    },
}

impl EventKind {
    /// The kind's name, as it serializes under `type`: `"step_started"`, `"completed"`, …
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::RunStarted { .. } => "run_started",
            EventKind::Resumed { .. } => "resumed",
            EventKind::StepStarted { .. } => "step_started",
            EventKind::Retrying { .. } => "retrying",
            EventKind::StepFinished { .. } => "step_finished",
            EventKind::StepFailed { .. } => "step_failed",
            EventKind::BranchStarted { .. } => "branch_started",
            EventKind::BranchFinished { .. } => "branch_finished",
            EventKind::CallFinished { .. } => "call_finished",
            EventKind::TextDelta { .. } => "text_delta",
            EventKind::ToolCalled { .. } => "tool_called",
            EventKind::ToolFinished { .. } => "tool_finished",
            EventKind::Suspended { .. } => "suspended",
            EventKind::AnswerRejected { .. } => "answer_rejected",
            EventKind::Completed { .. } => "completed",
            EventKind::Failed { .. } => "failed",
        }
    }

    /// The step the event is about, if any.
    pub fn step(&self) -> Option<&'static str> {
        match self {
            EventKind::Resumed { step }
            | EventKind::StepStarted { step, .. }
            | EventKind::Retrying { step, .. }
            | EventKind::StepFinished { step, .. }
            | EventKind::StepFailed { step, .. }
            | EventKind::BranchStarted { step, .. }
            | EventKind::BranchFinished { step, .. }
            | EventKind::Suspended { step }
            | EventKind::AnswerRejected { step, .. } => Some(step),
            EventKind::CallFinished { step, .. }
            | EventKind::TextDelta { step, .. }
            | EventKind::ToolCalled { step, .. }
            | EventKind::ToolFinished { step, .. }
            | EventKind::Failed { step, .. } => *step,
            EventKind::RunStarted { .. } | EventKind::Completed { .. } => None,
        }
    }

    /// Whether this is the last event of its run: completed, failed or suspended.
    pub fn is_end(&self) -> bool {
        matches!(
            self,
            EventKind::Completed { .. } | EventKind::Failed { .. } | EventKind::Suspended { .. }
        )
    }
}

/// Whether a step's `usage` is left out of its event's JSON: it spent nothing.
fn spent_nothing(usage: &Option<UsageTotals>) -> bool {
    usage.is_none_or(|totals| totals == UsageTotals::default())
}
