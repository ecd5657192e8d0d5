//! `RateLimit::shared`: limits opened on separate handles of one store, in this process and in
//! two child processes (this test binary again, `--exact child_process`), share one budget.
//! Every start time the store records is kept, and no window of one period may hold more
//! starts than the limit allows: the check is on the recorded times, never on how long
//! anything took. On a real SQLite file, and on Postgres when `WORKFLOW_POSTGRES_URL` is set.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use workflow_runtime::provider::{ChatModel, ChatRequest, RateLimit, RateLimited, Scripted};
use workflow_runtime::store::{CheckpointStore, RateSlot, SqliteStore};
use workflow_runtime::MemoryStore;

/// The limit every test takes places in: 3 calls in any 300 ms.
const CALLS: u32 = 3;
const PERIOD: Duration = Duration::from_millis(300);
/// The places each limit (or child process) takes.
const EACH: usize = 9;

/// Where the limits are kept, as the child processes open it.
#[derive(Clone)]
enum Target {
    Sqlite(String),
    #[cfg(feature = "postgres")]
    Postgres {
        url: String,
        schema: String,
    },
}

impl Target {
    async fn open(&self) -> Arc<dyn CheckpointStore> {
        match self {
            Target::Sqlite(path) => Arc::new(SqliteStore::open(path).expect("opens the file")),
            #[cfg(feature = "postgres")]
            Target::Postgres { url, schema } => {
                use workflow_runtime::store::{PostgresOptions, PostgresStore};
                let options = PostgresOptions::new().schema(schema.clone());
                let store = PostgresStore::connect_with(url, options).await;
                Arc::new(store.expect("connects"))
            }
        }
    }

    fn to_env(&self) -> Vec<(&'static str, String)> {
        match self {
            Target::Sqlite(path) => vec![("WORKFLOW_RATE_SQLITE", path.clone())],
            #[cfg(feature = "postgres")]
            Target::Postgres { url, schema } => vec![
                ("WORKFLOW_RATE_POSTGRES", url.clone()),
                ("WORKFLOW_RATE_SCHEMA", schema.clone()),
            ],
        }
    }

    fn from_env() -> Option<Self> {
        if let Ok(path) = std::env::var("WORKFLOW_RATE_SQLITE") {
            return Some(Target::Sqlite(path));
        }
        #[cfg(feature = "postgres")]
        if let Ok(url) = std::env::var("WORKFLOW_RATE_POSTGRES") {
            let schema = std::env::var("WORKFLOW_RATE_SCHEMA").expect("the schema");
            return Some(Target::Postgres { url, schema });
        }
        None
    }
}

/// `at` in milliseconds since the Unix epoch: stores record starts to the millisecond.
fn millis(at: SystemTime) -> i64 {
    let since = at.duration_since(UNIX_EPOCH).expect("after 1970");
    i64::try_from(since.as_millis()).expect("fits")
}

/// Takes `EACH` places in limit `name` of `store`, one after the other, and returns when the
/// store counted each.
async fn calls(store: Arc<dyn CheckpointStore>, name: &str) -> Vec<i64> {
    let limit = RateLimit::shared(store, name, CALLS, PERIOD);
    let mut starts = Vec::with_capacity(EACH);
    for _ in 0..EACH {
        starts.push(millis(limit.acquire().await.expect("takes a place")));
    }
    starts
}

/// No window of `PERIOD` holds more than `CALLS` of `starts`: any `CALLS + 1` consecutive
/// starts span at least a period.
fn assert_within_limit(mut starts: Vec<i64>) {
    starts.sort_unstable();
    let period = i64::try_from(PERIOD.as_millis()).expect("fits");
    let calls = CALLS as usize;
    for (first, last) in starts.iter().zip(starts.iter().skip(calls)) {
        assert!(
            last - first >= period,
            "{} starts within {} ms (from {first} to {last}): {starts:?}",
            calls + 1,
            last - first
        );
    }
}

/// What a child process does: take `EACH` places, twice over (the model and `acquire`), and
/// print their start times. Run directly (no `WORKFLOW_RATE_*`), it does nothing.
#[test]
fn child_process() {
    let Some(target) = Target::from_env() else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let starts = runtime.block_on(async { calls(target.open().await, "provider").await });
    let line: Vec<String> = starts.iter().map(i64::to_string).collect();
    println!("starts: {}", line.join(" "));
}

/// Two child processes share the limit of `target`; returns the starts they recorded.
fn in_two_processes(target: &Target) -> Vec<i64> {
    let spawn = || {
        Command::new(std::env::current_exe().expect("the test binary"))
            .args([
                "--exact",
                "child_process",
                "--nocapture",
                "--test-threads=1",
            ])
            .envs(target.to_env())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("a child process starts")
    };
    let children = [spawn(), spawn()];
    let mut starts = Vec::new();
    for child in children {
        let output = child.wait_with_output().expect("the child ends");
        assert!(output.status.success(), "the child failed");
        let stdout = String::from_utf8(output.stdout).expect("text");
        // After the harness's `test child_process ... `, on the same line.
        let line = stdout
            .lines()
            .find_map(|line| Some(line.split_once("starts: ")?.1));
        let line = line.expect("the child prints its starts");
        starts.extend(line.split(' ').map(|at| at.parse::<i64>().expect("a time")));
    }
    assert_eq!(starts.len(), 2 * EACH, "every start is counted");
    starts
}

/// Two limits on two handles of `target` in this process, taking places at once.
async fn on_two_handles(target: &Target) -> Vec<i64> {
    let (one, two) = (target.open().await, target.open().await);
    let (one, two) = tokio::join!(calls(one, "provider"), calls(two, "provider"));
    [one, two].concat()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_two_handles_keep_to_one_budget() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let target = Target::Sqlite(path(&dir.path().join("limits.db")));
    assert_within_limit(on_two_handles(&target).await);
}

#[test]
fn sqlite_two_processes_keep_to_one_budget() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = path(&dir.path().join("limits.db"));
    // Created before the children start, so that they do not race to create it.
    SqliteStore::open(&path).expect("creates the file");
    assert_within_limit(in_two_processes(&Target::Sqlite(path)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_of_other_names_do_not_count() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Arc::new(SqliteStore::open(dir.path().join("limits.db")).expect("opens"));
    let minute = Duration::from_secs(60);
    for _ in 0..2 {
        let taken = store
            .take_rate_slot("openai", 2, minute)
            .await
            .expect("asks");
        assert!(matches!(taken, RateSlot::Taken { .. }), "{taken:?}");
    }
    let full = store
        .take_rate_slot("openai", 2, minute)
        .await
        .expect("asks");
    assert!(
        matches!(full, RateSlot::Full { retry_in } if retry_in > Duration::ZERO && retry_in <= minute),
        "{full:?}"
    );
    let other = store
        .take_rate_slot("anthropic", 2, minute)
        .await
        .expect("asks");
    assert!(matches!(other, RateSlot::Taken { .. }), "{other:?}");

    // The file keeps the starts: a limit opened on it later finds the window full.
    drop(store);
    let reopened = SqliteStore::open(dir.path().join("limits.db")).expect("opens");
    let full = reopened
        .take_rate_slot("openai", 2, minute)
        .await
        .expect("asks");
    assert!(matches!(full, RateSlot::Full { .. }), "{full:?}");
}

#[tokio::test(start_paused = true)]
async fn in_memory_the_budget_is_the_process_s_on_tokio_s_clock() {
    let store: Arc<dyn CheckpointStore> = Arc::new(MemoryStore::new());
    let start = tokio::time::Instant::now();
    let one = RateLimit::shared(Arc::clone(&store), "openai", 2, Duration::from_secs(60));
    let two = RateLimit::shared(store, "openai", 2, Duration::from_secs(60));
    for limit in [&one, &two, &one, &two, &one] {
        limit.acquire().await.expect("takes a place");
    }
    assert_eq!(start.elapsed(), Duration::from_secs(120));
}

/// A `RateLimited` model waits on the store: a model on a full window does not answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_model_waits_on_the_store() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Arc::new(SqliteStore::open(dir.path().join("limits.db")).expect("opens"));
    let hour = Duration::from_secs(3600);
    let limit = RateLimit::shared(store.clone(), "openai", 1, hour);
    let model = RateLimited::with_limit(Scripted::new().when("", "ok"), limit);
    let answer = model
        .chat(ChatRequest::new().user("hi"))
        .await
        .expect("answers");
    assert_eq!(answer.text, "ok");
    let full = store.take_rate_slot("openai", 1, hour).await.expect("asks");
    assert!(
        matches!(full, RateSlot::Full { .. }),
        "the call took the place: {full:?}"
    );
    // Another handle's model finds no room either: it waits (for the hour), and never answers.
    let other = SqliteStore::open(dir.path().join("limits.db")).expect("opens");
    let limit = RateLimit::shared(Arc::new(other), "openai", 1, hour);
    let model = RateLimited::with_limit(Scripted::new().when("", "ok"), limit);
    tokio::select! {
        answer = model.chat(ChatRequest::new().user("hi")) => panic!("answered: {answer:?}"),
        () = tokio::time::sleep(Duration::from_millis(200)) => {}
    }
}

fn path(path: &Path) -> String {
    path.to_str().expect("a UTF-8 path").to_owned()
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;

    /// A schema of its own on the server of `WORKFLOW_POSTGRES_URL`, if set.
    fn target() -> Option<Target> {
        let url = std::env::var("WORKFLOW_POSTGRES_URL").ok()?;
        let id = workflow_runtime::store::RunId::new();
        let schema = format!("test_{}", id.as_uuid().simple());
        Some(Target::Postgres { url, schema })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_two_handles_keep_to_one_budget() {
        let Some(target) = target() else {
            return;
        };
        assert_within_limit(on_two_handles(&target).await);
    }

    #[test]
    fn postgres_two_processes_keep_to_one_budget() {
        let Some(target) = target() else {
            return;
        };
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        runtime.block_on(target.open());
        assert_within_limit(in_two_processes(&target));
    }
}
