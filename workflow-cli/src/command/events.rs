//! `workflow events RUN`: a page of a run's event log, or all of it as the run goes
//! (`--follow`).
//!
//! Each entry is shown as its number, time, kind, step and a short summary (retries, elapsed
//! time, tokens, cost, error); `--json` prints each entry with the event's own JSON.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Duration;

use serde_json::{json, Value};
use workflow_runtime::store::{CheckpointStore, LoggedEvent};

use crate::args::EventsArgs;
use crate::fail::Fail;
use crate::output::{instant, pretty, time};

/// How often `--follow` asks the store for new entries.
const POLL: Duration = Duration::from_millis(300);

/// Polls after the run has ended before `--follow` stops anyway, if its log has no last
/// event (`completed`, `failed`): a run that crashed, or a store that keeps no log.
const GRACE_POLLS: u32 = 3;

pub(crate) async fn events(
    store: &dyn CheckpointStore,
    args: EventsArgs,
    json: bool,
) -> Result<String, Fail> {
    if args.follow {
        return follow(store, args, json).await;
    }
    let (page, next) = match args.last {
        // The log's end: nothing comes after it, for now.
        Some(last) => (store.latest_events(args.run, last).await?, None),
        None => {
            let page = store.events(args.run, args.from, args.limit).await?;
            // A full page may have a next one; a shorter page is the last.
            let next = page
                .last()
                .filter(|_| page.len() == args.limit as usize)
                .map(|last| last.seq + 1);
            (page, next)
        }
    };
    if json {
        let entries: Vec<Value> = page.iter().map(entry_json).collect();
        return Ok(pretty(&json!({ "events": entries, "next": next })));
    }
    let mut out = header();
    for entry in &page {
        out.push_str(&row(entry));
    }
    if let Some(next) = next {
        let _ = writeln!(out, "more: --from {next}");
    }
    Ok(out)
}

/// Prints the log from `args.from` as it grows, until the run has ended (finished, failed or
/// cancelled): a
/// table, or one JSON document per line with `json`.
async fn follow(store: &dyn CheckpointStore, args: EventsArgs, json: bool) -> Result<String, Fail> {
    let mut stdout = std::io::stdout();
    let (mut from, mut last_kind, mut idle) = (args.from, None::<String>, 0);
    let limit = args.limit.max(1);
    // With `--last`, the log's end first, then on from after it.
    let mut first = match args.last {
        Some(last) => {
            let end = store.latest_events(args.run, last.max(1)).await?;
            from = end.last().map_or(0, |entry| entry.seq + 1);
            let skip = end.len().saturating_sub(last as usize);
            Some(end.into_iter().skip(skip).collect::<Vec<_>>())
        }
        None => None,
    };
    // The header once the run is known to be there: an unknown run prints nothing.
    let mut header = (!json).then(header);
    loop {
        let page = match first.take() {
            Some(end) => end,
            None => store.events(args.run, from, limit).await?,
        };
        if let Some(header) = header.take() {
            print(&mut stdout, &header);
        }
        for entry in &page {
            let line = if json {
                let mut line = entry_json(entry).to_string();
                line.push('\n');
                line
            } else {
                row(entry)
            };
            print(&mut stdout, &line);
            last_kind = kind(&event_json(entry)).map(str::to_owned);
            from = entry.seq + 1;
        }
        if page.len() == limit as usize {
            continue;
        }
        let run = store.run(args.run).await?;
        if run.has_ended() {
            let told = matches!(last_kind.as_deref(), Some("completed" | "failed"));
            idle += 1;
            if told || idle > GRACE_POLLS {
                return Ok(String::new());
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Writes `text` now. A closed pipe (`workflow events --follow | head`) is not an error.
fn print(stdout: &mut std::io::Stdout, text: &str) {
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// The columns: the widest values of the first three are known, so rows printed one by one
/// line up.
fn header() -> String {
    format!(
        "{:>5}  {:<20}  {:<14}  {:<16}  SUMMARY\n",
        "SEQ", "TIME", "TYPE", "STEP"
    )
}

fn row(entry: &LoggedEvent) -> String {
    let event = event_json(entry);
    let line = format!(
        "{:>5}  {:<20}  {:<14}  {:<16}  {}",
        entry.seq,
        time(entry.at),
        kind(&event).unwrap_or("?"),
        step(&event),
        summary(&event),
    );
    format!("{}\n", line.trim_end())
}

/// An entry as JSON: its number, time, kind, step and summary, and the event itself.
pub(crate) fn entry_json(entry: &LoggedEvent) -> Value {
    let event = event_json(entry);
    json!({
        "seq": entry.seq,
        "at": instant(entry.at),
        "type": kind(&event),
        "step": step(&event),
        "summary": summary(&event),
        "event": event,
    })
}

/// The event's JSON; text that is not JSON (a row edited by hand) as a string.
fn event_json(entry: &LoggedEvent) -> Value {
    serde_json::from_str(&entry.event).unwrap_or_else(|_| Value::String(entry.event.clone()))
}

fn kind(event: &Value) -> Option<&str> {
    event["type"].as_str()
}

/// The step the event is about, with its branch (`draft[2]`), or empty.
fn step(event: &Value) -> String {
    let Some(step) = event["step"].as_str() else {
        return String::new();
    };
    match event["branch"].as_u64().or_else(|| event["index"].as_u64()) {
        Some(branch) => format!("{step}[{branch}]"),
        None => step.to_owned(),
    }
}

/// What the event says in a few words: attempt or retries, elapsed time, tokens, cost, error.
pub(crate) fn summary(event: &Value) -> String {
    let mut parts: Vec<String> = Vec::new();
    match kind(event) {
        Some("run_started") => {
            if let Some(steps) = event["steps"].as_array() {
                parts.push(format!("{} steps", steps.len()));
            }
        }
        Some("step_started" | "retrying") => {
            if let Some(attempt) = event["attempt"].as_u64() {
                parts.push(format!("attempt {attempt}"));
            }
            if let Some(delay) = duration(&event["delay"]) {
                parts.push(format!("next in {}", seconds(delay)));
            }
        }
        Some("step_finished" | "step_failed") => {
            // As the console's timeline counts them: the attempts after the first.
            if let Some(retries) = event["attempts"].as_u64().filter(|n| *n > 1).map(|n| n - 1) {
                parts.push(format!(
                    "{retries} retr{}",
                    if retries == 1 { "y" } else { "ies" }
                ));
            }
            if let Some(handler) = event["handler"].as_str() {
                parts.push(format!("error to {handler}"));
            }
        }
        Some("call_finished") => {
            if let Some(model) = event["model"].as_str() {
                parts.push(model.to_owned());
            }
            if event["ok"] == Value::Bool(false) {
                parts.push("failed".to_owned());
            }
            parts.extend(tokens(&event["usage"]));
            parts.extend(cost(&event["cost_usd"]));
            parts.extend(duration(&event["latency"]).map(seconds));
        }
        Some("suspended") => parts.push("waits at a pause".to_owned()),
        _ => {}
    }
    parts.extend(duration(&event["elapsed"]).map(seconds));
    let totals = &event["usage"];
    let calls = totals["calls"].as_u64().filter(|n| *n > 0);
    if let Some(calls) = calls.filter(|_| kind(event) != Some("call_finished")) {
        parts.push(format!("{calls} call{}", if calls == 1 { "" } else { "s" }));
        parts.extend(tokens(&totals["usage"]));
        parts.extend(cost(&totals["cost_usd"]));
    }
    if let Some(error) = event["error"].as_str() {
        parts.push(error.to_owned());
    }
    parts.join(", ")
}

/// A duration as serde writes it: `{"secs": 1, "nanos": 500000000}`.
fn duration(value: &Value) -> Option<Duration> {
    let secs = value["secs"].as_u64()?;
    let nanos = value["nanos"].as_u64().unwrap_or(0);
    Some(Duration::from_secs(secs) + Duration::from_nanos(nanos.min(999_999_999)))
}

fn seconds(duration: Duration) -> String {
    if duration < Duration::from_secs(1) {
        format!("{:.1}ms", duration.as_secs_f64() * 1000.0)
    } else {
        format!("{:.2}s", duration.as_secs_f64())
    }
}

/// `1200 in / 300 out tokens`, from a `Usage`.
fn tokens(usage: &Value) -> Option<String> {
    let input = usage["input_tokens"].as_u64()?;
    let output = usage["output_tokens"].as_u64().unwrap_or(0);
    Some(format!("{input} in / {output} out tokens"))
}

fn cost(cost: &Value) -> Option<String> {
    cost.as_f64()
        .filter(|cost| *cost > 0.0)
        .map(|cost| format!("${cost:.4}"))
}
