//! `workflow cancel RUN`: stop a run, from any process.

use serde_json::json;
use workflow_runtime::store::{Cancel, CheckpointStore};

use crate::args::CancelArgs;
use crate::fail::Fail;
use crate::output::pretty;

pub(crate) async fn cancel(
    store: &dyn CheckpointStore,
    args: CancelArgs,
    json: bool,
) -> Result<String, Fail> {
    let run = args.run;
    store.run(run).await?.on_its_own()?;
    let (outcome, text) = match store.cancel(run).await? {
        Cancel::Cancelled => ("cancelled", format!("run {run} is cancelled")),
        Cancel::Requested => (
            "requested",
            format!("run {run} stops at its next step boundary: a worker is running it"),
        ),
        Cancel::Ended(status) => (
            "ended",
            format!("run {run} had already ended ({status}): nothing changed"),
        ),
        _ => ("unknown", format!("run {run}: cancel sent")),
    };
    Ok(if json {
        pretty(&json!({ "run": run.to_string(), "cancel": outcome }))
    } else {
        text + "\n"
    })
}
