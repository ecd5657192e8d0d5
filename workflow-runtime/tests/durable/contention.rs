//! SQLite under contention: several stores (separate connections) on one file, locks held
//! past the busy timeout, and the WAL's size after many checkpoints. Contention never fails a
//! write, and the WAL stays bounded.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use workflow_runtime::store::{
    Cancel, Checkpoint, CheckpointStore, Durability, Lease, SqliteOptions, SqliteStore,
};
use workflow_runtime::{Error, Outcome, RunId, Runner};

use crate::workflows::Chain;

/// The size of the WAL of the database at `path`, sampled every millisecond until dropped: the
/// largest it was.
struct WalWatch {
    largest: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl WalWatch {
    fn new(path: &Path) -> Self {
        let wal = PathBuf::from(format!("{}-wal", path.display()));
        let (largest, stop) = (
            Arc::new(AtomicU64::new(0)),
            Arc::new(AtomicBool::new(false)),
        );
        let thread = std::thread::spawn({
            let (largest, stop) = (Arc::clone(&largest), Arc::clone(&stop));
            move || {
                while !stop.load(Ordering::Relaxed) {
                    let size = std::fs::metadata(&wal).map_or(0, |meta| meta.len());
                    largest.fetch_max(size, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        });
        WalWatch {
            largest,
            stop,
            thread: Some(thread),
        }
    }

    /// The largest size seen, in bytes.
    fn largest(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().expect("no panic");
        }
        self.largest.load(Ordering::Relaxed)
    }
}

/// `runs` runs of `Chain` through `runners` runners, each with its own store (connection) on
/// one file, all at once, while `readers` more stores list runs in a loop. Prints what it
/// measured; returns the runs that did not finish and the largest WAL, in bytes.
async fn many_runs(
    path: &Path,
    options: SqliteOptions,
    runs: u64,
    runners: usize,
    readers: usize,
) -> (usize, u64) {
    let runners: Vec<Runner> = (0..runners)
        .map(|_| {
            Runner::new(Arc::new(
                SqliteStore::open_with(path, options).expect("opens"),
            ))
        })
        .collect();
    let chain = Arc::new(Chain::<1>::default());
    let watch = WalWatch::new(path);
    // Readers on connections of their own, as a console polling the runs would be.
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..readers)
        .map(|_| {
            let store = SqliteStore::open_with(path, options).expect("opens");
            let done = Arc::clone(&done);
            tokio::spawn(async move {
                let filter = workflow_runtime::store::RunFilter::new().limit(20);
                while !done.load(Ordering::Relaxed) {
                    let _ = workflow_runtime::store::CheckpointStore::list(&store, filter.clone())
                        .await;
                }
            })
        })
        .collect();
    let started = Instant::now();
    let tasks: Vec<_> = (0..runs)
        .map(|input| {
            let runner = runners[input as usize % runners.len()].clone();
            let chain = Arc::clone(&chain);
            tokio::spawn(async move { runner.start(&*chain, input).await })
        })
        .collect();
    let mut failed = Vec::new();
    for task in tasks {
        match task.await.expect("no panic") {
            Ok(run) if matches!(run.outcome, Outcome::Finished(_)) => {}
            Ok(run) => failed.push(format!("{:?}", run.outcome)),
            Err(error) => failed.push(format!("not created: {error:?}")),
        }
    }
    let elapsed = started.elapsed();
    done.store(true, Ordering::Relaxed);
    for reader in readers {
        reader.await.expect("no panic");
    }
    let wal = watch.largest();
    let db = std::fs::metadata(path).map_or(0, |meta| meta.len());
    eprintln!(
        "{runs} runs through {} stores: {} failed {:?}, {elapsed:?}, largest WAL {:.1} MiB, \
         database {:.1} MiB",
        runners.len(),
        failed.len(),
        failed.first(),
        wal as f64 / (1 << 20) as f64,
        db as f64 / (1 << 20) as f64,
    );
    (failed.len(), wal)
}

#[tokio::test(flavor = "current_thread")]
async fn a_write_outlasts_a_lock_held_past_the_busy_timeout() {
    for durability in [Durability::Full, Durability::Normal] {
        waits_out_a_lock(durability).await;
    }
}

/// A run resumed while another connection holds the file's write lock waits for it, without
/// blocking the runtime: in `Normal` mode too, where a write that finds the connection free
/// runs on the caller's thread, and goes to the store's thread to wait.
async fn waits_out_a_lock(durability: Durability) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("runs.db");
    let busy = Duration::from_millis(200);
    let options = SqliteOptions::new()
        .busy_timeout(busy)
        .durability(durability);
    let store = SqliteStore::open_with(&path, options);
    let runner = Runner::new(Arc::new(store.expect("opens")));
    let id = runner.create::<Chain>(1).await.expect("created");

    let other = rusqlite::Connection::open(&path).expect("opens");
    other
        .execute_batch("BEGIN IMMEDIATE")
        .expect("takes the write lock");
    let resumed = tokio::spawn({
        let runner = runner.clone();
        async move { runner.resume(&Chain::<1>::default(), id).await }
    });
    // On this one-thread runtime, the run goes until it waits for the lock.
    let started = Instant::now();
    tokio::task::yield_now().await;
    let blocked = started.elapsed();
    assert!(
        blocked < busy / 2,
        "{durability:?}: the runtime was blocked for {blocked:?}"
    );
    tokio::time::sleep(busy * 3).await;
    assert!(
        !resumed.is_finished(),
        "{durability:?}: the run waits for the lock"
    );
    other.execute_batch("COMMIT").expect("lets go");
    let run = resumed.await.expect("no panic").expect("claims");
    assert_eq!(run.into_output().expect("finished"), 27);
}

/// Another store (connection) on the same file that takes a run over, or asks it to stop,
/// between two saves of the first store: the first store's next save sees it, however fast
/// it makes a save that follows its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_connection_s_write_between_saves_is_seen() {
    for durability in [Durability::Normal, Durability::Full] {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("runs.db");
        let options = SqliteOptions::new().durability(durability);
        let open = || Arc::new(SqliteStore::open_with(&path, options).expect("opens"));
        let (first, second) = (open(), open());
        let next = |latest: &Checkpoint, seq| Checkpoint {
            seq,
            created_at: SystemTime::now(),
            ..latest.clone()
        };

        // Taken over by the other connection once the first one's lease expired.
        let short = Lease::new("first", Duration::from_millis(200));
        let (id, latest) = saved_twice(&first, &short, next).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let other = Lease::new("second", Duration::from_secs(30));
        second.claim(id, &other).await.expect("takes the run over");
        match first.save(&short, next(&latest, 3)).await {
            Err(Error::LeaseLost { run }) if run == id => {}
            other => panic!("{durability:?}: a save under a lease taken over: {other:?}"),
        }

        // Asked to stop by the other connection.
        let long = Lease::new("first", Duration::from_secs(30));
        let (id, latest) = saved_twice(&first, &long, next).await;
        let cancel = second.cancel(id).await.expect("cancels");
        assert!(matches!(cancel, Cancel::Requested), "{cancel:?}");
        match first.save(&long, next(&latest, 3)).await {
            Err(Error::RunCancelled { run }) if run == id => {}
            other => panic!("{durability:?}: a save after a cancel request: {other:?}"),
        }
    }
}

/// A run of `Chain` created in `store`, claimed under `lease` and saved twice, its
/// checkpoints made by `next` from the first: its id and that first checkpoint.
async fn saved_twice(
    store: &Arc<SqliteStore>,
    lease: &Lease,
    next: impl Fn(&Checkpoint, u64) -> Checkpoint,
) -> (RunId, Checkpoint) {
    let id = Runner::new(store.clone())
        .create::<Chain>(1)
        .await
        .expect("created");
    let (_, latest) = store.claim(id, lease).await.expect("claims");
    store.save(lease, next(&latest, 1)).await.expect("saves");
    store.save(lease, next(&latest, 2)).await.expect("saves");
    (id, latest)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_stores_on_one_file_fail_no_write() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("runs.db");
    let options = SqliteOptions::new()
        .durability(Durability::Normal)
        .busy_timeout(Duration::from_millis(1));
    let (failed, _) = many_runs(&path, options, 400, 8, 4).await;
    assert_eq!(failed, 0, "contention failed runs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_stays_bounded() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("runs.db");
    let options = SqliteOptions::new().durability(Durability::Normal);
    let (failed, wal) = many_runs(&path, options, 2_000, 16, 4).await;
    assert_eq!(failed, 0);
    let bound = 2 * SqliteOptions::DEFAULT_WAL_LIMIT;
    assert!(wal <= bound, "the WAL grew to {wal} bytes, past {bound}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_wal_limit_holds() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("runs.db");
    let limit = 256 << 10;
    let options = SqliteOptions::new()
        .durability(Durability::Normal)
        .wal_limit(limit);
    let (failed, wal) = many_runs(&path, options, 500, 2, 0).await;
    assert_eq!(failed, 0);
    // Between two looks at its size, a store runs a few dozen queries.
    let bound = limit + (1 << 20);
    assert!(wal <= bound, "the WAL grew to {wal} bytes, past {bound}");
}

/// A reader that keeps its snapshot keeps the WAL from being truncated; writes go on, without
/// waiting for it each time, and once it lets go the WAL is truncated again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_does_not_let_go_stalls_no_write() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("runs.db");
    let limit = 64 << 10;
    let options = SqliteOptions::new()
        .durability(Durability::Normal)
        .wal_limit(limit);
    let store = Arc::new(SqliteStore::open_with(&path, options).expect("opens"));
    let runner = Runner::new(store);
    runner
        .start(&Chain::<1>::default(), 0)
        .await
        .expect("starts");

    let reader = rusqlite::Connection::open(&path).expect("opens");
    reader.execute_batch("BEGIN").expect("begins");
    let count = "SELECT count(*) FROM workflow_runs";
    let runs: i64 = reader
        .query_row(count, [], |row| row.get(0))
        .expect("reads");
    assert_eq!(runs, 1);
    let started = Instant::now();
    for input in 0..300 {
        let run = runner
            .start(&Chain::<1>::default(), input)
            .await
            .expect("starts");
        assert!(run.outcome.output().is_some());
    }
    // Without a pause between truncations that cannot finish, each would keep writers waiting
    // for the reader: the 300 runs would take minutes.
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    let size = || std::fs::metadata(&wal).map_or(0, |meta| meta.len());
    assert!(
        size() > limit,
        "the reader kept the WAL from being truncated"
    );

    reader.execute_batch("COMMIT").expect("lets go");
    drop(reader);
    // Past the longest pause: the next truncation is tried within 2 s.
    let deadline = Instant::now() + Duration::from_secs(15);
    while size() > limit && Instant::now() < deadline {
        runner
            .start(&Chain::<1>::default(), 1)
            .await
            .expect("starts");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        size() <= limit + (1 << 20),
        "truncated again: {} bytes",
        size()
    );
}

/// The scenario of the report: 5,000 concurrent runs through 16 runners on one file. Run
/// with `--ignored --nocapture` to see the numbers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: minutes of disk writes"]
async fn measure_five_thousand_runs_through_sixteen_stores() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("runs.db");
    let (failed, _) = many_runs(&path, SqliteOptions::new(), 5_000, 16, 4).await;
    assert_eq!(failed, 0);
}

/// The same with `synchronous = NORMAL`: checkpoints are faster, so contention is higher.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: minutes of disk writes"]
async fn measure_five_thousand_runs_through_sixteen_stores_normal() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("runs.db");
    let options = SqliteOptions::new().durability(Durability::Normal);
    let (failed, _) = many_runs(&path, options, 5_000, 16, 4).await;
    assert_eq!(failed, 0);
}
