//! The `workflow` command against runs a program left in a real SQLite file and, when
//! `WORKFLOW_POSTGRES_URL` is set, a real PostgreSQL database: what it prints for people and
//! for scripts, and the one line and exit code it gives for bad input.

mod support;

use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use std::time::Duration;

use serde_json::Value;
use workflow::store::{BranchRecord, CheckpointStore, Lease, RunId, RunStatus};
use workflow::Worker;

use support::{leave_runs, Runs};

fn workflow(store: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_workflow"))
        .arg("--store")
        .arg(store)
        .args(args)
        .env_remove("WORKFLOW_STORE")
        .output()
        .expect("the binary runs")
}

/// Stdout of a command that must succeed.
fn ok(store: &str, args: &[&str]) -> String {
    let out = workflow(store, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?} failed: {stderr}");
    assert!(stderr.is_empty(), "{args:?} wrote to stderr: {stderr}");
    String::from_utf8(out.stdout).expect("UTF-8")
}

fn ok_json(store: &str, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.push("--json");
    serde_json::from_str(&ok(store, &args)).expect("one JSON document")
}

/// Stdout of a command that must succeed, given `input` on its standard input.
fn ok_with_input(store: &str, args: &[&str], input: &str) -> String {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_workflow"))
        .arg("--store")
        .arg(store)
        .args(args)
        .env_remove("WORKFLOW_STORE")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut stdin = child.stdin.take().expect("its standard input");
    stdin.write_all(input.as_bytes()).expect("writes");
    drop(stdin);
    let out = child.wait_with_output().expect("ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?} failed: {stderr}");
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// The exit code and the one line on stderr of a command that must fail.
fn fails(store: &str, args: &[&str]) -> (i32, String) {
    let out = workflow(store, args);
    assert!(!out.status.success(), "{args:?} succeeded");
    assert!(out.stdout.is_empty(), "{args:?} printed on stdout");
    let stderr = String::from_utf8(out.stderr).expect("UTF-8");
    (out.status.code().expect("an exit code"), stderr)
}

fn ids(list: &Value) -> Vec<&str> {
    list["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|run| run["id"].as_str().expect("an id"))
        .collect()
}

/// Everything the command shows of the runs `leave_runs` left in `store`.
fn check_reads(store: &str, runs: &Runs) {
    let (suspended, finished, failed) = (
        runs.suspended.to_string(),
        runs.finished.to_string(),
        runs.failed.to_string(),
    );

    // The list, oldest first, for people and for scripts, with filters and pages.
    let table = ok(store, &["runs"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(lines[0].starts_with("RUN"), "{table}");
    for (line, (id, status)) in lines[1..].iter().zip([
        (&suspended, "suspended"),
        (&finished, "finished"),
        (&failed, "failed"),
    ]) {
        assert!(line.starts_with(id.as_str()), "{table}");
        assert!(line.contains(" Post ") && line.contains(status), "{table}");
    }
    let all = ok_json(store, &["runs"]);
    assert_eq!(ids(&all), [&suspended, &finished, &failed]);
    assert_eq!(all["next"], Value::Null);
    // What each run spent, in the list: the table's COST column is its JSON cost.
    assert!(lines[0].contains(" COST "), "{table}");
    let spent = &all["runs"][0]["spent"];
    assert_eq!(spent["calls"], 1, "{all}");
    let cost = spent["cost_usd"].as_f64().expect("a cost");
    assert!(cost > 0.0, "{all}");
    assert!(lines[1].contains(&format!(" ${cost:.4} ")), "{table}");
    let waiting = ok_json(store, &["runs", "--status", "suspended"]);
    assert_eq!(ids(&waiting), [&suspended]);
    assert_eq!(waiting["runs"][0]["step"], "review");
    assert_eq!(
        ids(&ok_json(store, &["runs", "--workflow", "Other"])).len(),
        0
    );
    let first = ok_json(store, &["runs", "--limit", "2"]);
    assert_eq!(ids(&first), [&suspended, &finished]);
    let next = first["next"].as_str().expect("a next page");
    assert!(ok(store, &["runs", "--limit", "2"]).ends_with(&format!("more: --after {next}\n")));
    assert_eq!(
        ids(&ok_json(store, &["runs", "--limit", "2", "--after", next])),
        [&failed]
    );

    // One run: its pause and its token, what it spent and what failed.
    let shown = ok(store, &["show", &suspended]);
    assert!(shown.contains("status     suspended\n"), "{shown}");
    assert!(
        shown.contains(&format!(
            "pause      waits at step `review`; answer with token {suspended}/1\nasks       \"a post about rust\"\n"
        )),
        "{shown}"
    );
    // 120 tokens in at $10 and 30 out at $20 per million.
    assert!(
        shown.contains("spent      1 call, 120 in / 30 out tokens, $0.0018"),
        "{shown}"
    );
    assert!(shown.contains("draft: 1 call"), "{shown}");
    let json = ok_json(store, &["show", &suspended, "--state"]);
    assert_eq!(json["pause"]["token"], format!("{suspended}/1"));
    assert_eq!(json["pause"]["asks"], "a post about rust");
    assert_eq!(json["usage"]["total"]["calls"], 1);
    assert_eq!(json["usage"]["steps"][0]["step"], "draft");
    assert!(
        json["state"].to_string().contains("a post about rust"),
        "{json}"
    );
    let json = ok_json(store, &["show", &finished]);
    assert_eq!(json["status"], "finished");
    assert_eq!(json["pause"], Value::Null);
    assert_eq!(json["step"], "end");
    let json = ok_json(store, &["show", &failed]);
    assert_eq!(json["status"], "failed");
    assert!(
        json["error"]
            .as_str()
            .expect("an error")
            .contains("no topic"),
        "{json}"
    );

    // Its checkpoints, a page at a time.
    let history = ok(store, &["history", &finished]);
    let steps: Vec<&str> = history
        .lines()
        .skip(1)
        .map(|line| line.split_whitespace().nth(1).expect("a step"))
        .collect();
    assert_eq!(
        steps,
        ["draft", "review", "review", "publish", "end"],
        "{history}"
    );
    let page = ok_json(
        store,
        &["history", &finished, "--from", "1", "--limit", "2"],
    );
    let seqs: Vec<u64> = page["checkpoints"]
        .as_array()
        .expect("checkpoints")
        .iter()
        .map(|checkpoint| checkpoint["checkpoint"].as_u64().expect("a number"))
        .collect();
    assert_eq!(seqs, [1, 2]);
    assert_eq!(page["next"], 3);
}

/// The event logs of the runs `leave_runs` left in `store`, a page at a time.
fn check_events(store: &str, runs: &Runs) {
    let finished = runs.finished.to_string();
    let log = ok_json(store, &["events", &finished]);
    let entries = log["events"].as_array().expect("events");
    let kinds: Vec<&str> = entries
        .iter()
        .map(|entry| entry["type"].as_str().expect("a type"))
        .collect();
    assert_eq!(
        kinds,
        [
            "run_started",
            "step_started",
            "call_finished",
            "step_finished",
            "suspended",
            "resumed",
            "step_started",
            "step_finished",
            "step_started",
            "step_finished",
            "completed",
        ]
    );
    let seqs: Vec<u64> = entries
        .iter()
        .map(|entry| entry["seq"].as_u64().expect("a seq"))
        .collect();
    assert_eq!(seqs, (0..kinds.len() as u64).collect::<Vec<_>>());
    assert_eq!(log["next"], Value::Null);
    // 100 tokens in at $10 and 20 out at $20 per million.
    let call = &entries[2];
    assert_eq!(call["step"], "draft");
    let summary = call["summary"].as_str().expect("a summary");
    assert!(
        summary.contains("writer-1, 100 in / 20 out tokens, $0.0014"),
        "{summary}"
    );
    assert_eq!(call["event"]["model"], "writer-1");

    let table = ok(store, &["events", &finished, "--from", "2", "--limit", "2"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(
        lines[0].contains("SEQ") && lines[0].contains("SUMMARY"),
        "{table}"
    );
    assert!(
        lines[1].trim_start().starts_with("2 ") && lines[1].contains("call_finished"),
        "{table}"
    );
    assert!(
        lines[2].contains("step_finished") && lines[2].contains(" draft "),
        "{table}"
    );
    assert_eq!(lines[3], "more: --from 4");
    let page = ok_json(store, &["events", &finished, "--from", "2", "--limit", "2"]);
    assert_eq!(page["next"], 4);

    // A finished run's log, followed: all of it, and the command ends on its own.
    let followed = ok(store, &["events", &finished, "--follow", "--json"]);
    let followed: Vec<Value> = followed
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON document per line"))
        .collect();
    assert_eq!(followed.len(), kinds.len());
    assert_eq!(followed.last().expect("events")["type"], "completed");

    // The log's end: its last entries, in order, nothing after them.
    let end = ok_json(store, &["events", &finished, "--last", "3"]);
    let end_seqs: Vec<u64> = end["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|entry| entry["seq"].as_u64().expect("a seq"))
        .collect();
    let total = kinds.len() as u64;
    assert_eq!(end_seqs, (total - 3..total).collect::<Vec<_>>());
    assert_eq!(end["next"], Value::Null);
    // Followed from its end: the last entry, and the command ends on its own.
    let followed = ok(
        store,
        &["events", &finished, "--last", "1", "--follow", "--json"],
    );
    let followed: Vec<Value> = followed
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON document per line"))
        .collect();
    assert_eq!(followed.len(), 1, "{followed:?}");
    assert_eq!(followed[0]["type"], "completed");
    let (code, line) = fails(store, &["events", &finished, "--last", "2", "--from", "1"]);
    assert_eq!(code, 2, "{line}");

    let failed = ok_json(store, &["events", &runs.failed.to_string()]);
    let last = failed["events"]
        .as_array()
        .and_then(|events| events.last())
        .expect("events");
    assert_eq!(last["type"], "failed");
    assert!(
        last["summary"]
            .as_str()
            .is_some_and(|summary| summary.contains("no topic")),
        "{last}"
    );
}

/// What the command says of bad input: one line, and an exit code a script can tell apart.
fn check_bad_input(store: &str) {
    let unknown = RunId::new().to_string();
    let (code, line) = fails(store, &["show", &unknown]);
    assert_eq!(code, 3, "{line}");
    assert!(
        line.starts_with("workflow: run `") && line.contains(&unknown),
        "{line}"
    );
    assert_eq!(line.lines().count(), 1, "{line}");
    assert_eq!(fails(store, &["history", &unknown]).0, 3);
    assert_eq!(fails(store, &["events", &unknown]).0, 3);
    assert_eq!(fails(store, &["events", &unknown, "--follow"]).0, 3);
    assert_eq!(fails(store, &["events", &unknown, "--last", "5"]).0, 3);
    assert_eq!(fails(store, &["prune", &unknown, "--keep", "1"]).0, 3);

    let (code, line) = fails(store, &["show", "not-an-id"]);
    assert_eq!(code, 2, "{line}");
    assert!(line.contains("not-an-id"), "{line}");
    let (code, line) = fails(store, &["runs", "--status", "paused"]);
    assert_eq!(code, 2, "{line}");
    assert!(
        line.contains("running, suspended, finished, failed or cancelled"),
        "{line}"
    );
}

/// Cancelling by id: a run a worker holds is asked to stop, one nobody holds stops at once, an
/// ended one is left as it is.
async fn check_cancel(store: &str, runs: &Runs, handle: Arc<dyn CheckpointStore>) {
    let runner = support::runner(Arc::clone(&handle));

    // A run a worker holds: asked to stop at its next step boundary.
    let held = runner
        .create::<support::Post>("held".into())
        .await
        .expect("created");
    let lease = Lease::new("a worker", Duration::from_secs(600));
    handle.claim(held, &lease).await.expect("claims");
    let held = held.to_string();
    assert_eq!(
        ok(store, &["cancel", &held]),
        format!("run {held} stops at its next step boundary: a worker is running it\n")
    );
    assert_eq!(ok_json(store, &["show", &held])["status"], "running");

    // A run nobody holds: cancelled now, and then ended.
    let queued = runner
        .create::<support::Post>("queued".into())
        .await
        .expect("created")
        .to_string();
    assert_eq!(ok_json(store, &["cancel", &queued])["cancel"], "cancelled");
    assert_eq!(ok_json(store, &["show", &queued])["status"], "cancelled");
    assert_eq!(
        ok(store, &["cancel", &queued]),
        format!("run {queued} had already ended (cancelled): nothing changed\n")
    );
    for ended in [runs.finished, runs.failed] {
        assert_eq!(
            ok_json(store, &["cancel", &ended.to_string()])["cancel"],
            "ended"
        );
    }
    // A suspended run nobody holds: cancelled now.
    let suspended = runs.suspended.to_string();
    assert_eq!(
        ok_json(store, &["cancel", &suspended])["cancel"],
        "cancelled"
    );
    let listed = ok_json(store, &["runs", "--status", "cancelled"]);
    assert_eq!(ids(&listed), [suspended.as_str(), queued.as_str()]);

    let unknown = RunId::new().to_string();
    assert_eq!(fails(store, &["cancel", &unknown]).0, 3);

    // Following a cancelled run's events ends.
    let follow = tokio::process::Command::new(env!("CARGO_BIN_EXE_workflow"))
        .args(["--store", store, "events", &queued, "--follow"])
        .env_remove("WORKFLOW_STORE")
        .kill_on_drop(true)
        .output();
    let follow = tokio::time::timeout(Duration::from_secs(20), follow)
        .await
        .expect("--follow ends once the run is cancelled")
        .expect("the binary runs");
    assert!(follow.status.success(), "{follow:?}");
}

#[tokio::test]
async fn cancels_runs_in_an_sqlite_file() {
    let (_dir, address, runs, handle) = support::sqlite_runs().await;
    check_cancel(&address, &runs, handle).await;
}

/// Forking: a new run from a checkpoint, with the branches saved there, for a worker.
async fn check_fork(store: &str, runs: &Runs, handle: Arc<dyn CheckpointStore>) {
    // At the pause of the finished run: a new run waiting at the same pause.
    let finished = runs.finished.to_string();
    let forked = ok_json(store, &["fork", &finished, "1"]);
    let id = forked["run"].as_str().expect("a run").to_owned();
    assert_eq!(forked["parent"]["run"], finished);
    let shown = ok_json(store, &["show", &id]);
    assert_eq!(
        (&shown["status"], &shown["step"], &shown["pause"]["asks"]),
        (
            &Value::from("suspended"),
            &Value::from("review"),
            &Value::from("a post about sqlite")
        )
    );
    assert_eq!(shown["parent"]["checkpoint"], 1);
    assert_eq!(
        shown["usage"]["total"]["calls"], 0,
        "a fork counts from zero"
    );

    // At the first checkpoint: a worker serving the workflow drives it to its pause.
    let line = ok(store, &["fork", &finished, "0"]);
    let id: RunId = line
        .split_whitespace()
        .nth(1)
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no run id in {line:?}"));
    assert!(
        line.ends_with("a worker serving `Post` drives it\n"),
        "{line}"
    );
    let runner = support::runner(Arc::clone(&handle)).lease(Duration::from_secs(2));
    let worker = Worker::new(runner.clone())
        .register(support::post())
        .poll_interval(Duration::from_millis(10))
        .spawn();
    // The worker leaves the run at its pause; a handle's `result` would wait past it.
    let mut status = None;
    for _ in 0..600 {
        status = Some(handle.run(id).await.expect("the run").status);
        if status == Some(RunStatus::Suspended) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    worker.stop().await;
    assert_eq!(
        status,
        Some(RunStatus::Suspended),
        "the worker drove the fork to its pause"
    );
    let shown = ok_json(store, &["show", &id.to_string()]);
    assert_eq!(shown["pause"]["asks"], "a post about rust");

    // The branches saved with a checkpoint go with it.
    let mapped = runner
        .create::<support::Post>("map".into())
        .await
        .expect("created");
    let lease = Lease::new("a worker", Duration::from_secs(600));
    handle.claim(mapped, &lease).await.expect("claims");
    for index in 0..3 {
        let branch = BranchRecord {
            index,
            value: format!("{index}"),
            usage: Default::default(),
        };
        handle
            .save_branch(&lease, mapped, 0, branch)
            .await
            .expect("saves");
    }
    let forked = ok_json(store, &["fork", &mapped.to_string(), "0"]);
    let id: RunId = forked["run"]
        .as_str()
        .expect("a run")
        .parse()
        .expect("an id");
    let first = handle
        .checkpoint(id, Some(0))
        .await
        .expect("its first checkpoint");
    let indexes: Vec<u32> = first.branches.iter().map(|branch| branch.index).collect();
    assert_eq!(indexes, [0, 1, 2]);
    let info = handle.run(id).await.expect("the run");
    assert_eq!((info.owner, info.parent), (None, Some((mapped, 0))));

    let unknown = RunId::new().to_string();
    assert_eq!(fails(store, &["fork", &unknown, "0"]).0, 3);
    assert_eq!(fails(store, &["fork", &finished, "99"]).0, 3);
}

#[tokio::test]
async fn forks_runs_in_an_sqlite_file() {
    let (_dir, address, runs, handle) = support::sqlite_runs().await;
    check_fork(&address, &runs, handle).await;
}

#[tokio::test]
async fn forks_runs_in_postgres() {
    let Some((store, runs, handle)) = support::postgres_runs().await else {
        return;
    };
    check_fork(&store, &runs, handle).await;
}

/// Answering a pause without the workflow's code: checked against the pause's schema,
/// recorded once, given by a worker.
async fn check_answer(store: &str, runs: &Runs, handle: Arc<dyn CheckpointStore>) {
    let suspended = runs.suspended.to_string();
    // What the pause takes, from the definition the run's creator recorded.
    let shown = ok(store, &["show", &suspended]);
    let takes = format!("takes      a value of type `bool`: workflow answer {suspended} JSON\n");
    assert!(shown.contains(&takes), "{shown}");
    let shown = ok_json(store, &["show", &suspended]);
    assert_eq!(shown["pause"]["schema"]["type"], "boolean");
    assert_eq!(shown["pause"]["checkpoint"], 1);
    let mermaid = shown["definition"]["mermaid"].as_str().expect("a diagram");
    assert!(
        mermaid.starts_with("flowchart") && mermaid.contains("review"),
        "{mermaid}"
    );
    let (code, line) = fails(store, &["answer", &suspended, "\"yes\""]);
    assert_eq!(code, 2, "{line}");
    assert!(
        line.contains("the pause before step `review` takes a value of type `bool`")
            && line.contains("expected boolean, found string"),
        "{line}"
    );
    let (code, line) = fails(store, &["answer", &suspended, "yes"]);
    assert_eq!(code, 2, "{line}");
    assert!(line.contains("the answer is not JSON"), "{line}");
    let (code, line) = fails(
        store,
        &["answer", &suspended, "--file", "/nonexistent/answer"],
    );
    assert_eq!(code, 2, "{line}");
    let (code, line) = fails(store, &["answer", &RunId::new().to_string(), "true"]);
    assert_eq!(code, 3, "{line}");
    let finished = runs.finished.to_string();
    let (code, line) = fails(store, &["answer", &finished, "true"]);
    assert_eq!(code, 4, "{line}");
    assert!(
        line.contains("is finished, not waiting at a pause"),
        "{line}"
    );

    let recorded = ok_json(store, &["answer", &suspended, "true"]);
    assert_eq!(
        (
            &recorded["answer"],
            &recorded["checkpoint"],
            &recorded["step"]
        ),
        (
            &Value::from("recorded"),
            &Value::from(1),
            &Value::from("review")
        )
    );
    let (code, line) = fails(store, &["answer", &suspended, "true"]);
    assert_eq!(code, 4, "{line}");
    assert!(
        line.contains("answered already with this same value"),
        "{line}"
    );
    // Nothing ran: the run waits for a worker of `Post`.
    assert_eq!(ok_json(store, &["show", &suspended])["status"], "suspended");

    let runner = support::runner(Arc::clone(&handle));
    let worker = Worker::new(runner.clone())
        .register(support::post())
        .poll_interval(Duration::from_millis(10))
        .spawn();
    let published = runner
        .handle::<support::Post>(runs.suspended)
        .result()
        .await;
    assert_eq!(published.expect("published"), "a post about rust".len());
    worker.stop().await;
    assert_eq!(ok_json(store, &["show", &suspended])["status"], "finished");
}

#[tokio::test]
async fn answers_pauses_in_an_sqlite_file() {
    let (_dir, address, runs, handle) = support::sqlite_runs().await;
    check_answer(&address, &runs, handle).await;
}

#[tokio::test]
async fn answers_pauses_in_postgres() {
    let Some((store, runs, handle)) = support::postgres_runs().await else {
        return;
    };
    check_answer(&store, &runs, handle).await;
}

/// Pays with a tool that needs a human's approval.
struct Pay {
    agent: workflow::Agent,
}

#[workflow::workflow]
impl Pay {
    async fn pay(&self, bill: String) -> workflow::Result<String> {
        self.agent.prompt(&bill).await
    }

    workflow::flow! {
        start -> pay -> end;
    }
}

/// A `Pay` whose model calls `transfer` once, then answers `paid` (only answers, in a process
/// that goes on after the call: the turn that made it is replayed); `transfers` counts the
/// tool's runs.
fn pay(transfers: &Arc<AtomicU32>, calls: bool) -> Pay {
    use workflow::provider::{ChatResponse, Scripted, ToolCall};
    let call = ChatResponse::new("").with_tool_call(ToolCall::new(
        "t1",
        "transfer",
        serde_json::json!({"cents": 700}),
    ));
    let replies = calls.then_some(call).into_iter();
    let model = Scripted::new().replies(replies.chain([ChatResponse::new("paid")]));
    let counted = Arc::clone(transfers);
    let transfer = workflow::tool::from_fn(
        "transfer",
        "Transfers money.",
        move |arguments: serde_json::Value| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move { Ok::<_, workflow::tool::ToolError>(format!("sent {arguments}")) }
        },
    );
    let agent = workflow::Agent::builder(Arc::new(model))
        .name("payer")
        .tool(transfer)
        .needs_approval("transfer")
        .build();
    Pay { agent }
}

/// A run waiting for the approval of a tool call: shown with the call, answered with an
/// approval checked against its schema, given by a worker.
async fn check_approval(store: &str, handle: Arc<dyn CheckpointStore>) {
    let transfers = Arc::new(AtomicU32::new(0));
    let payer = pay(&transfers, true);
    let runner = workflow::Runner::new(Arc::clone(&handle));
    let report = runner
        .start(&payer, "Pay the bill.".into())
        .await
        .expect("saved");
    assert!(matches!(report.outcome, workflow::Outcome::Suspended(_)));
    let run = report.id.to_string();

    let shown = ok(store, &["show", &run]);
    assert!(
        shown.contains(
            "waits in step `pay` for the approval of a call of tool `transfer` by agent `payer`"
        ),
        "{shown}"
    );
    assert!(
        shown.contains("asks       transfer {\"cents\":700}\n"),
        "{shown}"
    );
    let shown = ok_json(store, &["show", &run]);
    let pause = &shown["pause"];
    assert_eq!(pause["approval"], true, "{shown}");
    assert_eq!(pause["asks"]["tool"], "transfer");
    assert_eq!(pause["asks"]["arguments"]["cents"], 700);
    assert!(pause["schema"].is_object(), "{shown}");

    for bad in ["\"maybe\"", "{\"deny\": {}}", "{\"edit\": 3}"] {
        let (code, line) = fails(store, &["answer", &run, bad]);
        assert_eq!(code, 2, "{bad}: {line}");
        assert!(
            line.contains("waits in step `pay` for the approval of a call of tool `transfer`"),
            "{line}"
        );
    }
    let recorded = ok(
        store,
        &["answer", &run, "{\"deny\": {\"reason\": \"not today\"}}"],
    );
    assert!(
        recorded.contains(
            "answer recorded for the approval of a call of tool `transfer` in step `pay` \
             (checkpoint 0)"
        ),
        "{recorded}"
    );
    let (code, line) = fails(store, &["answer", &run, "\"allow\""]);
    assert_eq!(code, 4, "{line}");
    let (code, line) = fails(
        store,
        &["answer", &run, "{\"deny\": {\"reason\": \"not today\"}}"],
    );
    assert_eq!(code, 4, "{line}");
    assert_eq!(transfers.load(Ordering::SeqCst), 0);

    let worker = Worker::new(runner.clone())
        .register(pay(&transfers, false))
        .poll_interval(Duration::from_millis(10))
        .spawn();
    let output = runner.handle::<Pay>(report.id).result().await;
    worker.stop().await;
    // The worker's model is asked for the answer only: the turn that called is replayed.
    assert_eq!(output.expect("finished"), "paid");
    assert_eq!(transfers.load(Ordering::SeqCst), 0, "a denied call ran");
    assert_eq!(ok_json(store, &["show", &run])["status"], "finished");
}

#[tokio::test]
async fn answers_approvals_in_an_sqlite_file() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("runs.db");
    let store: Arc<dyn CheckpointStore> =
        Arc::new(workflow::SqliteStore::open(&path).expect("opens"));
    check_approval(&format!("sqlite:{}", path.display()), store).await;
}

/// Pruning: a run's old checkpoints, then old ended runs.
fn check_prune(store: &str, runs: &Runs) {
    let finished = runs.finished.to_string();
    let out = ok(store, &["prune", &finished, "--keep", "2"]);
    assert_eq!(out, format!("deleted 3 checkpoints of run {finished}\n"));
    let history = ok_json(store, &["history", &finished]);
    assert_eq!(
        history["checkpoints"]
            .as_array()
            .expect("checkpoints")
            .len(),
        2
    );

    // Nothing is a day old; then everything ended is, failed runs only when asked.
    assert_eq!(
        ok_json(store, &["prune", "--older-than", "1day"])["deleted_runs"],
        0
    );
    assert_eq!(
        ok_json(store, &["prune", "--older-than", "0s"])["deleted_runs"],
        1
    );
    // The log goes with its run.
    assert_eq!(fails(store, &["events", &finished]).0, 3);
    assert_eq!(ids(&ok_json(store, &["runs"])).len(), 2);
    assert_eq!(
        ok_json(store, &["prune", "--older-than", "0s", "--failed"])["deleted_runs"],
        1
    );
    assert_eq!(
        ids(&ok_json(store, &["runs"])),
        [runs.suspended.to_string()]
    );
}

#[tokio::test]
async fn reads_and_prunes_runs_in_an_sqlite_file() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("runs.db");
    let runs = leave_runs(Arc::new(workflow::SqliteStore::open(&path).expect("opens"))).await;
    let store = format!("sqlite:{}", path.display());
    check_reads(&store, &runs);
    check_events(&store, &runs);
    check_bad_input(&store);
    check_prune(&store, &runs);
    follows_a_live_run(&path, &store, runs.suspended).await;
}

/// `events --follow` prints a suspended run's events as it is answered and finishes, then
/// ends on its own.
async fn follows_a_live_run(path: &std::path::Path, store: &str, run: RunId) {
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_workflow"))
        .args([
            "--store",
            store,
            "events",
            &run.to_string(),
            "--follow",
            "--json",
        ])
        .env_remove("WORKFLOW_STORE")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary runs");
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let runner = support::runner(Arc::new(workflow::SqliteStore::open(path).expect("opens")));
    let post = support::post();
    let pause = runner.pending::<support::Post>(run).await.expect("reads");
    let token = pause.and_then(|pause| pause.token()).expect("a pause");
    runner
        .answer(&post, token, true)
        .await
        .expect("answers")
        .into_output()
        .expect("finished");
    let wait = tokio::time::timeout(std::time::Duration::from_secs(10), child.wait_with_output());
    let out = wait
        .await
        .expect("--follow ends once the run has")
        .expect("runs");
    assert!(out.status.success());
    let kinds: Vec<String> = String::from_utf8(out.stdout)
        .expect("UTF-8")
        .lines()
        .map(|line| {
            let entry: Value = serde_json::from_str(line).expect("JSON");
            entry["type"].as_str().expect("a type").to_owned()
        })
        .collect();
    assert_eq!(
        kinds[..5],
        [
            "run_started",
            "step_started",
            "call_finished",
            "step_finished",
            "suspended"
        ]
    );
    assert_eq!(kinds[5], "resumed");
    assert_eq!(kinds.last().map(String::as_str), Some("completed"));
}

#[tokio::test]
async fn reads_and_prunes_runs_in_postgres() {
    let Some((store, runs, _)) = support::postgres_runs().await else {
        return;
    };
    check_reads(&store, &runs);
    check_events(&store, &runs);
    check_bad_input(&store);
    check_prune(&store, &runs);
}

#[tokio::test]
async fn cancels_runs_in_postgres() {
    let Some((store, runs, handle)) = support::postgres_runs().await else {
        return;
    };
    check_cancel(&store, &runs, handle).await;
}

#[test]
fn says_what_is_wrong_with_the_store_address() {
    let (code, line) = fails("mysql://localhost/runs", &["runs"]);
    assert_eq!(code, 2);
    assert_eq!(
        line,
        "workflow: `mysql://localhost/runs` is not a store address: use sqlite:PATH or postgres://user@host/database\n"
    );

    // A typo in a path must not create an empty store.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let missing = dir.path().join("typo.db");
    let (code, line) = fails(&format!("sqlite:{}", missing.display()), &["runs"]);
    assert_eq!(code, 2);
    assert!(line.starts_with("workflow: no SQLite file at "), "{line}");
    assert!(!missing.exists());

    // A file that is not a store.
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a database").expect("writes");
    let (code, line) = fails(&format!("sqlite:{}", text.display()), &["runs"]);
    assert_eq!(code, 1);
    assert_eq!(line.lines().count(), 1, "{line}");

    // A server that does not answer.
    let (code, line) = fails("postgres://postgres@127.0.0.1:9/none", &["runs"]);
    assert_eq!(code, 1);
    assert!(line.contains("`postgres` failed"), "{line}");
    assert_eq!(line.lines().count(), 1, "{line}");

    let out = Command::new(env!("CARGO_BIN_EXE_workflow"))
        .arg("runs")
        .env_remove("WORKFLOW_STORE")
        .output()
        .expect("the binary runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no store given"));
}

/// A reminder that sleeps an hour before it is sent.
struct Remind;

#[workflow::workflow]
impl Remind {
    async fn write(&self, who: String) -> String {
        format!("call {who}")
    }

    async fn send(&self, text: String) -> String {
        text
    }

    workflow::flow! {
        start -> write -> sleep "1h" -> send -> end;
    }
}

/// A message for `Inbox`.
#[derive(serde::Serialize, serde::Deserialize, workflow::prelude::JsonSchema)]
#[schemars(crate = "workflow::schemars")]
struct Note {
    text: String,
}

/// Ends with the first note it receives.
struct Inbox;

#[workflow::workflow]
impl Inbox {
    async fn open(&self, text: String) -> String {
        text
    }

    async fn take(&self, text: String, note: Note) -> String {
        format!("{text}: {}", note.text)
    }

    workflow::flow! {
        start -> open -> receive take -> end;
    }
}

#[tokio::test]
async fn shows_what_a_run_waits_for() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("runs.db");
    let handle: Arc<dyn CheckpointStore> =
        Arc::new(workflow::SqliteStore::open(&path).expect("opens"));
    let store = format!("sqlite:{}", path.display());
    let runner = workflow::Runner::new(Arc::clone(&handle));
    let asleep = runner
        .start(&Remind, "mum".into())
        .await
        .expect("starts")
        .id;
    let waiting = runner
        .start(&Inbox, "inbox".into())
        .await
        .expect("starts")
        .id;

    let shown = ok_json(&store, &["show", &asleep.to_string()]);
    assert_eq!(shown["status"], "running");
    let until = shown["awaits"]["until"].as_str().expect("a wake-up time");
    // The table gives the time to the second: `…T10:00:00.123Z` is `…T10:00:00Z`.
    let (seconds, _) = until.split_once('.').expect("milliseconds");
    let text = ok(&store, &["show", &asleep.to_string()]);
    assert!(
        text.contains(&format!("running (asleep until {seconds}Z)")),
        "{text}"
    );
    let shown = ok_json(&store, &["show", &waiting.to_string()]);
    assert_eq!(shown["awaits"], serde_json::json!({ "signal": "Note" }));
    assert!(
        ok(&store, &["show", &waiting.to_string()]).contains("running (awaits a `Note` message)")
    );

    let table = ok(&store, &["runs"]);
    assert!(table.contains("running (asleep)"), "{table}");
    assert!(table.contains("running (awaits Note)"), "{table}");
    // Once the message is there and the run goes on, it waits for nothing.
    runner
        .send::<Inbox, Note>(waiting, Note { text: "hi".into() })
        .await
        .expect("sends");
    let report = runner.resume(&Inbox, waiting).await.expect("resumes");
    assert_eq!(report.into_output().expect("finishes"), "inbox: hi");
    assert_eq!(
        ok_json(&store, &["show", &waiting.to_string()])["awaits"],
        Value::Null
    );
}

/// A step retried once: the log has its failed attempt, the step's summary says how many
/// retries it took (as the console's timeline counts them), and the run list what it spent,
/// the failed call included.
#[tokio::test]
async fn shows_a_step_s_retries_and_what_it_spent() {
    let (_dir, address, _runs, handle) = support::sqlite_runs().await;
    let run = support::leave_retried_run(handle).await.to_string();

    let log = ok_json(&address, &["events", &run]);
    let entries = log["events"].as_array().expect("events");
    let retrying: Vec<&Value> = entries
        .iter()
        .filter(|entry| entry["type"] == "retrying")
        .collect();
    assert_eq!(retrying.len(), 1, "{log}");
    assert_eq!(retrying[0]["step"], "draft");
    let summary = retrying[0]["summary"].as_str().expect("a summary");
    assert!(
        summary.starts_with("attempt 1, next in ") && summary.contains("overloaded"),
        "{summary}"
    );
    let finished = entries
        .iter()
        .find(|entry| entry["type"] == "step_finished")
        .expect("the step finished");
    let summary = finished["summary"].as_str().expect("a summary");
    assert!(summary.starts_with("1 retry, "), "{summary}");
    assert!(summary.contains("2 calls"), "{summary}");
    let table = ok(&address, &["events", &run]);
    assert!(table.contains("1 retry, "), "{table}");

    let listed = ok_json(&address, &["runs", "--workflow", "Retried"]);
    let spent = &listed["runs"][0]["spent"];
    assert_eq!(
        (&spent["calls"], &spent["failed_calls"]),
        (&2.into(), &1.into())
    );
    let table = ok(&address, &["runs", "--workflow", "Retried"]);
    assert!(table.contains(" $0.0014 "), "{table}");
}

/// Sending a run a message without the workflow's code: checked against the signals the
/// definition records and their schemas, queued, given by a worker; refused once the run has
/// ended.
async fn check_send(store: &str, runs: &Runs, handle: Arc<dyn CheckpointStore>) {
    let runner = workflow::Runner::new(Arc::clone(&handle));
    let started = runner.start(&Inbox, "inbox".into()).await.expect("starts");
    let waiting = started.id.to_string();
    let send = |args: &[&'static str]| [&["send", waiting.as_str()], args].concat();
    // What the run waits for, and how to send it, from the recorded definition.
    let shown = ok(store, &["show", &waiting]);
    assert!(
        shown.contains("takes      a message of type `")
            && shown.contains(&format!("Note`: workflow send {waiting} Note JSON\n")),
        "{shown}"
    );
    let shown = ok_json(store, &["show", &waiting]);
    assert_eq!(shown["signal"]["name"], "Note");
    assert_eq!(
        shown["signal"]["schema"]["properties"]["text"]["type"],
        "string"
    );

    let (code, line) = fails(store, &send(&["Note", "hi"]));
    assert_eq!(code, 2, "{line}");
    assert!(line.contains("the message is not JSON"), "{line}");
    let (code, line) = fails(store, &send(&["Note", r#"{"text": 1}"#]));
    assert_eq!(code, 2, "{line}");
    assert!(
        line.contains("signal `Note` takes a message of type `")
            && line.contains("expected string, found number"),
        "{line}"
    );
    let (code, line) = fails(store, &send(&["Note", "--file", "/nonexistent/note"]));
    assert_eq!(code, 2, "{line}");
    assert!(line.contains("cannot read the message"), "{line}");
    let (code, line) = fails(store, &send(&["Reminder", "{}"]));
    assert_eq!(code, 4, "{line}");
    assert!(
        line.contains(
            "workflow `Inbox` receives no signal `Reminder`; the signals it receives: `Note`"
        ),
        "{line}"
    );
    let unknown = RunId::new().to_string();
    let (code, line) = fails(store, &["send", &unknown, "Note", r#"{"text": "hi"}"#]);
    assert_eq!(code, 3, "{line}");
    // A workflow that receives no signal at all.
    let post = runs.suspended.to_string();
    let (code, line) = fails(store, &["send", &post, "Note", r#"{"text": "hi"}"#]);
    assert_eq!(code, 4, "{line}");
    assert!(line.contains("the signals it receives: none"), "{line}");
    // Nothing was queued: the run still waits.
    assert_eq!(
        handle.next_signal(started.id, "Note").await.expect("reads"),
        None
    );

    let sent = ok_json(store, &send(&["Note", r#"{"text": "hi"}"#]));
    assert_eq!(
        (&sent["queued"], &sent["signal"], &sent["workflow"]),
        (
            &Value::from(true),
            &Value::from("Note"),
            &Value::from("Inbox")
        )
    );
    let number = sent["message"].as_u64().expect("its number");
    let queued = handle.next_signal(started.id, "Note").await.expect("reads");
    assert_eq!(queued, Some((number, r#"{"text":"hi"}"#.to_owned())));
    // A second one, from standard input, waits behind it.
    let text = ok_with_input(
        store,
        &send(&["Note", "--file", "-"]),
        r#"{"text": "later"}"#,
    );
    assert!(
        text.contains(" queued under signal `Note`; a worker serving `Inbox` gives it"),
        "{text}"
    );

    let worker = Worker::new(runner.clone())
        .register(Inbox)
        .poll_interval(Duration::from_millis(10))
        .spawn();
    let output = runner.handle::<Inbox>(started.id).result().await;
    assert_eq!(output.expect("finishes"), "inbox: hi");
    worker.stop().await;
    let (code, line) = fails(store, &send(&["Note", r#"{"text": "late"}"#]));
    assert_eq!(code, 4, "{line}");
    assert!(line.contains("is finished: it has ended"), "{line}");
}

#[tokio::test]
async fn sends_messages_in_an_sqlite_file() {
    let (_dir, address, runs, handle) = support::sqlite_runs().await;
    check_send(&address, &runs, handle).await;
}

#[tokio::test]
async fn sends_messages_in_postgres() {
    let Some((store, runs, handle)) = support::postgres_runs().await else {
        return;
    };
    check_send(&store, &runs, handle).await;
}

#[tokio::test]
async fn answers_approvals_in_postgres() {
    let Ok(url) = std::env::var("WORKFLOW_POSTGRES_URL") else {
        eprintln!("note: WORKFLOW_POSTGRES_URL is not set; Postgres test skipped (see the README)");
        return;
    };
    let schema = format!("approvals_{}", RunId::new().as_uuid().simple());
    let options = workflow::store::PostgresOptions::new().schema(&schema);
    let store = workflow::PostgresStore::connect_with(&url, options)
        .await
        .expect("connects");
    let separator = if url.contains('?') { '&' } else { '?' };
    let address = format!("{url}{separator}options=-csearch_path%3D{schema}");
    check_approval(&address, Arc::new(store)).await;
}
