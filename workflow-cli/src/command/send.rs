//! `workflow send RUN SIGNAL JSON`: queue a message for a run, without the workflow's code.
//!
//! The message waits in the store until the run reaches a step that receives the signal; a
//! run that waits for it already is picked up by a worker that serves its workflow. What the
//! command can check without the code, it checks first: the run exists and has not ended,
//! and, from the definition the store recorded, that the workflow receives the signal and
//! the message fits its JSON Schema. The worker's `Workflow::deliver_json` is the last word on
//! the value.

use serde_json::json;
use workflow_runtime::store::CheckpointStore;

use super::definition::check_message;
use super::input;
use crate::args::SendArgs;
use crate::fail::Fail;
use crate::output::pretty;

pub(crate) async fn send(
    store: &dyn CheckpointStore,
    args: SendArgs,
    json: bool,
) -> Result<String, Fail> {
    let value = input::json(args.value.as_deref(), args.file.as_deref(), "message")?;
    let (run, signal) = (args.run, args.signal);
    let info = store.run(run).await?;
    info.on_its_own()?;
    if info.has_ended() {
        return Err(Fail::refused(format!(
            "run {run} is {}: it has ended, and would never take the message",
            info.status.as_str()
        )));
    }
    check_message(store, &info, &signal, &value).await?;
    let number = store.send_signal(run, &signal, value.to_string()).await?;
    Ok(if json {
        pretty(&json!({
            "run": run.to_string(),
            "signal": signal,
            "message": number,
            "workflow": info.workflow,
            "queued": true,
        }))
    } else {
        format!(
            "run {run}: message {number} queued under signal `{signal}`; a worker serving `{}` \
             gives it to the run at its step that receives it\n",
            info.workflow
        )
    })
}
