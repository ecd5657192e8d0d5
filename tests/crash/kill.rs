//! Killed runs: one child at a time resumes a run and is killed with SIGKILL at a random
//! moment, until a child finishes it.

use std::time::{Duration, Instant};

use crate::check::check;
use crate::ledger::{Parent, Tally, Trial};
use crate::support::{env, Child, Rng, Target};
use crate::ten::now_millis;

/// How long a child's lease lasts: how long a killed child's run waits for the next child.
/// One child runs at a time, so nobody takes a late renewal over.
const LEASE: Duration = Duration::from_millis(40);

/// `WORKFLOW_CRASH_RUNS` runs (50 by default, more if too few kills land in a step) on
/// `target`, each killed at random moments until a child finishes it. A kill lets the step
/// it landed in run once more; no other step may.
pub(crate) fn killed_runs(target: &Target, name: &str) {
    let runs: u64 = env("WORKFLOW_CRASH_RUNS").unwrap_or(50);
    let seed = env("WORKFLOW_CRASH_SEED").unwrap_or_else(Rng::seed);
    eprintln!("{name}: {runs} runs, WORKFLOW_CRASH_SEED={seed}");
    let mut rng = Rng::new(seed);
    let parent = Parent::new(target);
    let (mut tally, started) = (Tally::default(), Instant::now());
    // How long a child takes to run a whole run, and to reach its first step, from its
    // start: kills land anywhere in a run, whatever the machine's speed, and most of them
    // after the child's start-up (a process, a connection), where the steps are.
    let (whole, startup) = (900_000..900_003)
        .map(|n| {
            let trial = Trial::create(&parent, n);
            let (spawned, at) = (Instant::now(), now_millis());
            assert!(Child::spawn(target, trial.id, LEASE).finishes_within(Duration::from_secs(60)));
            let took = spawned.elapsed();
            let first = parent
                .effects
                .attempts_of(n, 0)
                .first()
                .map(|&(_, first)| first);
            let startup =
                Duration::from_millis(first.map_or(0, |first| (first - at).max(0) as u64));
            check(&mut tally, &parent, &trial, LEASE);
            (took, startup.min(took))
        })
        .min()
        .expect("three runs");
    eprintln!("{name}: an uninterrupted child takes {whole:?}, {startup:?} of it to start");
    // Kills land from half-way through the start-up to the run's end.
    let (from, span) = (startup / 2, whole - startup / 2);
    // `runs` runs, then more (up to four times as many) until kills have landed in a step
    // at least half as many times as there are runs: on a slow machine, most of a child's
    // time is its start-up, and a kill there tests less.
    let enough = |tally: &Tally| tally.in_step * 2 >= runs;
    for n in 0..runs * 4 {
        if n >= runs && enough(&tally) {
            break;
        }
        let mut trial = Trial::create(&parent, n);
        for kills in 0.. {
            assert!(kills < 100, "run {n} never finished");
            let mut child = Child::spawn(target, trial.id, LEASE);
            let delay = from + Duration::from_micros(rng.below(span.as_micros() as u64));
            if child.finishes_within(delay) {
                break;
            }
            child.kill();
            // The killed child's lease must expire before another child can go on; by then,
            // any write it had sent has landed (a Postgres server finishes a statement whose
            // client died).
            parent.wait_lease_out(trial.id);
            trial.interrupted(&mut tally, &parent, child.pid());
        }
        check(&mut tally, &parent, &trial, LEASE);
    }
    tally.finish(name, started);
    assert!(
        enough(&tally),
        "too few kills landed in a step: {} in {} runs",
        tally.in_step,
        tally.runs
    );
}
