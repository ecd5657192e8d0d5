//! `workflow fork RUN CHECKPOINT`: a new run from a checkpoint of another, left for a worker.
//!
//! The command has none of the workflow's code, so it does not run the new run: it copies the
//! checkpoint (and the branches of a fan-out or map saved with it) into a new run that records
//! the original as its parent, with no lease. A worker that serves the workflow picks it up
//! (`Worker`), as it picks up a submitted run; `Runner::resume` drives it too. Like
//! `Runner::fork`, the new run counts what it spends from zero. A child run in flight at that
//! checkpoint (at any depth) becomes a child run of the new one when a worker, or
//! `Runner::resume`, first takes the new run up: its row comes then, its checkpoint 0 its
//! state at the fork, as `Runner::fork` makes it.

use std::time::{Duration, SystemTime};

use serde_json::json;
use workflow_runtime::store::{BranchRecord, Checkpoint, CheckpointStore, Lease, NewRun, RunId};

use crate::args::ForkArgs;
use crate::fail::Fail;
use crate::output::pretty;

pub(crate) async fn fork(
    store: &dyn CheckpointStore,
    args: ForkArgs,
    json: bool,
) -> Result<String, Fail> {
    let (from, seq) = (args.run, args.checkpoint);
    store.run(from).await?.on_its_own()?;
    let saved = store.checkpoint(from, Some(seq)).await?;
    let id = RunId::new();
    let branches: Vec<BranchRecord> = saved
        .branches
        .iter()
        .map(|branch| BranchRecord {
            usage: Default::default(),
            ..branch.clone()
        })
        .collect();
    let first = Checkpoint {
        run: id,
        seq: 0,
        usage: Default::default(),
        created_at: SystemTime::now(),
        branches: Vec::new(),
        child: None,
        ..saved
    };
    let workflow = first.workflow.clone();
    // Saved branches go in under a short lease, given up at once: only then may a worker
    // take the run, with all of them.
    let lease =
        (!branches.is_empty()).then(|| Lease::new("workflow fork", Duration::from_secs(60)));
    store
        .create(NewRun {
            first,
            parent: Some((from, seq)),
            lease: lease.clone(),
        })
        .await?;
    if let Some(lease) = lease {
        for branch in branches {
            store.save_branch(&lease, id, 0, branch).await?;
        }
        store.release(id, &lease, None).await?;
    }
    Ok(if json {
        pretty(&json!({
            "run": id.to_string(),
            "workflow": workflow,
            "parent": { "run": from.to_string(), "checkpoint": seq },
        }))
    } else {
        format!(
            "run {id} starts from checkpoint {seq} of run {from}; a worker serving `{workflow}` drives it\n"
        )
    })
}
