//! `workflow show RUN`: one run, where it stands and what it spent.

use std::fmt::Write as _;

use serde_json::{json, Value};
use workflow_runtime::store::{Awaits, CheckpointStore, RunFilter, RunId, RunInfo, RunStatus};
use workflow_runtime::{Approval, PauseToken};

use super::definition;
use crate::args::ShowArgs;
use crate::fail::Fail;
use crate::output::{pretty, run_json, spent, state_json, time, usage_json, waiting};

pub(crate) async fn show(
    store: &dyn CheckpointStore,
    args: ShowArgs,
    json: bool,
) -> Result<String, Fail> {
    let run = store.run(args.run).await?;
    let latest = store.checkpoint(args.run, None).await?;
    let usage = latest.usage_so_far();
    // A suspended run waits at its latest checkpoint; the token names that pause. (A child
    // run's pause is its parent's: answer the parent.)
    let pause = (run.status == RunStatus::Suspended && run.parent_step.is_none())
        .then(|| PauseToken::new(run.id, latest.seq));
    let children = store
        .list(RunFilter::new().children_of(run.id))
        .await?
        .into_runs()?;
    let top = top_of(store, &run).await;
    let definition = definition::of(store, &run).await;
    let takes = definition
        .as_ref()
        .and_then(|definition| definition.pause(&latest.step));
    // The signal a run waits for, as its definition describes it.
    let receives = match (waiting(&run), &definition) {
        (Some(Awaits::Signal(signal)), Some(definition)) => definition.signal(signal),
        _ => None,
    };
    // A run suspended inside its step waits for the approval of a tool call.
    let approval = match pause {
        Some(token) => definition::approval(store, token).await,
        None => None,
    };
    if json {
        let mut value = run_json(&run);
        value["usage"] = usage_json(&usage);
        value["pause"] = match (pause, &approval) {
            (Some(token), Some(request)) => json!({
                "step": latest.step,
                "checkpoint": token.seq,
                "token": token.to_string(),
                "approval": true,
                "asks": request,
                "takes": std::any::type_name::<Approval>(),
                "schema": Approval::schema(),
            }),
            (Some(token), None) => json!({
                "step": latest.step,
                "checkpoint": token.seq,
                "token": token.to_string(),
                "approval": false,
                "asks": asks(&latest.state, &latest.step),
                "takes": takes.map(|pause| &pause.value_type),
                "schema": takes.and_then(|pause| pause.schema.as_ref()),
            }),
            (None, _) => serde_json::Value::Null,
        };
        value["signal"] = match receives {
            Some(signal) => json!({
                "name": signal.name,
                "takes": signal.value_type,
                "schema": signal.schema,
            }),
            None => Value::Null,
        };
        value["definition"] = match &definition {
            Some(definition) => json!({
                "steps": definition.steps,
                "mermaid": definition.mermaid,
            }),
            None => Value::Null,
        };
        value["children"] = children.iter().map(run_json).collect();
        if args.state {
            value["state"] = state_json(&latest.state);
        }
        return Ok(pretty(&value));
    }
    let mut out = String::new();
    let mut line = |label: &str, value: &str| {
        let _ = writeln!(out, "{label:<10} {value}");
    };
    line("run", &run.id.to_string());
    line(
        "workflow",
        &format!("{} (definition {:016x})", run.workflow, run.fingerprint),
    );
    match waiting(&run) {
        Some(Awaits::Time(until)) => line(
            "status",
            &format!("{} (asleep until {})", run.status, time(*until)),
        ),
        Some(Awaits::Signal(signal)) => line(
            "status",
            &format!("{} (awaits a `{signal}` message)", run.status),
        ),
        None => line("status", run.status.as_str()),
    }
    if let Some(signal) = receives {
        line(
            "takes",
            &format!(
                "a message of type `{}`: workflow send {} {} JSON",
                signal.value_type, run.id, signal.name
            ),
        );
    }
    line("step", &run.step);
    line("checkpoint", &run.version.to_string());
    if let (Some(token), Some(request)) = (pause, &approval) {
        line(
            "pause",
            &format!(
                "waits in step `{}` for the approval of a call of tool `{}` by agent `{}`; \
                 answer with token {token}",
                latest.step, request.tool, request.agent
            ),
        );
        line(
            "asks",
            &brief(&format!("{} {}", request.tool, request.arguments)),
        );
        line(
            "takes",
            &format!(
                "an approval: workflow answer {} '\"allow\"' (or '{{\"deny\": {{\"reason\": \"…\"}}}}', \
                 '{{\"edit\": {{\"arguments\": {{…}}}}}}')",
                run.id
            ),
        );
    } else if let Some(token) = pause {
        line(
            "pause",
            &format!("waits at step `{}`; answer with token {token}", latest.step),
        );
        if let Some(asks) = asks(&latest.state, &latest.step) {
            line("asks", &brief(&asks.to_string()));
        }
        if let Some(takes) = takes {
            line(
                "takes",
                &format!(
                    "a value of type `{}`: workflow answer {} JSON",
                    takes.value_type, run.id
                ),
            );
        }
    }
    if let Some(error) = &run.error {
        line("error", error);
    }
    if let Some(owner) = &run.owner {
        match run.lease_expires {
            Some(expires) => line("owner", &format!("{owner} (lease until {})", time(expires))),
            None => line("owner", owner),
        }
    }
    match (run.parent, &run.parent_step) {
        (Some((parent, seq)), Some(step)) => {
            // A child run's own child moves with the run at the top of its tree.
            let moves = match top.filter(|top| *top != parent) {
                Some(top) => {
                    format!("with run {top}, the top of its tree: cancel, answer or fork run {top}")
                }
                None => format!("with its parent: cancel, answer or fork run {parent}"),
            };
            line(
                "child",
                &format!(
                    "of run {parent}, step `{step}` (from its checkpoint {seq}); it moves {moves}"
                ),
            );
        }
        (Some((parent, seq)), None) => {
            line("forked", &format!("from run {parent} at checkpoint {seq}"));
        }
        _ => {}
    }
    line("created", &time(run.created_at));
    line("updated", &time(run.updated_at));
    line("spent", &spent(&usage.total));
    for (step, totals) in &usage.steps {
        line("", &format!("{step}: {}", spent(totals)));
    }
    for child in &children {
        let step = child.parent_step.as_deref().unwrap_or_default();
        line(
            "child run",
            &format!(
                "{} {} (step `{step}`): {} at `{}`",
                child.id, child.workflow, child.status, child.step
            ),
        );
    }
    if args.state {
        out.push_str(&pretty(&state_json(&latest.state)));
    }
    Ok(out)
}

/// What a run suspended before `step` shows the person who answers: the pause step's input.
/// A state waiting at a pause is stored as `{"step": [input, "waiting"]}`.
fn asks(state: &str, step: &str) -> Option<Value> {
    let mut state: Value = serde_json::from_str(state).ok()?;
    match state.get_mut(step)?.as_array_mut()?.as_mut_slice() {
        [input, waiting] if waiting == "waiting" => Some(input.take()),
        _ => None,
    }
}

/// `text`, cut to one line of a terminal.
fn brief(text: &str) -> String {
    const WIDTH: usize = 100;
    match text.char_indices().nth(WIDTH) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// The run at the top of child run `run`'s tree (its parent's parent, and so on, up to a run
/// of its own), if `run` is a child run and its parents read back.
async fn top_of(store: &dyn CheckpointStore, run: &RunInfo) -> Option<RunId> {
    let mut parent = run.parent.filter(|_| run.parent_step.is_some())?.0;
    // Bounded: a tree is as deep as workflows nest, never a cycle, but a store could say so.
    for _ in 0..64 {
        let info = store.run(parent).await.ok()?;
        match (info.parent, info.parent_step) {
            (Some((up, _)), Some(_)) => parent = up,
            _ => return Some(info.id),
        }
    }
    None
}
