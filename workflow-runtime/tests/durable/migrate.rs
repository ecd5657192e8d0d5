//! Stores written by an older version of `workflow` open, are brought up to date, and their
//! runs go on: schema version 2 had no usage saved with checkpoints and branches, version 3
//! no cancel requests (nor the index workers claim runs from), version 4 no event log,
//! version 5 no wake-up time of sleeping runs, nor signals, version 6 no recorded answers nor
//! definitions, version 7 no shared rate limits, version 9 no child runs (`parent_step`) and
//! kept one row per event in the log (and no `log_next` on checkpoints), version 11 kept the
//! events a save logs in `workflow_events` rather than in its checkpoint's row (SQLite; on
//! Postgres, versions before 13).

use std::sync::Arc;

use workflow_runtime::store::SqliteStore;
use workflow_runtime::store::{Cancel, LoggedEvent, RunId, RunStatus};
use workflow_runtime::{Outcome, PauseToken, Runner, Worker};

use crate::workflows::{Approval, Chain, Decision};
#[cfg(feature = "postgres")]
use workflow_runtime::store::{PostgresOptions, PostgresStore};

/// What takes Postgres tables' checkpoints back to before version 13: no events in their
/// rows.
#[cfg(feature = "postgres")]
const PG_WITHOUT_INLINE_EVENTS: &str = "ALTER TABLE workflow_checkpoints DROP COLUMN events, \
     DROP COLUMN events_seq, DROP COLUMN events_at, DROP COLUMN events_count;";

/// What takes a file's checkpoints back to before version 12: no events in their rows.
const WITHOUT_INLINE_EVENTS: &str = "ALTER TABLE workflow_checkpoints DROP COLUMN events; \
     ALTER TABLE workflow_checkpoints DROP COLUMN events_seq; \
     ALTER TABLE workflow_checkpoints DROP COLUMN events_at; \
     ALTER TABLE workflow_checkpoints DROP COLUMN events_count;";

/// The columns of `table` in the SQLite file `db`.
fn columns(db: &rusqlite::Connection, table: &str) -> Vec<String> {
    let sql = format!("SELECT name FROM pragma_table_info('{table}')");
    let mut stmt = db.prepare(&sql).expect("prepares");
    let names = stmt.query_map([], |row| row.get(0)).expect("reads");
    names.collect::<Result<_, _>>().expect("reads")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_file_at_schema_2_opens_and_its_runs_resume_with_no_usage() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("runs.db");
    let runner = Runner::new(Arc::new(SqliteStore::open(&path).expect("opens")));
    let waiting = runner.create::<Chain>(1).await.expect("created");
    let queued = runner.submit::<Chain>(2).await.expect("submitted").id();
    let cancelled = runner.submit::<Chain>(3).await.expect("submitted").id();
    let paused = runner
        .start(&Approval::default(), "usage".into())
        .await
        .expect("starts");
    let token = paused.outcome.pause().and_then(|pause| pause.token());
    let token = token.expect("a durable pause has a token");
    drop(runner);

    // The file as version 2 wrote it: no `usage` columns, no cancel requests.
    let db = rusqlite::Connection::open(&path).expect("opens");
    db.execute_batch(&format!(
        "ALTER TABLE workflow_checkpoints DROP COLUMN usage; \
         ALTER TABLE workflow_checkpoints DROP COLUMN log_next; \
         {WITHOUT_INLINE_EVENTS} \
         ALTER TABLE workflow_branches DROP COLUMN usage; \
         DROP INDEX workflow_runs_runnable; \
         DROP INDEX workflow_runs_cancelling; \
         ALTER TABLE workflow_runs DROP COLUMN cancel_requested; \
         DROP TABLE workflow_events; \
         DROP INDEX workflow_runs_sleeping; \
         DROP INDEX workflow_runs_ready; \
         DROP INDEX workflow_runs_awaiting; \
         ALTER TABLE workflow_runs DROP COLUMN wake_at; \
         ALTER TABLE workflow_runs DROP COLUMN awaiting; \
         DROP TABLE workflow_signals; \
         DROP TABLE workflow_calls; \
         DROP TABLE workflow_rate_starts; \
         DROP INDEX workflow_runs_children; \
         ALTER TABLE workflow_runs DROP COLUMN parent_step; \
         PRAGMA user_version = 2;"
    ))
    .expect("downgrades");
    assert!(!columns(&db, "workflow_checkpoints").contains(&"usage".to_owned()));

    let runner = Runner::new(Arc::new(
        SqliteStore::open(&path).expect("opens an old file"),
    ));
    let version: i64 = db
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .expect("reads");
    assert_eq!(version, 12);
    assert!(columns(&db, "workflow_runs").contains(&"parent_step".to_owned()));
    assert_eq!(columns(&db, "workflow_rate_starts"), ["key", "at"]);
    assert_eq!(
        columns(&db, "workflow_answers"),
        ["run", "seq", "value", "created_at"]
    );
    assert_eq!(
        columns(&db, "workflow_calls"),
        ["run", "seq", "key", "value", "created_at"]
    );
    for table in ["workflow_checkpoints", "workflow_branches"] {
        assert!(columns(&db, table).contains(&"usage".to_owned()), "{table}");
    }
    assert!(columns(&db, "workflow_runs").contains(&"cancel_requested".to_owned()));
    assert!(columns(&db, "workflow_runs").contains(&"wake_at".to_owned()));
    assert!(columns(&db, "workflow_runs").contains(&"awaiting".to_owned()));
    assert_eq!(
        columns(&db, "workflow_signals"),
        ["id", "run", "signal", "value", "created_at"]
    );
    assert_eq!(
        columns(&db, "workflow_events"),
        ["run", "seq", "at", "event", "count"]
    );
    let resumed = runner
        .resume(&Chain::<1>::default(), waiting)
        .await
        .expect("resumes");
    assert_eq!(resumed.usage.total, Default::default());
    assert_eq!(resumed.into_output().expect("finished"), 27);
    let logged: i64 = db
        .query_row(
            "SELECT count(*) FROM workflow_events WHERE run = ?1",
            [waiting.as_uuid().hyphenated().to_string()],
            |row| row.get(0),
        )
        .expect("reads");
    assert!(logged > 0, "the resumed run logs its events");
    let decision = Decision {
        approved: true,
        note: "ok".into(),
    };
    let answered = runner
        .answer(&Approval::default(), token, decision)
        .await
        .expect("answers");
    assert!(
        matches!(answered.outcome, Outcome::Finished(_)),
        "{:?}",
        answered.outcome
    );
    assert_eq!(answered.usage.total.calls, 0);
    workers_take_up(&runner, queued, cancelled).await;

    // Opening it again changes nothing.
    drop(runner);
    SqliteStore::open(&path).expect("opens again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_log_of_one_row_per_event_reads_back_and_goes_on_without_gaps() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("runs.db");
    let (approval, (id, token), before) = paused_with_a_log(&path).await;
    assert!(before.len() >= 4, "{before:?}");

    // The log as version 9 wrote it: one row per event, and checkpoints that do not know
    // where it ends.
    let db = rusqlite::Connection::open(&path).expect("opens");
    db.execute_batch(&format!(
        "CREATE TABLE old_events (run TEXT NOT NULL, seq INTEGER NOT NULL, \
         at INTEGER NOT NULL, event TEXT NOT NULL, PRIMARY KEY (run, seq)) WITHOUT ROWID; \
         DROP TABLE workflow_events; \
         ALTER TABLE old_events RENAME TO workflow_events; \
         ALTER TABLE workflow_checkpoints DROP COLUMN log_next; \
         {WITHOUT_INLINE_EVENTS} \
         DROP INDEX workflow_runs_children; \
         ALTER TABLE workflow_runs DROP COLUMN parent_step; \
         PRAGMA user_version = 9;"
    ))
    .expect("downgrades");
    for entry in &before {
        let at = entry
            .at
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after");
        db.execute(
            "INSERT INTO workflow_events (run, seq, at, event) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![
                id.to_string(),
                entry.seq as i64,
                at.as_millis() as i64,
                entry.event
            ],
        )
        .expect("writes an old row");
    }

    let runner = reopened(&path, &db);
    let after = old_log_goes_on(&runner, &approval, (id, token), &before).await;
    let rows: i64 = db
        .query_row("SELECT count(*) FROM workflow_events", [], |row| row.get(0))
        .expect("reads");
    assert!(
        (rows as usize) < after.len(),
        "the new entries are in batches: {rows} rows for {} entries",
        after.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_log_kept_apart_from_the_checkpoints_goes_on_in_them() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("runs.db");
    let (approval, (id, token), before) = paused_with_a_log(&path).await;

    // The log as version 11 wrote it: every batch a row of `workflow_events`.
    let db = rusqlite::Connection::open(&path).expect("opens");
    db.execute_batch(&format!(
        "INSERT INTO workflow_events (run, seq, at, event, count) \
         SELECT run, events_seq, events_at, events, events_count FROM workflow_checkpoints \
         WHERE events IS NOT NULL; \
         {WITHOUT_INLINE_EVENTS} \
         PRAGMA user_version = 11;"
    ))
    .expect("downgrades");
    let old_rows: i64 = db
        .query_row("SELECT count(*) FROM workflow_events", [], |row| row.get(0))
        .expect("reads");

    let runner = reopened(&path, &db);
    let after = old_log_goes_on(&runner, &approval, (id, token), &before).await;
    // The saves after the upgrade kept their events in their checkpoints' rows.
    let inline: i64 = db
        .query_row(
            "SELECT count(*) FROM workflow_checkpoints WHERE run = ?1 AND events IS NOT NULL",
            [id.to_string()],
            |row| row.get(0),
        )
        .expect("reads");
    assert!(inline > 0, "{after:?}");
    let rows: i64 = db
        .query_row("SELECT count(*) FROM workflow_events", [], |row| row.get(0))
        .expect("reads");
    assert!(
        rows >= old_rows,
        "the old rows stay: {rows} against {old_rows}"
    );
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_tables_at_schema_2_are_brought_up_to_date() {
    let Some(url) = crate::stores::postgres_url() else {
        return;
    };
    let (runner, client, schema) = crate::stores::postgres_schema(&url).await;
    let waiting = runner.create::<Chain>(1).await.expect("created");
    let queued = runner.submit::<Chain>(2).await.expect("submitted").id();
    let cancelled = runner.submit::<Chain>(3).await.expect("submitted").id();
    drop(runner);
    let downgrade = format!(
        "SET search_path TO {schema}; \
         ALTER TABLE workflow_checkpoints DROP COLUMN usage; \
         ALTER TABLE workflow_branches DROP COLUMN usage; \
         DROP INDEX workflow_runs_runnable; \
         ALTER TABLE workflow_runs DROP COLUMN cancel_requested; \
         DROP TABLE workflow_events; \
         ALTER TABLE workflow_runs DROP COLUMN wake_at; \
         ALTER TABLE workflow_runs DROP COLUMN awaiting; \
         DROP TABLE workflow_signals; \
         DROP TABLE workflow_calls; \
         DROP TABLE workflow_rate_limits; \
         DROP INDEX workflow_runs_children; \
         ALTER TABLE workflow_runs DROP COLUMN parent_step; \
         ALTER TABLE workflow_runs DROP COLUMN awaited; {PG_WITHOUT_INLINE_EVENTS} \
         DELETE FROM workflow_schema; INSERT INTO workflow_schema (version) VALUES (2);"
    );
    client.batch_execute(&downgrade).await.expect("downgrades");

    let runner = postgres_reopened(&url, &schema).await;
    let resumed = runner
        .resume(&Chain::<1>::default(), waiting)
        .await
        .expect("resumes");
    assert_eq!(resumed.usage.total, Default::default());
    assert_eq!(resumed.into_output().expect("finished"), 27);
    let version: i32 = one(&client, "SELECT max(version) FROM workflow_schema", &[])
        .await
        .expect("reads");
    assert_eq!(version, 13);
    let calls = format!("SELECT count(*) FROM {schema}.workflow_calls");
    let calls: i64 = one(&client, &calls, &[])
        .await
        .expect("the table of recorded calls is there");
    assert_eq!(calls, 0);
    let rate_limits = format!("SELECT count(*) FROM {schema}.workflow_rate_limits");
    let rate_limits: i64 = one(&client, &rate_limits, &[])
        .await
        .expect("the table of rate limits is back");
    assert_eq!(rate_limits, 0);
    let logged = format!(
        "SELECT count(*) FROM {schema}.workflow_checkpoints WHERE run = $1 \
         AND events IS NOT NULL"
    );
    let logged: i64 = one(&client, &logged, &[waiting.as_uuid()])
        .await
        .expect("reads");
    assert!(logged > 0, "the resumed run logs its events");
    workers_take_up(&runner, queued, cancelled).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_log_of_one_row_per_event_reads_back_and_goes_on_without_gaps() {
    let Some(url) = crate::stores::postgres_url() else {
        return;
    };
    let (runner, client, schema) = crate::stores::postgres_schema(&url).await;
    let approval = Approval::default();
    let paused = runner.start(&approval, "log".into()).await.expect("starts");
    let id = paused.id;
    let token = paused.outcome.pause().and_then(|pause| pause.token());
    let token = token.expect("a durable pause has a token");
    let before = runner.events(id, 0, 100).await.expect("reads");
    assert!(before.len() >= 4, "{before:?}");
    drop(runner);

    // The log as version 9 wrote it: one row per event, and run rows that do not know
    // where it ends.
    let downgrade = format!(
        "SET search_path TO {schema}; DELETE FROM workflow_events; \
         {PG_WITHOUT_INLINE_EVENTS} ALTER TABLE workflow_events DROP COLUMN count; \
         ALTER TABLE workflow_runs DROP COLUMN log_next; \
         DROP INDEX workflow_runs_children; \
         ALTER TABLE workflow_runs DROP COLUMN parent_step; \
         DELETE FROM workflow_schema WHERE version > 9;"
    );
    client.batch_execute(&downgrade).await.expect("downgrades");
    for entry in &before {
        let at = entry
            .at
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after");
        let insert = format!(
            "INSERT INTO {schema}.workflow_events (run, seq, at, event) VALUES ($1, $2, $3, $4)"
        );
        let (seq, at) = (entry.seq as i64, at.as_millis() as i64);
        client
            .execute(&insert, &[id.as_uuid(), &seq, &at, &entry.event])
            .await
            .expect("writes an old row");
    }

    let runner = postgres_reopened(&url, &schema).await;
    let after = old_log_goes_on(&runner, &approval, (id, token), &before).await;
    let rows = format!(
        "SELECT (SELECT count(*) FROM {schema}.workflow_events) \
         + (SELECT count(*) FROM {schema}.workflow_checkpoints WHERE events IS NOT NULL)"
    );
    let rows: i64 = one(&client, &rows, &[]).await.expect("reads");
    assert!(
        (rows as usize) < after.len(),
        "the new entries are in batches: {rows} rows for {} entries",
        after.len()
    );
}

/// A run of `Approval` in a new SQLite file at `path`, paused: the workflow, the run and its
/// pause's token, and its log so far.
async fn paused_with_a_log(
    path: &std::path::Path,
) -> (Approval, (RunId, PauseToken), Vec<LoggedEvent>) {
    let runner = Runner::new(Arc::new(SqliteStore::open(path).expect("opens")));
    let approval = Approval::default();
    let paused = runner.start(&approval, "log".into()).await.expect("starts");
    let token = paused.outcome.pause().and_then(|pause| pause.token());
    let token = token.expect("a durable pause has a token");
    let before = runner.events(paused.id, 0, 100).await.expect("reads");
    (approval, (paused.id, token), before)
}

/// A runner on the SQLite file at `path`, written by an older version, which opening brings
/// up to date (`db` reads its version).
fn reopened(path: &std::path::Path, db: &rusqlite::Connection) -> Runner {
    let runner = Runner::new(Arc::new(
        SqliteStore::open(path).expect("opens an old file"),
    ));
    let version: i64 = db
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .expect("reads");
    assert_eq!(version, 12);
    runner
}

/// On a store brought up to date, the log `before` of run `id`, paused at `token`, written
/// one row per event, reads back as it was (whole and from an offset); answering the pause
/// numbers the new entries on without gaps, and the latest read across old and new entries.
/// The log after.
async fn old_log_goes_on(
    runner: &Runner,
    approval: &Approval,
    (id, token): (RunId, PauseToken),
    before: &[LoggedEvent],
) -> Vec<LoggedEvent> {
    assert_eq!(runner.events(id, 0, 100).await.expect("reads"), before);
    assert_eq!(runner.events(id, 2, 2).await.expect("reads"), before[2..4]);
    let decision = Decision {
        approved: true,
        note: "ok".into(),
    };
    let answered = runner
        .answer(approval, token, decision)
        .await
        .expect("answers");
    answered.into_output().expect("finished");
    let after = runner.events(id, 0, 100).await.expect("reads");
    assert_eq!(
        after[..before.len()],
        before[..],
        "the old rows read the same"
    );
    let seqs: Vec<u64> = after.iter().map(|entry| entry.seq).collect();
    assert_eq!(seqs, (0..after.len() as u64).collect::<Vec<_>>(), "no gaps");
    assert!(after.len() > before.len() + 1, "{after:?}");
    let latest = runner.latest_events(id, 3).await.expect("reads");
    assert_eq!(latest, after[after.len() - 3..]);
    after
}

/// On a store brought up to date, a worker picks up `queued`, submitted before, and
/// `cancelled` is cancelled by id.
async fn workers_take_up(runner: &Runner, queued: RunId, cancelled: RunId) {
    let cancel = runner.cancel(cancelled).await.expect("cancels");
    assert_eq!(cancel, Cancel::Cancelled);
    let worker = Worker::new(runner.clone())
        .register(Chain::<1>::default())
        .poll_interval(std::time::Duration::from_millis(10))
        .spawn();
    let output = runner.handle::<Chain>(queued).result().await;
    assert_eq!(output.expect("finishes"), 37);
    assert_eq!(worker.stop().await.finished, 1);
    let info = runner.status(cancelled).await.expect("reads");
    assert_eq!(info.status, RunStatus::Cancelled);
}

/// Schema 9 to 11 on SQLite: the runs gain `parent_step` (and the index of children); a run
/// saved before reads as a run of its own and goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_file_at_schema_9_gains_child_runs() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("runs.db");
    let runner = Runner::new(Arc::new(SqliteStore::open(&path).expect("opens")));
    let waiting = runner.create::<Chain>(1).await.expect("created");
    drop(runner);
    let db = rusqlite::Connection::open(&path).expect("opens");
    db.execute_batch(&format!(
        "DROP INDEX workflow_runs_children; \
         ALTER TABLE workflow_runs DROP COLUMN parent_step; \
         ALTER TABLE workflow_checkpoints DROP COLUMN log_next; \
         {WITHOUT_INLINE_EVENTS} \
         ALTER TABLE workflow_events DROP COLUMN count; \
         PRAGMA user_version = 9;"
    ))
    .expect("downgrades");
    assert!(!columns(&db, "workflow_runs").contains(&"parent_step".to_owned()));

    let runner = Runner::new(Arc::new(SqliteStore::open(&path).expect("opens")));
    let version: i64 = db
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .expect("reads");
    assert_eq!(version, 12);
    assert!(columns(&db, "workflow_runs").contains(&"parent_step".to_owned()));
    let indexed: i64 = db
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'workflow_runs_children'",
            [],
            |row| row.get(0),
        )
        .expect("reads");
    assert_eq!(indexed, 1);
    goes_on_as_a_run_of_its_own(&runner, waiting).await;
}

/// Run `waiting`, saved before the runs had `parent_step`, reads as a run of its own and
/// goes on to its end.
async fn goes_on_as_a_run_of_its_own(runner: &Runner, waiting: RunId) {
    assert_eq!(
        runner.status(waiting).await.expect("reads").parent_step,
        None
    );
    let resumed = runner
        .resume(&Chain::<1>::default(), waiting)
        .await
        .expect("resumes");
    assert_eq!(resumed.into_output().expect("finished"), 27);
}

/// Schema 9 to 12 on Postgres: child runs as on SQLite, and the runs whose end a handle
/// awaits.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_tables_at_schema_9_gain_child_runs() {
    let Some(url) = crate::stores::postgres_url() else {
        return;
    };
    let (runner, client, schema) = crate::stores::postgres_schema(&url).await;
    let waiting = runner.create::<Chain>(1).await.expect("created");
    drop(runner);
    let downgrade = format!(
        "SET search_path TO {schema}; \
         DROP INDEX workflow_runs_children; \
         ALTER TABLE workflow_runs DROP COLUMN parent_step; \
         ALTER TABLE workflow_runs DROP COLUMN log_next; \
         ALTER TABLE workflow_events DROP COLUMN count; \
         ALTER TABLE workflow_runs DROP COLUMN awaited; {PG_WITHOUT_INLINE_EVENTS} \
         DELETE FROM workflow_schema WHERE version >= 10;"
    );
    client.batch_execute(&downgrade).await.expect("downgrades");

    let runner = postgres_reopened(&url, &schema).await;
    let version: i32 = one(&client, "SELECT max(version) FROM workflow_schema", &[])
        .await
        .expect("reads");
    assert_eq!(version, 13);
    let indexed = format!(
        "SELECT count(*) FROM pg_indexes WHERE schemaname = '{schema}' \
         AND indexname = 'workflow_runs_children'"
    );
    let indexed: i64 = one(&client, &indexed, &[]).await.expect("reads");
    assert_eq!(indexed, 1);
    let awaited = format!(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = '{schema}' \
         AND table_name = 'workflow_runs' AND column_name = 'awaited'"
    );
    let awaited: i64 = one(&client, &awaited, &[]).await.expect("reads");
    assert_eq!(awaited, 1, "the column of awaited runs is there");
    goes_on_as_a_run_of_its_own(&runner, waiting).await;
}

/// A runner on `schema` again, which brings its tables up to date.
/// The one value `sql`, with `params`, selects.
#[cfg(feature = "postgres")]
async fn one<T>(
    client: &workflow_runtime::store::tokio_postgres::Client,
    sql: &str,
    params: &[&(dyn workflow_runtime::store::tokio_postgres::types::ToSql + Sync)],
) -> Result<T, workflow_runtime::store::tokio_postgres::Error>
where
    T: for<'a> workflow_runtime::store::tokio_postgres::types::FromSql<'a>,
{
    client.query_one(sql, params).await?.try_get(0)
}

#[cfg(feature = "postgres")]
async fn postgres_reopened(url: &str, schema: &str) -> Runner {
    let options = PostgresOptions::new().schema(schema);
    let store = PostgresStore::connect_with(url, options)
        .await
        .expect("connects to old tables");
    Runner::new(Arc::new(store))
}

/// A store that connects while another connection has the tables in an open transaction (a
/// worker's, say) does not wait for it: the set-up alters only a schema that is not up to
/// date, since altering a table waits for everyone using it, and could deadlock with them.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_store_connects_while_the_tables_are_in_use() {
    let Some(url) = crate::stores::postgres_url() else {
        return;
    };
    let (runner, client, schema) = crate::stores::postgres_schema(&url).await;
    runner.submit::<Chain>(1).await.expect("submits");
    client
        .batch_execute(
            "BEGIN; SELECT count(*) FROM workflow_runs; \
             SELECT count(*) FROM workflow_checkpoints; SELECT count(*) FROM workflow_branches; \
             SELECT count(*) FROM workflow_events",
        )
        .await
        .expect("reads");
    let wait = std::time::Duration::from_secs(10);
    let connected = tokio::time::timeout(wait, postgres_reopened(&url, &schema)).await;
    assert!(
        connected.is_ok(),
        "the store waited for the open transaction"
    );
    client.batch_execute("COMMIT").await.expect("commits");
}
