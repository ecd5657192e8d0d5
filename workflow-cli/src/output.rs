//! What the commands print: aligned tables for people, JSON for scripts.

use std::fmt::Write as _;
use std::time::SystemTime;

use serde_json::{json, Value};
use workflow_runtime::store::{Awaits, Checkpoint, RunInfo};
use workflow_runtime::usage::{SavedUsage, UsageTotals};

/// Rows under a header, each column as wide as its widest cell, two spaces apart.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|cell| cell.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header = header
        .iter()
        .map(|cell| (*cell).to_owned())
        .collect::<Vec<_>>();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (cell, width) in row.iter().zip(&widths) {
            let _ = write!(line, "{cell:<width$}  ");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `time` in RFC 3339, to the second, in UTC: for people.
pub(crate) fn time(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

/// `time` in RFC 3339, to the millisecond, in UTC: for scripts, which may subtract them.
pub(crate) fn instant(time: SystemTime) -> String {
    humantime::format_rfc3339_millis(time).to_string()
}

/// What `usage` spent, in a few words: `3 calls, 1200 in / 300 out tokens, $0.0120`.
pub(crate) fn spent(usage: &UsageTotals) -> String {
    if usage.calls == 0 {
        return "-".to_owned();
    }
    let mut text = format!(
        "{} call{}",
        usage.calls,
        if usage.calls == 1 { "" } else { "s" }
    );
    if usage.failed_calls > 0 {
        let _ = write!(text, " ({} failed)", usage.failed_calls);
    }
    let tokens = usage.usage;
    let _ = write!(
        text,
        ", {} in / {} out tokens",
        tokens.input_tokens, tokens.output_tokens
    );
    if usage.cost_usd > 0.0 {
        let _ = write!(text, ", ${:.4}", usage.cost_usd);
    }
    text
}

/// A run as JSON.
pub(crate) fn run_json(run: &RunInfo) -> Value {
    json!({
        "id": run.id.to_string(),
        "workflow": run.workflow,
        "fingerprint": format!("{:016x}", run.fingerprint),
        "status": run.status.as_str(),
        "step": run.step,
        "version": run.version,
        "owner": run.owner,
        "lease_expires": run.lease_expires.map(instant),
        "parent": run.parent.map(|(run, seq)| json!({ "run": run.to_string(), "checkpoint": seq })),
        "parent_step": run.parent_step,
        "error": run.error,
        "created_at": instant(run.created_at),
        "updated_at": instant(run.updated_at),
        "awaits": waiting(run).map(|awaits| match awaits {
            Awaits::Time(until) => json!({ "until": instant(*until) }),
            Awaits::Signal(signal) => json!({ "signal": signal }),
        }),
    })
}

/// What a running run no worker holds waits for: a timer or a message. Once a worker holds
/// it, it waits for nothing.
pub(crate) fn waiting(run: &RunInfo) -> Option<&Awaits> {
    run.awaits
        .as_ref()
        .filter(|_| !run.is_owned(SystemTime::now()))
}

/// A run's status for a table: its stored status, and what it waits for if anything.
pub(crate) fn status_text(run: &RunInfo) -> String {
    match waiting(run) {
        Some(Awaits::Time(_)) => format!("{} (asleep)", run.status),
        Some(Awaits::Signal(signal)) => format!("{} (awaits {signal})", run.status),
        None => run.status.to_string(),
    }
}

/// What was spent, as JSON: the total and each step's.
pub(crate) fn usage_json(usage: &SavedUsage) -> Value {
    let steps: Vec<Value> = usage
        .steps
        .iter()
        .map(|(step, totals)| json!({ "step": step, "usage": totals }))
        .collect();
    json!({ "total": usage.total, "steps": steps })
}

/// A checkpoint as JSON; its state (the user's data) only if `state`.
pub(crate) fn checkpoint_json(checkpoint: &Checkpoint, state: bool) -> Value {
    let mut value = json!({
        "checkpoint": checkpoint.seq,
        "step": checkpoint.step,
        "status": checkpoint.status.as_str(),
        "created_at": instant(checkpoint.created_at),
        "branches": checkpoint.branches.iter().map(|branch| branch.index).collect::<Vec<_>>(),
        "usage": usage_json(&checkpoint.usage_so_far()),
    });
    if state {
        value["state"] = state_json(&checkpoint.state);
    }
    value
}

/// A stored state as JSON: the value if it parses, else the text as it is.
pub(crate) fn state_json(state: &str) -> Value {
    serde_json::from_str(state).unwrap_or_else(|_| Value::String(state.to_owned()))
}

/// `value` as pretty JSON with a final newline.
pub(crate) fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}
