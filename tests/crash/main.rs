//! Crash tests: durable runs of a ten-step workflow in child processes that are killed with
//! SIGKILL at random moments and resumed by new ones, stopped with SIGSTOP until another
//! process takes their run over, or many at once on one run. Each step records its attempt
//! (with the process's pid) before committing its side effect, one row per execution, in an
//! SQLite file; after each run, the parent checks its history, its output, and that each
//! step's effect was committed once, or once more for each kill or stop that landed during an
//! attempt of that step (or lease that expired during one).
//!
//! The children are this test binary again (`--exact child_process`), told what to do by
//! environment variables. `WORKFLOW_CRASH_RUNS` (50), `WORKFLOW_CRASH_STOPS` (5),
//! `WORKFLOW_CRASH_TRIALS` (100) and `WORKFLOW_CRASH_PROCESSES` (16) set the sizes;
//! `WORKFLOW_CRASH_SEED` replays a sequence of kills. `RELIABILITY.md` has the figures.

mod check;
mod concurrent;
mod effects;
mod kill;
mod ledger;
#[path = "../support/postgres.rs"]
mod postgres_server;
mod stop;
mod support;
mod ten;

use support::Target;

/// What a child process does: resume the run in `WORKFLOW_CRASH_RUN` until it has finished.
/// Run directly (no such variable), it does nothing.
#[test]
fn child_process() {
    support::child_main();
}

#[test]
fn killed_runs_finish_with_each_effect_once_on_sqlite() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let target = Target::sqlite(dir.path().join("crash.db"));
    kill::killed_runs(&target, "kill/sqlite");
}

#[cfg(feature = "postgres")]
#[test]
fn killed_runs_finish_with_each_effect_once_on_postgres() {
    let Some(target) = postgres() else {
        return;
    };
    kill::killed_runs(&target.1, "kill/postgres");
}

#[test]
fn a_stopped_owner_loses_its_run_on_sqlite() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let target = Target::sqlite(dir.path().join("stop.db"));
    stop::stopped_owner(&target, "stop/sqlite");
}

#[cfg(feature = "postgres")]
#[test]
fn a_stopped_owner_loses_its_run_on_postgres() {
    let Some(target) = postgres() else {
        return;
    };
    stop::stopped_owner(&target.1, "stop/postgres");
}

#[test]
fn concurrent_processes_do_not_fork_a_run_on_sqlite() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let target = Target::sqlite(dir.path().join("shared.db"));
    concurrent::concurrent(&target, "concurrent/sqlite");
}

#[cfg(feature = "postgres")]
#[test]
fn concurrent_processes_do_not_fork_a_run_on_postgres() {
    let Some(target) = postgres() else {
        return;
    };
    concurrent::concurrent(&target.1, "concurrent/postgres");
}

/// Runs in a new schema of the Postgres server, effects in a temporary directory (kept as
/// long as the target), if there is a server (see `postgres_server::url`).
#[cfg(feature = "postgres")]
fn postgres() -> Option<(tempfile::TempDir, Target)> {
    let url = postgres_server::url()?;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let target = Target::postgres(url, dir.path().join("effects.db"));
    Some((dir, target))
}
