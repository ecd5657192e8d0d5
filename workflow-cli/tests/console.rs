//! The web console (`workflow serve`): its HTTP API over a real SQLite file and, when
//! `WORKFLOW_POSTGRES_URL` is set, a real PostgreSQL database; its token; live updates while a
//! run moves; and its pages in a real headless Chromium (DOM checks, no JavaScript error,
//! screenshots under `target/console-screenshots/`).

mod support;

#[path = "support/browser.rs"]
mod browser;

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use workflow::store::{CheckpointStore, RunId};
use workflow::Outcome;

use support::{leave_runs, Runs};

/// A console serving a store, on a free port of loopback.
struct Console {
    _process: Child,
    base: String,
}

async fn serve(store: &str, extra: &[&str]) -> Console {
    let mut process = Command::new(env!("CARGO_BIN_EXE_workflow"))
        .args(["--store", store, "serve", "--addr", "127.0.0.1:0"])
        .args(extra)
        .env_remove("WORKFLOW_STORE")
        .env_remove("WORKFLOW_CONSOLE_TOKEN")
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary runs");
    let mut lines = BufReader::new(process.stderr.take().expect("stderr")).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("the console starts")
        .expect("reads stderr")
        .expect("a line");
    let base = line
        .strip_prefix("workflow: the console is on ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .trim_end_matches('/')
        .to_owned();
    Console {
        _process: process,
        base,
    }
}

/// POSTs `body` to `url` as the console's pages do when they change a run (with their header
/// if `header`), and reads the JSON answer.
async fn change(
    client: &reqwest::Client,
    url: String,
    body: String,
    header: bool,
) -> (StatusCode, Value) {
    let mut request = client.post(url).body(body);
    if header {
        request = request.header("x-workflow-console", "1");
    }
    let response = request.send().await.expect("answers");
    let status = response.status();
    (status, response.json::<Value>().await.expect("JSON"))
}

async fn get(url: &str) -> (StatusCode, Value) {
    let response = reqwest::get(url).await.expect("the console answers");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn ids(list: &Value) -> Vec<String> {
    list["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|run| run["id"].as_str().expect("an id").to_owned())
        .collect()
}

/// The JSON API over the runs `leave_runs` left.
async fn check_api(console: &Console, runs: &Runs) {
    let base = &console.base;
    let (status, list) = get(&format!("{base}/api/runs")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        ids(&list),
        [runs.suspended, runs.finished, runs.failed].map(|id| id.to_string())
    );
    let (_, failed) = get(&format!("{base}/api/runs?status=failed&limit=5")).await;
    assert_eq!(ids(&failed), [runs.failed.to_string()]);

    let (status, run) = get(&format!("{base}/api/runs/{}", runs.suspended)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(run["status"], "suspended");
    assert_eq!(run["pause"]["asks"], "a post about rust");
    assert_eq!(run["pause"]["token"], format!("{}/1", runs.suspended));
    assert_eq!(run["usage"]["total"]["usage"]["input_tokens"], 120);

    let (status, history) = get(&format!("{base}/api/runs/{}/history", runs.finished)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        history["checkpoints"]
            .as_array()
            .expect("checkpoints")
            .len(),
        5
    );

    // The event log, a page at a time.
    let (status, log) = get(&format!("{base}/api/runs/{}/events", runs.finished)).await;
    assert_eq!(status, StatusCode::OK);
    let kinds: Vec<&str> = log["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|entry| entry["type"].as_str().expect("a type"))
        .collect();
    assert_eq!(kinds.len(), 11, "{log}");
    assert_eq!(kinds.first(), Some(&"run_started"));
    assert_eq!(kinds.last(), Some(&"completed"));
    assert_eq!(log["next"], Value::Null);
    let (_, page) = get(&format!(
        "{base}/api/runs/{}/events?from=9&limit=1",
        runs.finished
    ))
    .await;
    assert_eq!(page["events"][0]["seq"], 9);
    assert_eq!(page["events"][0]["type"], "step_finished");
    assert_eq!(page["next"], 10);
    // The log's end, which the run page reads first.
    let (_, end) = get(&format!("{base}/api/runs/{}/events?last=2", runs.finished)).await;
    let end_seqs: Vec<&Value> = end["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|entry| &entry["seq"])
        .collect();
    assert_eq!(end_seqs, [&Value::from(9), &Value::from(10)], "{end}");
    assert_eq!(end["next"], Value::Null);
    let (status, _) = get(&format!("{base}/api/runs/{}/events", RunId::new())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Bad input: a JSON error with the status that says which.
    let unknown = RunId::new();
    let (status, body) = get(&format!("{base}/api/runs/{unknown}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"]
        .as_str()
        .expect("an error")
        .contains(&unknown.to_string()));
    let (status, body) = get(&format!("{base}/api/runs/not-an-id/history")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "`not-an-id` is not a run id");
    let (status, body) = get(&format!("{base}/api/runs?status=paused")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().expect("an error").contains("paused"));

    // The pages and what they load come from the binary.
    for (path, kind) in [
        ("/", "text/html"),
        (&format!("/runs/{}", runs.finished), "text/html"),
        ("/assets/console.js", "text/javascript"),
        ("/assets/console.css", "text/css"),
    ] {
        let response = reqwest::get(format!("{base}{path}"))
            .await
            .expect("answers");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let content_type = response.headers()["content-type"].to_str().expect("text");
        assert!(content_type.starts_with(kind), "{path}: {content_type}");
    }
    let response = reqwest::get(format!("{base}/assets/nothing.js"))
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

/// A run whose step was retried once, in the API: the run list says what it spent (the
/// failed call included), its event log the retry and how many its step took.
async fn check_retries(console: &Console, store: Arc<dyn CheckpointStore>) {
    let base = &console.base;
    let run = support::leave_retried_run(store).await;
    let (status, list) = get(&format!("{base}/api/runs?workflow=Retried")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&list), [run.to_string()]);
    let spent = &list["runs"][0]["spent"];
    assert_eq!(
        (&spent["calls"], &spent["failed_calls"]),
        (&2.into(), &1.into())
    );
    // 100 tokens in at $10 and 20 out at $20 per million; the failed call cost nothing.
    let cost = spent["cost_usd"].as_f64().expect("a cost");
    assert!((cost - 0.0014).abs() < 1e-12, "{spent}");

    let (status, log) = get(&format!("{base}/api/runs/{run}/events")).await;
    assert_eq!(status, StatusCode::OK);
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
            "retrying",
            "step_started",
            "call_finished",
            "step_finished",
            "completed"
        ]
    );
    assert_eq!(entries[3]["event"]["step"], "draft");
    assert_eq!(entries[3]["event"]["attempt"], 1);
    assert_eq!(entries[6]["event"]["attempts"], 2);
    let summary = entries[6]["summary"].as_str().expect("a summary");
    assert!(summary.starts_with("1 retry, "), "{summary}");
}

#[tokio::test]
async fn the_api_reads_an_sqlite_file() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("runs.db");
    let store: Arc<dyn CheckpointStore> =
        Arc::new(workflow::SqliteStore::open(&path).expect("opens"));
    let runs = leave_runs(Arc::clone(&store)).await;
    let console = serve(&format!("sqlite:{}", path.display()), &[]).await;
    check_api(&console, &runs).await;
    check_retries(&console, store).await;
}

#[tokio::test]
async fn the_api_reads_postgres() {
    let Some((address, runs, store)) = support::postgres_runs().await else {
        return;
    };
    let console = serve(&address, &[]).await;
    check_api(&console, &runs).await;
    check_retries(&console, store).await;
}

#[tokio::test]
async fn a_token_guards_every_request() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("runs.db");
    leave_runs(Arc::new(workflow::SqliteStore::open(&path).expect("opens"))).await;
    let store = format!("sqlite:{}", path.display());
    let console = serve(&store, &["--token", "s3cret"]).await;
    let base = &console.base;
    let client = reqwest::Client::new();

    // The status of GET `path` with `auth` (a header) if any.
    let status = |path: &str, auth: Option<(&str, &str)>| {
        let mut request = client.get(format!("{base}{path}"));
        if let Some((name, value)) = auth {
            request = request.header(name, value);
        }
        async move { request.send().await.expect("answers").status() }
    };
    for path in ["/", "/api/runs", "/assets/console.js"] {
        assert_eq!(status(path, None).await, StatusCode::UNAUTHORIZED, "{path}");
    }
    let wrong = Some(("authorization", "Bearer s3cre"));
    assert_eq!(status("/api/runs", wrong).await, StatusCode::UNAUTHORIZED);
    let right = Some(("authorization", "Bearer s3cret"));
    assert_eq!(status("/api/runs", right).await, StatusCode::OK);

    // A browser opens /?token=… once; the cookie carries it from then on.
    let opened = client
        .get(format!("{base}/?token=s3cret"))
        .send()
        .await
        .expect("answers");
    assert_eq!(opened.status(), StatusCode::OK);
    let cookie = opened.headers()["set-cookie"]
        .to_str()
        .expect("text")
        .to_owned();
    assert!(cookie.starts_with("workflow_token=s3cret;") && cookie.contains("HttpOnly"));
    let cookie_header = Some(("cookie", "workflow_token=s3cret"));
    assert_eq!(status("/api/runs", cookie_header).await, StatusCode::OK);

    // Another address than loopback needs a token.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_workflow"))
        .args(["--store", &store, "serve", "--addr", "0.0.0.0:0"])
        .env_remove("WORKFLOW_CONSOLE_TOKEN")
        .output()
        .expect("the binary runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pass --token"));
}

/// Answers the pause of run `run` (left by `leave_runs`) in another task, as a person would
/// from another process, once `after` has passed.
fn answer_later(store: Arc<dyn CheckpointStore>, run: RunId, after: Duration) {
    tokio::spawn(async move {
        tokio::time::sleep(after).await;
        let token = format!("{run}/1").parse().expect("a token");
        let report = support::runner(store)
            .answer(&support::post(), token, true)
            .await
            .expect("answered");
        assert!(matches!(report.outcome, Outcome::Finished(_)));
    });
}

#[tokio::test]
async fn live_updates_follow_a_run_until_it_ends() {
    let (_dir, address, runs, store) = support::sqlite_runs().await;
    let console = serve(&address, &[]).await;

    let response = reqwest::get(format!("{}/api/runs/{}/live", console.base, runs.suspended))
        .await
        .expect("answers");
    assert!(response.headers()["content-type"]
        .to_str()
        .expect("text")
        .starts_with("text/event-stream"));
    answer_later(store, runs.suspended, Duration::from_millis(300));
    let mut body = response.bytes_stream();
    let mut text = String::new();
    // The stream ends by itself once the run has finished.
    tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(chunk) = body.next().await {
            text.push_str(&String::from_utf8_lossy(&chunk.expect("a chunk")));
        }
    })
    .await
    .expect("the stream ends once the run has finished");
    let statuses: Vec<String> = text
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .map(|data| {
            let run: Value = serde_json::from_str(data).expect("a run as JSON");
            run["status"].as_str().expect("a status").to_owned()
        })
        .collect();
    assert_eq!(
        statuses.first().map(String::as_str),
        Some("suspended"),
        "{text}"
    );
    assert_eq!(
        statuses.last().map(String::as_str),
        Some("finished"),
        "{text}"
    );
}

#[tokio::test]
async fn the_pages_render_in_a_real_browser() {
    let Some(chromium) = browser::chromium() else {
        return;
    };
    let (_dir, address, runs, store) = support::sqlite_runs().await;
    let console = serve(&address, &[]).await;
    let mut browser = browser::Browser::start(&chromium).await;

    // The run list.
    browser
        .open(
            &format!("{}/", console.base),
            "document.querySelectorAll('#runs tbody tr').length === 3",
        )
        .await;
    let statuses = browser
        .eval("[...document.querySelectorAll('#runs tbody tr td:nth-child(3)')].map(td => td.textContent)")
        .await;
    assert_eq!(
        statuses,
        serde_json::json!(["suspended", "finished", "failed"])
    );
    // What each run spent: the suspended run made one priced call, the failed one none.
    let costs = browser
        .eval("[...document.querySelectorAll('#runs tbody tr td:nth-child(6)')].map(td => td.textContent)")
        .await;
    let costs: Vec<&str> = costs
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(costs[0].starts_with('$'), "{costs:?}");
    assert_eq!(costs[2], "–", "{costs:?}");
    browser.screenshot("runs.png").await;
    browser
        .open(
            &format!("{}/?status=failed", console.base),
            "document.querySelectorAll('#runs tbody tr').length === 1",
        )
        .await;

    // A finished run: every step done, its timeline and what it spent.
    browser
        .open(
            &format!("{}/runs/{}", console.base, runs.finished),
            "document.querySelectorAll('#timeline tbody tr').length === 5",
        )
        .await;
    let path = browser
        .eval("[...document.querySelectorAll('#path li')].map(li => li.textContent + ':' + li.dataset.state)")
        .await;
    assert_eq!(
        path,
        serde_json::json!(["draft:done", "review:done", "publish:done", "end:done"])
    );
    let spent = browser
        .eval("[...document.querySelectorAll('#spent tbody td')].map(td => td.textContent)")
        .await;
    assert_eq!(
        spent,
        serde_json::json!(["draft", "1", "0", "100 / 20", "$0.0014"])
    );
    assert_eq!(
        browser
            .eval("document.getElementById('pause').hidden")
            .await,
        true
    );
    assert_eq!(
        browser
            .eval("document.getElementById('earlier').hidden")
            .await,
        true
    );
    // Its events, newest last, each with a summary.
    let events = browser
        .eval("[...document.querySelectorAll('#events tbody tr td:nth-child(3)')].map(td => td.textContent)")
        .await;
    let events = events.as_array().expect("a list");
    assert_eq!(events.len(), 11, "{events:?}");
    assert_eq!(events[0], "run_started");
    assert_eq!(events[10], "completed");
    let call = browser
        .eval("document.querySelector('#events tbody tr:nth-child(3) td:nth-child(5)').textContent")
        .await;
    assert!(
        call.as_str()
            .expect("text")
            .contains("100 in / 20 out tokens"),
        "{call}"
    );
    browser.screenshot("finished-run.png").await;

    // A failed run names its error.
    browser
        .open(
            &format!("{}/runs/{}", console.base, runs.failed),
            "document.getElementById('status').textContent === 'failed'",
        )
        .await;
    let facts = browser
        .eval("document.getElementById('facts').textContent")
        .await;
    assert!(
        facts.as_str().expect("text").contains("no topic"),
        "{facts}"
    );
    assert_eq!(
        browser
            .eval("document.querySelector('#path li:last-child').dataset.state")
            .await,
        "failed"
    );

    // A run whose step was retried once: its timeline row says so, from the event log,
    // next to what the step took and spent.
    let retried = support::leave_retried_run(Arc::clone(&store)).await;
    browser
        .open(
            &format!("{}/runs/{retried}", console.base),
            "document.querySelector('#timeline tbody tr td:nth-child(6)')?.textContent === '1'",
        )
        .await;
    let timeline = browser
        .eval(
            "[...document.querySelectorAll('#timeline tbody tr')].map(tr => \
             [...tr.querySelectorAll('td')].slice(0, 9).map(td => td.textContent))",
        )
        .await;
    let rows = timeline.as_array().expect("rows");
    assert_eq!(rows.len(), 2, "{timeline}");
    let draft: Vec<&str> = rows[0]
        .as_array()
        .expect("cells")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        (draft[0], draft[1], draft[5], draft[6], draft[7], draft[8]),
        ("0", "draft", "1", "2", "100 / 20", "$0.0014"),
        "{timeline}"
    );
    assert!(draft[4].ends_with(" s"), "took: {timeline}");
    assert_eq!(rows[1][1], "end");
    assert_eq!(rows[1][5], "", "the end takes no retries: {timeline}");
    browser.screenshot("retried-run.png").await;

    // A long run shows its latest checkpoints, and says how many it leaves out.
    let long = long_run(store.as_ref(), 250).await;
    browser
        .open(
            &format!("{}/runs/{long}", console.base),
            "document.querySelectorAll('#timeline tbody tr').length === 200",
        )
        .await;
    let first = browser
        .eval("document.querySelector('#timeline tbody td').textContent")
        .await;
    assert_eq!(first, "50");
    let earlier = browser
        .eval("document.getElementById('earlier').textContent")
        .await;
    assert!(
        earlier
            .as_str()
            .expect("text")
            .starts_with("50 earlier checkpoints"),
        "{earlier}"
    );

    // A suspended run shows its pause; answered elsewhere, the page follows it live.
    browser
        .open(
            &format!("{}/runs/{}", console.base, runs.suspended),
            "document.getElementById('live').hidden === false",
        )
        .await;
    assert_eq!(
        browser
            .eval("document.getElementById('pause').hidden")
            .await,
        false
    );
    assert_eq!(
        browser
            .eval("document.getElementById('pause-asks').textContent")
            .await,
        "\"a post about rust\""
    );
    assert_eq!(
        browser
            .eval("document.querySelector('#path li:last-child').dataset.state")
            .await,
        "waiting"
    );
    // The graph, drawn from the definition the store recorded, marks the step it waits at.
    browser
        .wait_for("document.querySelector('#graph svg') !== null")
        .await;
    assert_eq!(
        browser
            .eval("document.querySelectorAll('#graph svg .current').length")
            .await,
        1
    );
    assert!(
        browser
            .eval("document.querySelectorAll('#graph svg .done').length")
            .await
            .as_u64()
            .is_some_and(|done| done >= 1),
        "the step it finished is marked"
    );
    browser.screenshot("suspended-run.png").await;

    // The form answers the pause: a value of the wrong type is refused with the reason, then
    // the right one is recorded, and a worker gives it to the run, which finishes.
    let answer = |value: &str| {
        format!(
            "document.getElementById('answer-value').value = {value:?}; \
             document.getElementById('answer-form').requestSubmit(); true"
        )
    };
    browser.eval(&answer("\"yes\"")).await;
    browser
        .wait_for("!document.getElementById('answer-error').hidden")
        .await;
    let refused = browser
        .eval("document.getElementById('answer-error').textContent")
        .await;
    assert!(
        refused.as_str().is_some_and(|text| !text.is_empty()),
        "{refused}"
    );
    browser.screenshot("answer-refused.png").await;
    browser.eval(&answer("true")).await;
    browser
        .wait_for("!document.getElementById('answer-done').hidden")
        .await;
    let worker = workflow::Worker::new(support::runner(Arc::clone(&store)))
        .register(support::post())
        .poll_interval(Duration::from_millis(20))
        .spawn();
    browser
        .wait_for("document.getElementById('status').textContent === 'finished'")
        .await;
    worker.stop().await;
    assert_eq!(
        browser
            .eval("document.getElementById('pause').hidden")
            .await,
        true
    );
    // The events the run emitted while the page was open, up to its end.
    browser
        .wait_for("document.querySelector('#events tbody tr:last-child td:nth-child(3)').textContent === 'completed'")
        .await;
    browser.screenshot("answered-run.png").await;

    // Each checkpoint of the timeline has a fork button: pressed, it opens the new run, waiting
    // at the same pause as the original at that checkpoint.
    browser
        .eval("document.querySelectorAll('#timeline tbody tr')[1].querySelector('button').click()")
        .await;
    browser
        .wait_for(&format!(
            "document.getElementById('run-id').textContent !== '{}' && document.getElementById('status').textContent === 'suspended'",
            runs.suspended
        ))
        .await;
    browser.screenshot("forked-run.png").await;

    // A queued run has a Cancel button; pressed, the run is cancelled and the button goes.
    let queued = support::runner(Arc::clone(&store))
        .create::<support::Post>("queued".into())
        .await
        .expect("created");
    browser
        .open(
            &format!("{}/runs/{queued}", console.base),
            "document.getElementById('status').textContent === 'running'",
        )
        .await;
    assert_eq!(
        browser
            .eval("document.getElementById('cancel').hidden")
            .await,
        false
    );
    browser
        .eval("document.getElementById('cancel').click()")
        .await;
    browser
        .wait_for("document.getElementById('status').textContent === 'cancelled'")
        .await;
    assert_eq!(
        browser
            .eval("document.getElementById('cancel').hidden")
            .await,
        true
    );
    browser.screenshot("cancelled-run.png").await;

    // The browser logs the refused request (a 400) as an error: the one error expected.
    let before = browser.errors.len();
    browser
        .errors
        .retain(|error| !(error.contains("/answer?checkpoint=") && error.contains("400")));
    assert_eq!(before - browser.errors.len(), 1, "{:?}", browser.errors);
    assert!(browser.errors.is_empty(), "{:?}", browser.errors);
}

#[tokio::test]
async fn cancel_needs_its_header_and_a_console_that_may_change_runs() {
    let (_dir, address, runs, _) = support::sqlite_runs().await;
    let client = reqwest::Client::new();
    let cancel = |base: &str, run: RunId, header: bool| {
        change(
            &client,
            format!("{base}/api/runs/{run}/cancel"),
            String::new(),
            header,
        )
    };

    let read_only = serve(&address, &["--read-only"]).await;
    assert_eq!(
        get(&format!("{}/api/console", read_only.base)).await.1["read_only"],
        true
    );
    let (status, body) = cancel(&read_only.base, runs.suspended, true).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body["error"],
        "this console is read-only: it changes no run"
    );

    let console = serve(&address, &[]).await;
    assert_eq!(
        get(&format!("{}/api/console", console.base)).await.1["read_only"],
        false
    );
    // What a page of another site could send: refused.
    let (status, body) = cancel(&console.base, runs.suspended, false).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (_, run) = get(&format!("{}/api/runs/{}", console.base, runs.suspended)).await;
    assert_eq!(run["status"], "suspended");

    let (status, body) = cancel(&console.base, runs.suspended, true).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["cancel"], "cancelled");
    let (status, body) = cancel(&console.base, runs.finished, true).await;
    assert_eq!(
        (status, &body["cancel"]),
        (StatusCode::OK, &Value::from("ended"))
    );
    let (status, _) = cancel(&console.base, RunId::new(), true).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn fork_needs_its_header_a_checkpoint_and_a_console_that_may_change_runs() {
    let (_dir, address, runs, store) = support::sqlite_runs().await;
    let client = reqwest::Client::new();
    let fork = |base: &str, run: RunId, query: &str, header: bool| {
        change(
            &client,
            format!("{base}/api/runs/{run}/fork{query}"),
            String::new(),
            header,
        )
    };
    let count = || async {
        store
            .list(Default::default())
            .await
            .expect("lists")
            .runs
            .len()
    };
    let before = count().await;

    let read_only = serve(&address, &["--read-only"]).await;
    let (status, _) = fork(&read_only.base, runs.finished, "?checkpoint=1", true).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let console = serve(&address, &[]).await;
    let (status, _) = fork(&console.base, runs.finished, "?checkpoint=1", false).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = fork(&console.base, runs.finished, "", true).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error"]
        .as_str()
        .is_some_and(|error| error.contains("checkpoint")));
    let (status, _) = fork(&console.base, runs.finished, "?checkpoint=99", true).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(count().await, before, "no refused request made a run");

    let (status, body) = fork(&console.base, runs.finished, "?checkpoint=1", true).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = body["run"].as_str().expect("the new run");
    let (_, run) = get(&format!("{}/api/runs/{id}", console.base)).await;
    assert_eq!(
        (&run["status"], &run["parent"]["run"]),
        (
            &Value::from("suspended"),
            &Value::from(runs.finished.to_string())
        )
    );
    assert_eq!(count().await, before + 1);
}

/// A run of `Post` that went around `checkpoints` times (as a long loop does) and now runs
/// its last step.
async fn long_run(store: &dyn CheckpointStore, checkpoints: u64) -> RunId {
    use workflow::store::{Checkpoint, Lease, NewRun, RunStatus, FORMAT_VERSION};

    let run = RunId::new();
    let checkpoint = |seq: u64| Checkpoint {
        run,
        seq,
        workflow: "Post".into(),
        fingerprint: 1,
        format: FORMAT_VERSION,
        step: if seq.is_multiple_of(2) {
            "draft"
        } else {
            "review"
        }
        .into(),
        status: RunStatus::Running,
        state: format!(r#"{{"draft":"round {seq}"}}"#),
        loops: "{}".into(),
        usage: Default::default(),
        created_at: std::time::SystemTime::now(),
        branches: Vec::new(),
        child: None,
    };
    let lease = Lease::new("test", std::time::Duration::from_secs(600));
    let first = NewRun {
        first: checkpoint(0),
        parent: None,
        lease: Some(lease.clone()),
    };
    store.create(first).await.expect("creates");
    for seq in 1..checkpoints {
        store.save(&lease, checkpoint(seq)).await.expect("saves");
    }
    run
}

/// The answer API: checked against what the pause takes, refused when the run does not wait
/// there, in read-only mode or without the header; given by a worker.
async fn check_answer_api(address: &str, runs: &Runs, store: Arc<dyn CheckpointStore>) {
    let client = reqwest::Client::new();
    let answer = |base: &str, run: RunId, body: &str, header: bool| {
        let url = format!("{base}/api/runs/{run}/answer?checkpoint=1");
        change(&client, url, body.to_owned(), header)
    };
    let read_only = serve(address, &["--read-only"]).await;
    let (status, _) = answer(&read_only.base, runs.suspended, "true", true).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let console = serve(address, &[]).await;
    let (status, _) = answer(&console.base, runs.suspended, "true", false).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = answer(&console.base, runs.suspended, "\"yes\"", true).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"]
            .as_str()
            .expect("why")
            .contains("takes a value of type `bool`"),
        "{body}"
    );
    let (status, _) = answer(&console.base, runs.suspended, "not json", true).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = answer(&console.base, runs.finished, "true", true).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, _) = answer(&console.base, RunId::new(), "true", true).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = answer(&console.base, runs.suspended, "true", true).await;
    assert_eq!(
        (status, &body["answer"]),
        (StatusCode::OK, &Value::from("recorded"))
    );
    let (status, _) = answer(&console.base, runs.suspended, "true", true).await;
    assert_eq!(status, StatusCode::CONFLICT, "a second answer is refused");

    let runner = support::runner(store);
    let worker = workflow::Worker::new(runner.clone())
        .register(support::post())
        .poll_interval(Duration::from_millis(10))
        .spawn();
    let published = runner
        .handle::<support::Post>(runs.suspended)
        .result()
        .await;
    assert_eq!(published.expect("published"), "a post about rust".len());
    worker.stop().await;
}

#[tokio::test]
async fn the_answer_api_on_an_sqlite_file() {
    let (_dir, address, runs, store) = support::sqlite_runs().await;
    check_answer_api(&address, &runs, store).await;
}

#[tokio::test]
async fn the_answer_api_on_postgres() {
    let Some((address, runs, store)) = support::postgres_runs().await else {
        return;
    };
    check_answer_api(&address, &runs, store).await;
}
