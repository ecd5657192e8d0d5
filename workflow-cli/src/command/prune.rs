//! `workflow prune`: a run's old checkpoints, or old ended runs.

use serde_json::json;
use workflow_runtime::store::{CheckpointStore, Retention};

use crate::args::PruneArgs;
use crate::fail::Fail;
use crate::output::pretty;

pub(super) async fn prune(
    store: &dyn CheckpointStore,
    args: PruneArgs,
    json: bool,
) -> Result<String, Fail> {
    match (args.run, args.keep, args.older_than) {
        (Some(run), Some(keep), None) => {
            // Look the run up first: pruning an unknown run is an error, not "0 deleted".
            store.run(run).await?;
            let deleted = store.prune(run, keep.max(1)).await?;
            Ok(if json {
                pretty(&json!({ "run": run.to_string(), "deleted_checkpoints": deleted }))
            } else {
                format!("deleted {deleted} checkpoints of run {run}\n")
            })
        }
        (None, None, Some(age)) => {
            let mut retention = Retention::older_than(age);
            if args.failed {
                retention = retention.and_failed();
            }
            let deleted = store.delete_runs(retention).await?;
            Ok(if json {
                pretty(&json!({ "deleted_runs": deleted }))
            } else {
                format!("deleted {deleted} runs\n")
            })
        }
        _ => Err(Fail::usage(
            "say what to prune: `prune RUN --keep N` or `prune --older-than AGE`",
        )),
    }
}
