//! The event log: what a store keeps of a run's events, and what a durable run writes there.

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use workflow_runtime::provider::Scripted;
use workflow_runtime::store::{
    Checkpoint, CheckpointStore, Lease, LoggedEvent, NewEvent, Retention, RunId, RunStatus,
};
use workflow_runtime::{Agent, Context, Error, Runner, StepPolicy, Workflow};

use crate::leases::crash_when;
use crate::stores::Fixture;
use crate::workflows::{Approval, Chain, Decision, Flake};

/// An event at `millis` after the epoch, whose JSON is `{"type":"<name>"}`.
fn event(millis: u64, name: &str) -> NewEvent {
    let at = UNIX_EPOCH + Duration::from_millis(millis);
    NewEvent::new(at, format!(r#"{{"type":"{name}"}}"#))
}

/// The numbers and JSON of `page`.
fn entries(page: &[LoggedEvent]) -> Vec<(u64, &str)> {
    page.iter()
        .map(|entry| (entry.seq, entry.event.as_str()))
        .collect()
}

pub(crate) async fn the_store_numbers_and_pages_a_run_s_log(fixture: Fixture) {
    let store = fixture.store;
    let runner = Runner::new(store.clone());
    let id = runner.create::<Chain>(1).await.expect("created");
    assert!(store.events(id, 0, 10).await.expect("reads").is_empty());
    let lease = Lease::new("worker", Duration::from_secs(30));
    let (_, first) = store.claim(id, &lease).await.expect("claims");
    let next = |seq| Checkpoint {
        seq,
        ..first.clone()
    };

    let two = vec![event(1_000, "a"), event(2_000, "b")];
    store
        .save_logged(&lease, next(1), two)
        .await
        .expect("saves");
    // A save that is refused logs nothing either.
    let refused = store
        .save_logged(&lease, next(1), vec![event(3_000, "lost")])
        .await;
    assert!(
        matches!(refused, Err(Error::VersionConflict { .. })),
        "{refused:?}"
    );
    let stranger = Lease::new("stranger", Duration::from_secs(30));
    let refused = store
        .save_logged(&stranger, next(2), vec![event(3_000, "lost")])
        .await;
    assert!(
        matches!(refused, Err(Error::LeaseLost { .. })),
        "{refused:?}"
    );
    // An append goes on from the last entry, with no lease.
    store
        .append_events(id, vec![event(3_000, "c")])
        .await
        .expect("appends");
    store
        .append_events(id, Vec::new())
        .await
        .expect("appends nothing");
    let last = Checkpoint {
        status: RunStatus::Finished,
        ..next(2)
    };
    store
        .save_logged(&lease, last, vec![event(4_000, "d")])
        .await
        .expect("saves");

    let all = store.events(id, 0, 100).await.expect("reads");
    let want = [
        (0, r#"{"type":"a"}"#),
        (1, r#"{"type":"b"}"#),
        (2, r#"{"type":"c"}"#),
        (3, r#"{"type":"d"}"#),
    ];
    assert_eq!(entries(&all), want);
    assert_eq!(all[2].at, UNIX_EPOCH + Duration::from_millis(3_000));
    let page = store.events(id, 1, 2).await.expect("reads");
    assert_eq!(entries(&page), want[1..3]);
    assert!(store.events(id, 4, 10).await.expect("reads").is_empty());
    // The log's end, in order, as a view of a long run reads it first.
    let latest = store.latest_events(id, 2).await.expect("reads");
    assert_eq!(entries(&latest), want[2..]);
    let latest = store.latest_events(id, 100).await.expect("reads");
    assert_eq!(entries(&latest), want);
    assert!(store.latest_events(id, 0).await.expect("reads").is_empty());
    assert!(store
        .events(id, u64::MAX, 10)
        .await
        .expect("reads")
        .is_empty());

    // Pruning history keeps the log; deleting the run deletes it.
    store.prune(id, 1).await.expect("prunes");
    assert_eq!(store.events(id, 0, 100).await.expect("reads").len(), 4);
    let future = SystemTime::now() + Duration::from_secs(3600);
    assert_eq!(
        store
            .delete_runs(Retention::before(future))
            .await
            .expect("deletes"),
        1
    );
    let gone = store.events(id, 0, 100).await;
    assert!(
        matches!(gone, Err(Error::RunNotFound { run }) if run == id),
        "{gone:?}"
    );

    let unknown = RunId::new();
    let error = store.events(unknown, 0, 10).await.expect_err("no such run");
    assert!(
        matches!(error, Error::RunNotFound { run } if run == unknown),
        "{error:?}"
    );
    let error = store
        .latest_events(unknown, 10)
        .await
        .expect_err("no such run");
    assert!(
        matches!(error, Error::RunNotFound { run } if run == unknown),
        "{error:?}"
    );
    let error = store
        .append_events(unknown, vec![event(0, "x")])
        .await
        .expect_err("no such run");
    assert!(
        matches!(error, Error::RunNotFound { run } if run == unknown),
        "{error:?}"
    );
}

/// The `type` of each entry of run `id`'s whole log, after checking that it is numbered
/// from 0 without gaps and holds no model text.
async fn kinds(runner: &Runner, id: RunId) -> Vec<String> {
    let log = runner.events(id, 0, 1000).await.expect("reads the log");
    let seqs: Vec<u64> = log.iter().map(|entry| entry.seq).collect();
    assert_eq!(
        seqs,
        (0..log.len() as u64).collect::<Vec<_>>(),
        "numbered without gaps"
    );
    log.iter()
        .map(|entry| {
            assert!(
                !entry.event.contains("secret"),
                "no model text: {}",
                entry.event
            );
            let json: serde_json::Value = serde_json::from_str(&entry.event).expect("JSON");
            json["type"].as_str().expect("a type").to_owned()
        })
        .collect()
}

pub(crate) async fn a_run_s_events_are_logged_without_its_text(fixture: Fixture) {
    let runner = Runner::new(fixture.store);
    let writer = Writer::default();
    let run = runner.start(&writer, 1).await.expect("runs");
    let id = run.id;
    assert_eq!(
        run.into_output().expect("finished"),
        3,
        "three words streamed"
    );
    let kinds = kinds(&runner, id).await;
    assert_eq!(
        kinds,
        [
            "run_started",
            "step_started",
            "retrying",
            "step_started",
            "call_finished",
            "step_finished",
            "completed"
        ]
    );
    let log = runner.events(id, 2, 2).await.expect("a page");
    let retry: serde_json::Value = serde_json::from_str(&log[0].event).expect("JSON");
    assert_eq!(
        (retry["step"].as_str(), retry["attempt"].as_u64()),
        (Some("write"), Some(1))
    );
    assert!(
        retry["error"]
            .as_str()
            .is_some_and(|error| error.contains("flaked")),
        "{retry}"
    );
    let finished: serde_json::Value = serde_json::from_str(&log[1].event).expect("JSON");
    assert_eq!(finished["attempt"].as_u64(), Some(2));
}

pub(crate) async fn a_runner_can_keep_no_log(fixture: Fixture) {
    let quiet = Runner::new(fixture.store.clone()).event_log(false);
    let mut events = quiet.subscribe();
    let run = quiet.start(&Chain::<1>::default(), 1).await.expect("runs");
    assert!(
        matches!(run.outcome, workflow_runtime::Outcome::Finished(_)),
        "{:?}",
        run.outcome
    );
    assert!(quiet.events(run.id, 0, 10).await.expect("reads").is_empty());
    // Its subscribers still get every event.
    assert!(events.try_recv().is_some());

    let logged = Runner::new(fixture.store)
        .start(&Chain::<1>::default(), 1)
        .await;
    let logged = logged.expect("runs").id;
    assert!(!kinds(&quiet, logged).await.is_empty());
}

pub(crate) async fn a_failed_run_logs_its_failure_and_goes_on_when_resumed(fixture: Fixture) {
    let runner = Runner::new(fixture.store);
    let chain = Chain::<1>::failing_at(1, 1);
    let run = runner.start(&chain, 1).await.expect("created");
    let id = run.id;
    assert!(run.into_output().is_err(), "the second step fails");
    let failed = [
        "run_started",
        "step_started",
        "step_finished",
        "step_started",
        "failed",
    ];
    assert_eq!(kinds(&runner, id).await, failed);
    let last = runner.events(id, 4, 1).await.expect("reads");
    let last: serde_json::Value = serde_json::from_str(&last[0].event).expect("JSON");
    assert_eq!(last["step"].as_str(), Some("second"), "{last}");

    runner
        .resume(&chain, id)
        .await
        .expect("resumes")
        .into_output()
        .expect("finished");
    let resumed = [
        "resumed",
        "step_started",
        "step_finished",
        "step_started",
        "step_finished",
        "completed",
    ];
    assert_eq!(
        kinds(&runner, id).await,
        [&failed[..], &resumed[..]].concat()
    );
}

pub(crate) async fn a_paused_run_s_log_goes_on_when_answered(fixture: Fixture) {
    let runner = Runner::new(fixture.store);
    let approval = Approval::default();
    let run = runner
        .start(&approval, "rust".into())
        .await
        .expect("created");
    let id = run.id;
    let token = run
        .outcome
        .pause()
        .and_then(|pause| pause.token())
        .expect("a token");
    let suspended = ["run_started", "step_started", "step_finished", "suspended"];
    assert_eq!(kinds(&runner, id).await, suspended);

    let decision = Decision {
        approved: true,
        note: "ok".into(),
    };
    let answered = runner
        .answer(&approval, token, decision)
        .await
        .expect("answers");
    answered.into_output().expect("finished");
    let kinds = kinds(&runner, id).await;
    assert_eq!(kinds[..4], suspended);
    assert_eq!(kinds[4], "resumed");
    assert_eq!(kinds.last().map(String::as_str), Some("completed"));
}

pub(crate) async fn a_crashed_run_keeps_its_events_up_to_its_last_checkpoint(fixture: Fixture) {
    let lease = Duration::from_millis(300);
    let runner = Runner::new(fixture.store.clone()).lease(lease);
    let id = runner.create::<Chain>(1).await.expect("created");
    let crashed = Chain::<1>::hanging_at(1);
    crash_when(&crashed.hung, runner.resume(&crashed, id)).await;
    // Saved with checkpoint 1; the second step's start was not.
    let saved = ["resumed", "step_started", "step_finished"];
    assert_eq!(kinds(&runner, id).await, saved);

    tokio::time::sleep(lease + Duration::from_millis(100)).await;
    let other = Runner::new(fixture.store).lease(lease);
    let run = other
        .resume(&Chain::<1>::default(), id)
        .await
        .expect("the lease expired");
    assert_eq!(run.into_output().expect("finished"), 27);
    let kinds = kinds(&other, id).await;
    assert_eq!(kinds[..3], saved);
    let resumed: serde_json::Value =
        serde_json::from_str(&other.events(id, 3, 1).await.expect("reads")[0].event).expect("JSON");
    assert_eq!(
        (resumed["type"].as_str(), resumed["step"].as_str()),
        (Some("resumed"), Some("second"))
    );
    assert_eq!(
        kinds.len(),
        3 + 6,
        "resumed, two steps started and finished, completed"
    );
}

/// `write -> end`: step `write` fails once (a transient error, retried), then streams the
/// answer to a prompt and counts its words.
struct Writer {
    agent: Agent,
    fails: AtomicU32,
}

impl Default for Writer {
    fn default() -> Self {
        let model = Scripted::new().reply("the secret answer");
        Writer {
            agent: Agent::builder(Arc::new(model)).build(),
            fails: AtomicU32::new(1),
        }
    }
}

const RETRY: StepPolicy = StepPolicy::new().retry(1).backoff(Duration::from_millis(1));

#[derive(Debug, Serialize, Deserialize)]
enum WriterState {
    Write(u64),
    End(u64),
}

impl Writer {
    async fn write(&self) -> Result<u64, Box<dyn std::error::Error + Send + Sync>> {
        let failing = self
            .fails
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if failing.is_ok() {
            return Err(Box::new(Flake));
        }
        let words: Vec<String> = self
            .agent
            .stream("the secret prompt")
            .await?
            .try_collect()
            .await?;
        Ok(words.len() as u64)
    }
}

impl Workflow for Writer {
    type Input = u64;
    type Output = u64;
    type State = WriterState;
    const NAME: &'static str = "Writer";
    const FINGERPRINT: u64 = 21;
    const STEPS: &'static [&'static str] = &["write"];

    fn start(input: u64) -> WriterState {
        WriterState::Write(input)
    }

    fn finish(state: WriterState) -> Result<u64, WriterState> {
        match state {
            WriterState::End(out) => Ok(out),
            other => Err(other),
        }
    }

    fn step_name(state: &WriterState) -> &'static str {
        match state {
            WriterState::Write(_) => "write",
            WriterState::End(_) => "end",
        }
    }

    #[allow(clippy::manual_async_fn)]
    fn transition<'a>(
        &'a self,
        state: WriterState,
        cx: &'a mut Context,
    ) -> impl Future<Output = Result<WriterState, Error>> + Send + 'a {
        async move {
            match state {
                WriterState::Write(_) => {
                    let words = cx.step_with_retry("write", &RETRY, || self.write()).await?;
                    Ok(WriterState::End(words))
                }
                end => Ok(end),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_corrupt_entry_is_a_typed_error_naming_its_run() {
    use workflow_runtime::store::SqliteStore;

    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("runs.db");
    let store = Arc::new(SqliteStore::open(&path).expect("opens"));
    let runner = Runner::new(store.clone());
    let db = rusqlite::Connection::open(&path).expect("opens");
    // The log's rows of their own (here those of pruned checkpoints), and the batches the
    // checkpoints hold.
    let edits = [
        (
            "UPDATE workflow_events SET at = 'noon' WHERE run = ?1",
            "`at`",
        ),
        (
            "UPDATE workflow_events SET event = x'ff' WHERE run = ?1",
            "`event`",
        ),
        (
            "UPDATE workflow_events SET count = count + 1 WHERE run = ?1",
            "event log does not read back",
        ),
        (
            "UPDATE workflow_checkpoints SET events_at = 'noon' WHERE run = ?1 AND events IS NOT NULL",
            "`at`",
        ),
        (
            "UPDATE workflow_checkpoints SET events = x'ff' WHERE run = ?1 AND events IS NOT NULL",
            "`event`",
        ),
        (
            "UPDATE workflow_checkpoints SET events_count = events_count + 1 \
             WHERE run = ?1 AND events IS NOT NULL",
            "event log does not read back",
        ),
    ];
    for (edit, column) in edits {
        let run = runner.start(&Chain::<1>::default(), 1).await.expect("runs");
        if edit.contains("workflow_events") {
            store.prune(run.id, 1).await.expect("prunes");
        }
        let edited = db.execute(edit, [run.id.to_string()]).expect("edits");
        assert!(edited > 0, "{edit}");
        let error = runner.events(run.id, 0, 10).await.expect_err("corrupt");
        match &error {
            Error::CorruptCheckpoint {
                run: Some(id),
                seq: None,
                reason,
                ..
            } if *id == run.id && reason.contains(column) => {}
            other => panic!("{edit}: {other:?}"),
        }
        assert!(error.to_string().contains(&run.id.to_string()), "{error}");
    }
}

pub(crate) async fn a_subscriber_that_hears_a_run_end_finds_it_saved(fixture: Fixture) {
    let runner = Runner::new(fixture.store);
    let mut events = runner.subscribe();
    let run = tokio::spawn({
        let runner = runner.clone();
        async move { runner.start(&Approval::default(), "rust".into()).await }
    });
    // Paused: the run is suspended in the store by the time its `Suspended` is heard.
    let id = loop {
        let event = events.recv().await.expect("the run's events");
        if event.kind.name() == "suspended" {
            let info = runner.status(event.run).await.expect("the run");
            assert_eq!(info.status, RunStatus::Suspended, "{info:?}");
            break event.run;
        }
    };
    let token = run
        .await
        .expect("the task")
        .expect("created")
        .outcome
        .pause()
        .and_then(|pause| pause.token())
        .expect("a token");
    let decision = Decision {
        approved: true,
        note: "ok".into(),
    };
    let answered = tokio::spawn({
        let runner = runner.clone();
        async move { runner.answer(&Approval::default(), token, decision).await }
    });
    // Finished: likewise by the time its `Completed` is heard.
    loop {
        let event = events.recv().await.expect("the run's events");
        if event.kind.name() == "completed" {
            let info = runner.status(id).await.expect("the run");
            assert_eq!(info.status, RunStatus::Finished, "{info:?}");
            break;
        }
    }
    answered.await.expect("the task").expect("answers");
}

/// The kinds of the events in the row of run `id`'s log that holds its last event, in the
/// SQLite file at `path`.
fn last_row_kinds(path: &std::path::Path, id: RunId) -> Vec<String> {
    let db = rusqlite::Connection::open(path).expect("opens");
    let (count, text): (i64, String) = db
        .query_row(
            "SELECT count, event FROM (SELECT seq, count, event FROM workflow_events \
             WHERE run = ?1 UNION ALL SELECT events_seq, events_count, events \
             FROM workflow_checkpoints WHERE run = ?1 AND events IS NOT NULL) \
             ORDER BY seq DESC LIMIT 1",
            [id.to_string()],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .expect("a row");
    let events: Vec<serde_json::Value> = match count {
        1 => vec![serde_json::from_str(&text).expect("JSON")],
        _ => serde_json::from_str::<Vec<(i64, serde_json::Value)>>(&text)
            .expect("a batch")
            .into_iter()
            .map(|(_, event)| event)
            .collect(),
    };
    let kind = |event: serde_json::Value| event["type"].as_str().unwrap_or("?").to_owned();
    events.into_iter().map(kind).collect()
}

/// The number of rows of `table` in the SQLite file `db` that hold events of run `id`.
fn log_rows(db: &rusqlite::Connection, table: &str, id: RunId) -> i64 {
    let sql = match table {
        "workflow_events" => "SELECT count(*) FROM workflow_events WHERE run = ?1",
        _ => "SELECT count(*) FROM workflow_checkpoints WHERE run = ?1 AND events IS NOT NULL",
    };
    db.query_row(sql, [id.to_string()], |row| row.get(0))
        .expect("counts")
}

/// The events a save logs are in its checkpoint's row (one page a commit, not two); pruning
/// the checkpoints moves them to the log's own table, where they read back the same.
#[tokio::test]
async fn sqlite_a_save_s_events_are_in_its_checkpoint_s_row_until_it_is_pruned() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("runs.db");
    let store = Arc::new(workflow_runtime::store::SqliteStore::open(&path).expect("opens"));
    let runner = Runner::new(store.clone());
    let run = runner.start(&Chain::<3>::default(), 1).await.expect("runs");
    let db = rusqlite::Connection::open(&path).expect("opens");
    // Three steps, three saves, each with its events; nothing after the last.
    assert_eq!(log_rows(&db, "workflow_checkpoints", run.id), 3);
    assert_eq!(log_rows(&db, "workflow_events", run.id), 0);
    let log = runner.events(run.id, 0, 100).await.expect("reads");
    let seqs: Vec<u64> = log.iter().map(|entry| entry.seq).collect();
    assert_eq!(seqs, (0..log.len() as u64).collect::<Vec<_>>(), "no gaps");

    assert_eq!(store.prune(run.id, 1).await.expect("prunes"), 3);
    assert_eq!(log_rows(&db, "workflow_checkpoints", run.id), 1);
    assert_eq!(log_rows(&db, "workflow_events", run.id), 2);
    assert_eq!(runner.events(run.id, 0, 100).await.expect("reads"), log);
    assert_eq!(runner.events(run.id, 3, 2).await.expect("reads"), log[3..5]);
    let latest = runner.latest_events(run.id, 2).await.expect("reads");
    assert_eq!(latest, log[log.len() - 2..]);
}

/// The checkpoint that ends a run (finished, or suspended at a pause) and the run's last
/// events are one write: one row of the log, with the step that led there, rather than a
/// second write after the checkpoint.
#[tokio::test]
async fn sqlite_a_run_s_end_and_its_last_events_are_one_write() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("runs.db");
    let store = workflow_runtime::store::SqliteStore::open(&path).expect("opens");
    let runner = Runner::new(Arc::new(store));

    let finished = runner.start(&Chain::<1>::default(), 1).await.expect("runs");
    let row = last_row_kinds(&path, finished.id);
    assert!(
        row.ends_with(&["step_finished".into(), "completed".into()]),
        "{row:?}"
    );
    let paused = runner
        .start(&Approval::default(), "rust".into())
        .await
        .expect("created");
    assert!(paused.outcome.pause().is_some(), "{:?}", paused.outcome);
    let row = last_row_kinds(&path, paused.id);
    assert!(
        row.ends_with(&["step_finished".into(), "suspended".into()]),
        "{row:?}"
    );
}

/// `n` steps (its input), each adding one: as long a run, and as long a log, as a test needs.
struct Steps;

#[derive(Debug, Serialize, Deserialize)]
struct Left {
    steps: u64,
    value: u64,
}

impl Workflow for Steps {
    type Input = u64;
    type Output = u64;
    type State = Left;
    const NAME: &'static str = "Steps";
    const FINGERPRINT: u64 = 1;
    const STEPS: &'static [&'static str] = &["add"];

    fn start(steps: u64) -> Left {
        Left { steps, value: 0 }
    }

    fn finish(state: Left) -> Result<u64, Left> {
        match state.steps {
            0 => Ok(state.value),
            _ => Err(state),
        }
    }

    fn step_name(state: &Left) -> &'static str {
        match state.steps {
            0 => "end",
            _ => "add",
        }
    }

    fn transition(
        &self,
        state: Left,
        _: &mut Context,
    ) -> impl Future<Output = Result<Left, Error>> + Send {
        std::future::ready(Ok(Left {
            steps: state.steps.saturating_sub(1),
            value: state.value + 1,
        }))
    }
}

/// The rows of Postgres tables (`client`'s search path) that hold events of run `id`: rows of
/// `workflow_events`, or checkpoints with a batch.
#[cfg(feature = "postgres")]
async fn pg_log_rows(
    client: &workflow_runtime::store::tokio_postgres::Client,
    table: &str,
    id: RunId,
) -> i64 {
    let sql = match table {
        "workflow_events" => "SELECT count(*) FROM workflow_events WHERE run = $1",
        _ => "SELECT count(*) FROM workflow_checkpoints WHERE run = $1 AND events IS NOT NULL",
    };
    let row = client
        .query_one(sql, &[id.as_uuid()])
        .await
        .expect("counts");
    row.get(0)
}

/// Every page of run `id`'s log (from each entry, and past its end, of a few lengths) and its
/// latest entries read as the slices of `log`, its whole log.
async fn pages_read_as_slices_of(runner: &Runner, id: RunId, log: &[LoggedEvent]) {
    for from in 0..=log.len() + 1 {
        for limit in [1, 2, 5] {
            let page = runner.events(id, from as u64, limit).await.expect("reads");
            let (start, end) = (from.min(log.len()), (from + limit as usize).min(log.len()));
            assert_eq!(page, log[start..end], "from {from}, {limit} at most");
        }
    }
    for limit in [1, 3, 100] {
        let latest = runner.latest_events(id, limit).await.expect("reads");
        assert_eq!(latest, log[log.len().saturating_sub(limit as usize)..]);
    }
}

/// On Postgres a save's events are in its checkpoint's row (one row written a save, not
/// two); pruning checkpoints moves their batches to the log's own table. A page of the log
/// from any entry reads the same before and after: from the rows of both tables, the first
/// checkpoint that may hold it found by a search that steps over the pruned ones.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_save_s_events_are_in_its_checkpoint_s_row_until_it_is_pruned() {
    let Some(url) = crate::stores::postgres_url() else {
        return;
    };
    let (runner, client, _schema) = crate::stores::postgres_schema(&url).await;
    let run = runner.start(&Steps, 12).await.expect("runs");
    assert!(matches!(
        run.outcome,
        workflow_runtime::Outcome::Finished(12)
    ));
    // Twelve steps, twelve saves, each with its events; nothing after the last.
    assert_eq!(
        pg_log_rows(&client, "workflow_checkpoints", run.id).await,
        12
    );
    assert_eq!(pg_log_rows(&client, "workflow_events", run.id).await, 0);
    let log = runner.events(run.id, 0, 1_000).await.expect("reads");
    let seqs: Vec<u64> = log.iter().map(|entry| entry.seq).collect();
    assert_eq!(seqs, (0..log.len() as u64).collect::<Vec<_>>(), "no gaps");
    assert!(log.len() > 24, "{log:?}");
    pages_read_as_slices_of(&runner, run.id, &log).await;

    // Checkpoints 0 to 7 go (the run's creation logged nothing), and the batches of seven.
    let store = runner.store();
    assert_eq!(store.prune(run.id, 5).await.expect("prunes"), 8);
    assert_eq!(
        pg_log_rows(&client, "workflow_checkpoints", run.id).await,
        5
    );
    assert_eq!(pg_log_rows(&client, "workflow_events", run.id).await, 7);
    assert_eq!(runner.events(run.id, 0, 1_000).await.expect("reads"), log);
    pages_read_as_slices_of(&runner, run.id, &log).await;
}

/// On SQLite as on Postgres: every page of a run's log reads the same before and after a
/// prune moves its batches from the checkpoints to the log's own rows.
#[tokio::test]
async fn sqlite_every_page_of_a_log_reads_the_same_after_a_prune() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("runs.db");
    let store = Arc::new(workflow_runtime::store::SqliteStore::open(&path).expect("opens"));
    let runner = Runner::new(store.clone());
    let run = runner.start(&Steps, 12).await.expect("runs");
    assert!(matches!(
        run.outcome,
        workflow_runtime::Outcome::Finished(12)
    ));
    let log = runner.events(run.id, 0, 1_000).await.expect("reads");
    assert!(log.len() > 24, "{log:?}");
    pages_read_as_slices_of(&runner, run.id, &log).await;
    assert_eq!(store.prune(run.id, 5).await.expect("prunes"), 8);
    let db = rusqlite::Connection::open(&path).expect("opens");
    assert_eq!(log_rows(&db, "workflow_events", run.id), 7);
    pages_read_as_slices_of(&runner, run.id, &log).await;
}
