//! The events of a run, in order and with their content, for each construct: a sequence,
//! routing, a bounded loop, a fan-out, a map, retries, a failed step, a loop bound, a cancelled
//! run; agents' calls and streamed text; subscribers of the executor; what a lagging
//! subscriber loses; the JSON of an event.

mod agents;
mod constructs;
mod subscribers;

use workflow::event::{Event, EventKind};
use workflow::{Executor, Workflow};

/// Runs `workflow` on `input` with `executor`, and returns its result and its events.
pub(crate) async fn watch<W: Workflow>(
    executor: &Executor,
    workflow: &W,
    input: W::Input,
) -> (Result<W::Output, workflow::Error>, Vec<Event>) {
    let mut run = executor.start(workflow, input);
    let mut events = run.events();
    tokio::join!(run, async {
        let mut all = Vec::new();
        while let Some(event) = events.recv().await {
            all.push(event);
        }
        all
    })
}

/// One line per event, short enough to compare a whole run at once.
pub(crate) fn show(event: &Event) -> String {
    let at = |step: &str, branch: Option<usize>| match branch {
        Some(branch) => format!("{step}[{branch}]"),
        None => step.to_owned(),
    };
    match &event.kind {
        EventKind::StepStarted {
            step,
            branch,
            attempt,
            ..
        } => format!("start {}#{attempt}", at(step, *branch)),
        EventKind::StepFinished { step, .. } => format!("finish {step}"),
        EventKind::Retrying {
            step,
            branch,
            attempt,
            ..
        } => format!("retry {}#{attempt}", at(step, *branch)),
        EventKind::BranchStarted { step, index, .. } => format!("branch {step}[{index}]"),
        EventKind::BranchFinished {
            step, index, error, ..
        } => {
            let failed = if error.is_some() { " failed" } else { "" };
            format!("branch done {step}[{index}]{failed}")
        }
        EventKind::CallFinished { step, branch, .. } => {
            format!("call {}", at(step.unwrap_or("-"), *branch))
        }
        EventKind::TextDelta { step, text, .. } => format!("text {}: {text}", step.unwrap_or("-")),
        EventKind::Failed { step, .. } => format!("failed {}", step.unwrap_or("-")),
        EventKind::Suspended { step, .. } => format!("suspended {step}"),
        other => other.name().to_owned(),
    }
}

pub(crate) fn shown(events: &[Event]) -> Vec<String> {
    events.iter().map(show).collect()
}

/// Every event of one run carries the same run id and workflow name, numbered from 0.
pub(crate) fn assert_one_run(events: &[Event], workflow: &str) {
    let run = events.first().expect("some events").run;
    for (seq, event) in events.iter().enumerate() {
        assert_eq!((event.run, event.workflow), (run, workflow));
        assert_eq!(event.seq, seq as u64);
    }
}
