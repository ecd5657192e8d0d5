//! `workflow answer RUN JSON`: answer the pause a run waits at, without the workflow's code.
//!
//! The command cannot give the value to the run itself: that takes the workflow's types. It
//! records the answer in the store (`Runner::record_answer`), and a worker that serves the
//! workflow gives it when it picks the run up: `Workflow::answer_json` there is the last word
//! on the value, and one it refuses leaves the run at its pause, with an `answer_rejected`
//! event in its log saying why.

use serde_json::json;
use workflow_runtime::store::{CheckpointStore, RunStatus};
use workflow_runtime::{Error, PauseToken, RunId};

use super::{definition, input};
use crate::args::AnswerArgs;
use crate::fail::Fail;
use crate::output::pretty;

pub(crate) async fn answer(
    store: &dyn CheckpointStore,
    args: AnswerArgs,
    json: bool,
) -> Result<String, Fail> {
    let value = input::json(args.value.as_deref(), args.file.as_deref(), "answer")?;
    let recorded = record(store, args.run, args.at, &value).await?;
    let (run, seq) = (args.run, recorded.seq);
    Ok(if json {
        pretty(&json!({
            "run": run.to_string(),
            "checkpoint": seq,
            "step": recorded.step,
            "workflow": recorded.workflow,
            "answer": "recorded",
        }))
    } else {
        let pause = match &recorded.tool {
            Some(tool) => format!(
                "the approval of a call of tool `{tool}` in step `{}`",
                recorded.step
            ),
            None => format!("the pause before step `{}`", recorded.step),
        };
        format!(
            "run {run}: answer recorded for {pause} (checkpoint {seq}); a worker serving `{}` \
             gives it to the run\n",
            recorded.workflow
        )
    })
}

/// Where an answer was recorded.
pub(crate) struct Recorded {
    pub(crate) seq: u64,
    pub(crate) step: String,
    pub(crate) workflow: String,
    /// The tool whose call the answer approves, for an approval.
    pub(crate) tool: Option<String>,
}

/// Records `value` for the pause run `run` waits at (at checkpoint `at`, if given: a form
/// shown for one pause never answers the next).
pub(crate) async fn record(
    store: &dyn CheckpointStore,
    run: RunId,
    at: Option<u64>,
    value: &serde_json::Value,
) -> Result<Recorded, Fail> {
    let info = store.run(run).await?;
    info.on_its_own()?;
    if info.status != RunStatus::Suspended && at.is_none() {
        return Err(Error::RunNotSuspended {
            run,
            status: info.status.as_str(),
        }
        .into());
    }
    let seq = at.unwrap_or(info.version);
    definition::check_answer(store, &info, seq, value).await?;
    let approval = definition::approval(store, PauseToken::new(run, seq)).await;
    store.record_answer(run, seq, value.to_string()).await?;
    Ok(Recorded {
        seq,
        step: info.step,
        workflow: info.workflow,
        tool: approval.map(|request| request.tool),
    })
}
