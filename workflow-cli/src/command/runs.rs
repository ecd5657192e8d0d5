//! `workflow runs`: a page of runs.

use serde_json::json;
use workflow_runtime::store::{CheckpointStore, RunFilter, RunId, RunInfo};
use workflow_runtime::usage::UsageTotals;

use crate::args::RunsArgs;
use crate::fail::{one_line, Fail};
use crate::output::{run_json, status_text, table, time};

pub(crate) async fn runs(
    store: &dyn CheckpointStore,
    args: RunsArgs,
    json: bool,
) -> Result<String, Fail> {
    let mut filter = RunFilter::new().limit(args.limit);
    if let Some(status) = args.status {
        filter = filter.status(status);
    }
    if let Some(workflow) = args.workflow {
        filter = filter.workflow(workflow);
    }
    if let Some(after) = args.after {
        filter = filter.after(after);
    }
    let page = store.list(filter).await?;
    // A full page may have a next one; a shorter page is the last.
    let next = page
        .last
        .filter(|_| page.len() == args.limit as usize)
        .map(|id| id.to_string());
    let corrupt: Vec<String> = page.corrupt.iter().map(|error| one_line(error)).collect();
    if json {
        let runs: Vec<_> = page
            .runs
            .iter()
            .map(|run| {
                let mut value = run_json(run);
                value["spent"] = json!(run.spent);
                value
            })
            .collect();
        return Ok(crate::output::pretty(
            &json!({ "runs": runs, "corrupt": corrupt, "next": next }),
        ));
    }
    let rows: Vec<Vec<String>> = nested(&page.runs)
        .into_iter()
        .map(|(run, depth)| {
            // A child run under its parent, indented a level more for each level down.
            let id = match depth {
                0 => run.id.to_string(),
                depth => format!("{}└ {}", "  ".repeat(depth - 1), run.id),
            };
            let workflow = match &run.parent_step {
                Some(step) => format!("{} (step {step})", run.workflow),
                None => run.workflow.clone(),
            };
            vec![
                id,
                workflow,
                status_text(run),
                run.step.clone(),
                run.version.to_string(),
                run.spent.as_ref().map_or_else(|| "?".to_owned(), cost),
                time(run.updated_at),
            ]
        })
        .collect();
    let mut out = table(
        &[
            "RUN",
            "WORKFLOW",
            "STATUS",
            "STEP",
            "CHECKPOINT",
            "COST",
            "UPDATED",
        ],
        &rows,
    );
    for error in corrupt {
        out.push_str(&format!("unreadable row: {error}\n"));
    }
    if let Some(next) = next {
        out.push_str(&format!("more: --after {next}\n"));
    }
    Ok(out)
}

/// `runs` in the order a table shows them: each child run right under its parent if the
/// parent is on the page, a child run's own child runs under it, and so on (with the depth: 0
/// for a run shown at the top), the others in order.
fn nested(runs: &[RunInfo]) -> Vec<(&RunInfo, usize)> {
    let on_page = |id: RunId| runs.iter().any(|run| run.id == id);
    let parent_of = |run: &RunInfo| {
        run.parent
            .filter(|_| run.parent_step.is_some())
            .map(|(parent, _)| parent)
            .filter(|parent| on_page(*parent))
    };
    let mut rows = Vec::with_capacity(runs.len());
    // Depth first: a run, then the tree under it, before the next run.
    let mut stack: Vec<(&RunInfo, usize)> = runs
        .iter()
        .rev()
        .filter(|run| parent_of(run).is_none())
        .map(|run| (run, 0))
        .collect();
    while let Some((run, depth)) = stack.pop() {
        rows.push((run, depth));
        let children = runs
            .iter()
            .rev()
            .filter(|child| parent_of(child) == Some(run.id));
        stack.extend(children.map(|child| (child, depth + 1)));
    }
    rows
}

/// What a run's calls cost, for a table: `$0.0120`, or `-` if nothing was priced.
fn cost(spent: &UsageTotals) -> String {
    match spent.cost_usd {
        cost if cost > 0.0 => format!("${cost:.4}"),
        _ => "-".to_owned(),
    }
}
