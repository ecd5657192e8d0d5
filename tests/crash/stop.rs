//! An owner stopped with SIGSTOP in the middle of a slow step, until its lease expires and
//! another process has taken the run over and finished it; then woken with SIGCONT.

use std::time::{Duration, Instant};

use crate::check::check;
use crate::effects::Attempt;
use crate::ledger::{Landed, Parent, Tally, Trial};
use crate::support::{env, Child, Rng, Target};

/// The children's lease: shorter than the slow step, which renews it while it runs.
const LEASE: Duration = Duration::from_millis(150);

/// How long the slow step takes: far longer than the moment it is stopped at (below
/// [`STOP_WITHIN`] after it started), so that a busy machine still stops it in that step.
const SLOW: Duration = Duration::from_millis(1_000);

/// The child is stopped at a random moment this long at most after its slow step started.
const STOP_WITHIN: Duration = Duration::from_millis(200);

/// `WORKFLOW_CRASH_STOPS` trials (5 by default) on `target`: a child is stopped in its slow
/// step (a random one, at a random moment); once its lease has expired, a second child
/// resumes the run and must finish it; then the first wakes up. Its late writes must be
/// rejected, the history must not change, and only the step it was stopped in may have run
/// twice.
pub(crate) fn stopped_owner(target: &Target, name: &str) {
    let trials: u64 = env("WORKFLOW_CRASH_STOPS").unwrap_or(5);
    let seed = env("WORKFLOW_CRASH_SEED").unwrap_or_else(Rng::seed);
    eprintln!("{name}: {trials} trials, WORKFLOW_CRASH_SEED={seed}");
    let mut rng = Rng::new(seed);
    let parent = Parent::new(target);
    let (mut tally, started) = (Tally::default(), Instant::now());
    for n in 2000..2000 + trials {
        let k = rng.below(10);
        let mut trial = Trial::create(&parent, n);
        let mut first = Child::spawn_slow(target, trial.id, LEASE, Some((k, SLOW)));
        wait_for_attempt(&parent, &mut first, n, k);
        std::thread::sleep(Duration::from_micros(
            rng.below(STOP_WITHIN.as_micros() as u64),
        ));
        stop(target, &first);
        let landed = trial.interrupted(&mut tally, &parent, first.pid());
        assert_eq!(
            landed,
            Landed::InStep(k),
            "job {n}: stopped in its slow step"
        );
        parent.wait_lease_out(trial.id);
        let mut second = Child::spawn(target, trial.id, LEASE);
        assert!(
            second.finishes_within(Duration::from_secs(60)),
            "job {n}: the second child takes the run over and finishes it"
        );
        let before = parent.history(trial.id);
        first.signal("CONT");
        assert!(first.finishes_within(Duration::from_secs(60)), "job {n}");
        let rejected = parent.effects.losses(trial.id);
        assert!(
            matches!(&rejected[..], [(pid, _, _)] if *pid == first.pid()),
            "job {n}: the woken child's late writes are rejected once: {rejected:?}"
        );
        assert_eq!(
            parent.history(trial.id),
            before,
            "job {n}: the woken child wrote no checkpoint"
        );
        check(&mut tally, &parent, &trial, LEASE);
    }
    tally.finish(name, started);
}

/// Waits until `child` has started step `k` of job `n`.
fn wait_for_attempt(parent: &Parent, child: &mut Child, n: u64, k: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let step = |attempt: Attempt| attempt.step;
    while parent
        .effects
        .last_attempt(n, child.pid(), i64::MAX)
        .map(step)
        != Some(k)
    {
        assert!(
            !child.finishes_within(Duration::ZERO),
            "job {n}: the child ended before s{k}"
        );
        assert!(
            Instant::now() < deadline,
            "job {n}: the child never started s{k}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Stops `child` at a moment it holds no SQLite write lock: a process stopped while it
/// holds one stops every other writer of the file, whatever the leases say.
fn stop(target: &Target, child: &Child) {
    loop {
        child.signal("STOP");
        while !stopped(child.pid()) {
            std::thread::sleep(Duration::from_micros(100));
        }
        if target.unlocked() {
            return;
        }
        child.signal("CONT");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Whether process `pid` is stopped (state `T` in `/proc/PID/stat`).
fn stopped(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The state follows the command name, which is in parentheses.
    let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start());
    state.is_some_and(|rest| rest.starts_with('T'))
}
