//! Crash tests: durable runs of a ten-step workflow in child processes that are killed with
//! SIGKILL at random moments and resumed by new ones, and several processes resuming one run
//! at once. Each step commits its side effect under an idempotency key in an SQLite file.
//!
//! The children are this test binary again (`--exact child_process`), told what to do by
//! environment variables. `WORKFLOW_CRASH_RUNS` sets how many runs are killed and resumed
//! (50 by default); `WORKFLOW_CRASH_SEED` replays a sequence of kills.

mod support;
mod ten;

use std::time::{Duration, Instant, SystemTime};

use support::{Child, Rng, Target};
use ten::{expected, job, Effects, Ten};

/// How long a child's lease lasts in the crash test: how long a killed child's run waits for
/// the next child. One child runs at a time, so nobody takes a late renewal over.
const LEASE: Duration = Duration::from_millis(40);

/// How long a child's lease lasts when several run at once.
const SHARED_LEASE: Duration = Duration::from_millis(200);
use workflow::prelude::*;
use workflow::store::RunStatus;

/// What a child process does: resume the run in `WORKFLOW_CRASH_RUN` until it has finished.
/// Run directly (no such variable), it does nothing.
#[test]
fn child_process() {
    support::child_main();
}

#[test]
fn killed_runs_finish_with_each_effect_once() {
    let runs: u64 = support::env("WORKFLOW_CRASH_RUNS").unwrap_or(50);
    let seed = support::env("WORKFLOW_CRASH_SEED").unwrap_or_else(Rng::seed);
    eprintln!("crash test: {runs} runs, WORKFLOW_CRASH_SEED={seed}");
    let mut rng = Rng::new(seed);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let target = Target::sqlite(dir.path().join("crash.db"));
    let runtime = support::runtime();
    let runner = Runner::new(runtime.block_on(target.store()));
    let effects = Effects::open(&target.effects);
    let started = Instant::now();
    let (mut kills_total, mut mid_run, mut again) = (0, 0, 0);
    // How long a child takes to run a whole run, from its start: kills land anywhere in a
    // run, whatever the machine's speed.
    let whole = (900_000..900_003)
        .map(|n| {
            let id = runtime
                .block_on(runner.create::<Ten>(job(n)))
                .expect("created");
            let spawned = Instant::now();
            assert!(Child::spawn(&target, id, LEASE).finishes_within(Duration::from_secs(60)));
            spawned.elapsed()
        })
        .min()
        .expect("three runs");
    eprintln!("crash test: an uninterrupted child takes {whole:?}");
    for n in 0..runs {
        let id = runtime
            .block_on(runner.create::<Ten>(job(n)))
            .expect("created");
        let mut kills = 0;
        loop {
            // The killed child's lease must expire before another child can go on.
            let info = runtime.block_on(runner.status(id)).expect("reads");
            if let Some(left) = info
                .lease_expires
                .and_then(|at| at.duration_since(SystemTime::now()).ok())
            {
                std::thread::sleep(left + Duration::from_millis(1));
            }
            let mut child = Child::spawn(&target, id, LEASE);
            let delay = Duration::from_micros(rng.below(whole.as_micros() as u64));
            if child.finishes_within(delay) {
                break;
            }
            child.kill();
            kills += 1;
            let after = runtime.block_on(runner.status(id)).expect("reads");
            mid_run += u64::from(after.version > info.version && after.version < 10);
            assert!(kills < 100, "run {n} never finished");
        }
        kills_total += kills;
        let output = runtime.block_on(runner.output::<Ten>(id)).expect("reads");
        assert_eq!(output, Some(expected(n)), "run {n}");
        let status = runtime.block_on(runner.status(id)).expect("reads");
        assert_eq!(status.status, RunStatus::Finished);
        again += effects.check_once(n, kills);
    }
    eprintln!(
        "crash test: {runs} runs, {kills_total} kills ({mid_run} after the child's first \
         checkpoint), {again} steps in flight ran again, {:?}",
        started.elapsed()
    );
    assert!(
        mid_run * 2 >= runs,
        "too few kills landed mid-run: {mid_run}"
    );
}

/// Two to eight processes resume one run at once; one of them, killed at a random moment,
/// leaves its lease to expire. Every process sees the same output, and each step ran once
/// (twice at most for the step of the killed owner).
#[test]
fn concurrent_processes_do_not_fork_a_run_on_sqlite() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let target = Target::sqlite(dir.path().join("shared.db"));
    concurrent(&target);
}

#[cfg(feature = "postgres")]
#[test]
fn concurrent_processes_do_not_fork_a_run_on_postgres() {
    let Some(url) = support::postgres_url() else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let target = Target::postgres(url, dir.path().join("effects.db"));
    concurrent(&target);
}

fn concurrent(target: &Target) {
    let seed = support::env("WORKFLOW_CRASH_SEED").unwrap_or_else(Rng::seed);
    let mut rng = Rng::new(seed);
    let runtime = support::runtime();
    let runner = Runner::new(runtime.block_on(target.store()));
    let effects = Effects::open(&target.effects);
    for (n, processes) in (1000..).zip(2..=8) {
        let id = runtime
            .block_on(runner.create::<Ten>(job(n)))
            .expect("created");
        let mut children: Vec<Child> = (0..processes)
            .map(|_| Child::spawn(target, id, SHARED_LEASE))
            .collect();
        let victim = rng.below(processes) as usize;
        std::thread::sleep(Duration::from_micros(rng.below(20_000)));
        let killed = !children[victim].finishes_within(Duration::ZERO);
        if killed {
            children[victim].kill();
        }
        for (index, child) in children.iter_mut().enumerate() {
            if index != victim || !killed {
                assert!(
                    child.finishes_within(Duration::from_secs(60)),
                    "a child hangs"
                );
            }
        }
        let output = runtime.block_on(runner.output::<Ten>(id)).expect("reads");
        assert_eq!(output, Some(expected(n)), "{processes} processes");
        effects.check_once(n, u64::from(killed));
        let history = runtime.block_on(runner.history(id)).expect("reads");
        let seqs: Vec<u64> = history.iter().map(|checkpoint| checkpoint.seq).collect();
        assert_eq!(
            seqs,
            (0..=10).collect::<Vec<_>>(),
            "one line of checkpoints"
        );
    }
}
