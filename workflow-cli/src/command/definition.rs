//! What the store records of a run's workflow: its graph, its pauses and its signals, to show
//! a run and to check an answer or a message before it is recorded.

use workflow_runtime::store::{CheckpointStore, RunInfo};
use workflow_runtime::{Approval, ApprovalRequest, PauseToken, WorkflowDefinition};

use super::schema;
use crate::fail::Fail;

/// The definition of the workflow run `info` runs, if the store recorded it (and it reads
/// back: a definition is for showing, so one that does not is shown as missing).
pub(crate) async fn of(store: &dyn CheckpointStore, info: &RunInfo) -> Option<WorkflowDefinition> {
    store
        .definition(&info.workflow, info.fingerprint)
        .await
        .ok()
        .flatten()
}

/// Checks `value` against the JSON Schema of the pause run `info` waits at, if its definition
/// has one: a value that does not fit is a usage error, which names where and why. Without a
/// schema nothing is checked here; the worker that gives the answer checks it anyway.
pub(crate) async fn check_answer(
    store: &dyn CheckpointStore,
    info: &RunInfo,
    seq: u64,
    value: &serde_json::Value,
) -> Result<(), Fail> {
    if let Some(request) = approval(store, PauseToken::new(info.id, seq)).await {
        return schema::check(&Approval::schema(), value).map_err(|why| {
            Fail::usage(format!(
                "the run waits in step `{}` for the approval of a call of tool `{}`, and this \
                 answer is not an approval (\"allow\", {{\"deny\": {{\"reason\": \"…\"}}}} or \
                 {{\"edit\": {{\"arguments\": {{…}}}}}}): {why}",
                info.step, request.tool
            ))
        });
    }
    let Some(definition) = of(store, info).await else {
        return Ok(());
    };
    let Some(pause) = definition.pause(&info.step) else {
        return Ok(());
    };
    let Some(schema) = &pause.schema else {
        return Ok(());
    };
    schema::check(schema, value).map_err(|why| {
        Fail::usage(format!(
            "the pause before step `{}` takes a value of type `{}`, and this answer is not one: {why}",
            pause.step, pause.value_type
        ))
    })
}

/// Checks that the workflow of run `info` receives signal `signal`, and `value` against the
/// JSON Schema of its messages, if its definition records them: a signal it does not receive
/// is refused, a value that does not fit is a usage error. Without a definition, or one
/// recorded before definitions listed signals, nothing is checked here.
pub(crate) async fn check_message(
    store: &dyn CheckpointStore,
    info: &RunInfo,
    signal: &str,
    value: &serde_json::Value,
) -> Result<(), Fail> {
    let Some(definition) = of(store, info).await else {
        return Ok(());
    };
    let Some(signals) = &definition.signals else {
        return Ok(());
    };
    let Some(found) = signals.iter().find(|known| known.name == signal) else {
        let known: Vec<String> = signals.iter().map(|s| format!("`{}`", s.name)).collect();
        let known = match known.is_empty() {
            true => "none".to_owned(),
            false => known.join(", "),
        };
        return Err(Fail::refused(format!(
            "workflow `{}` receives no signal `{signal}`; the signals it receives: {known}",
            info.workflow
        )));
    };
    let Some(schema) = &found.schema else {
        return Ok(());
    };
    schema::check(schema, value).map_err(|why| {
        Fail::usage(format!(
            "signal `{signal}` takes a message of type `{}`, and this one is not: {why}",
            found.value_type
        ))
    })
}

/// The tool call the run `token` names waits for an approval of, at the checkpoint it names,
/// if any (a store that cannot be read shows none).
pub(crate) async fn approval(
    store: &dyn CheckpointStore,
    token: PauseToken,
) -> Option<ApprovalRequest> {
    let calls = store.calls(token.run, token.seq).await.ok()?;
    ApprovalRequest::pending(&calls).map(|(_, request)| request)
}
