//! `workflow history RUN`: a page of a run's checkpoints.

use serde_json::json;
use workflow_runtime::store::CheckpointStore;

use crate::args::HistoryArgs;
use crate::fail::Fail;
use crate::output::{checkpoint_json, pretty, spent, table, time};

pub(crate) async fn history(
    store: &dyn CheckpointStore,
    args: HistoryArgs,
    json: bool,
) -> Result<String, Fail> {
    let page = store.history_page(args.run, args.from, args.limit).await?;
    // A full page may have a next one; a shorter page is the last.
    let next = page
        .last()
        .filter(|_| page.len() == args.limit as usize)
        .map(|last| last.seq + 1);
    if json {
        let checkpoints: Vec<_> = page
            .iter()
            .map(|checkpoint| checkpoint_json(checkpoint, args.state))
            .collect();
        return Ok(pretty(&json!({ "checkpoints": checkpoints, "next": next })));
    }
    let rows: Vec<Vec<String>> = page
        .iter()
        .map(|checkpoint| {
            vec![
                checkpoint.seq.to_string(),
                checkpoint.step.to_string(),
                checkpoint.status.to_string(),
                time(checkpoint.created_at),
                spent(&checkpoint.usage_so_far().total),
            ]
        })
        .collect();
    let mut out = table(
        &["CHECKPOINT", "STEP", "STATUS", "WRITTEN", "SPENT BY THEN"],
        &rows,
    );
    if args.state {
        for checkpoint in &page {
            out.push_str(&format!(
                "checkpoint {}: {}\n",
                checkpoint.seq, checkpoint.state
            ));
        }
    }
    if let Some(next) = next {
        out.push_str(&format!("more: --from {next}\n"));
    }
    Ok(out)
}
