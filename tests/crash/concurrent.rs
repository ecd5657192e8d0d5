//! Many processes resuming one run at once; in half of the trials, the one holding the run's
//! lease is killed at a random moment, and the others must take the run over.

use std::time::{Duration, Instant};

use crate::check::check;
use crate::ledger::{Parent, Tally, Trial};
use crate::support::{env, Child, Rng, Target};

/// How long a child's lease lasts: how long the others wait after its holder is killed.
const LEASE: Duration = Duration::from_millis(100);

/// `WORKFLOW_CRASH_TRIALS` trials (100 by default) on `target`, each of
/// `WORKFLOW_CRASH_PROCESSES` processes (16 by default) resuming one run at once. Every run
/// finishes with one line of checkpoints, and each step's effect committed once, or once
/// more where a kill or an expired lease interrupted it.
pub(crate) fn concurrent(target: &Target, name: &str) {
    let trials: u64 = env("WORKFLOW_CRASH_TRIALS").unwrap_or(100);
    let processes: usize = env("WORKFLOW_CRASH_PROCESSES").unwrap_or(16);
    let seed = env("WORKFLOW_CRASH_SEED").unwrap_or_else(Rng::seed);
    eprintln!("{name}: {trials} trials of {processes} processes, WORKFLOW_CRASH_SEED={seed}");
    let mut rng = Rng::new(seed);
    let parent = Parent::new(target);
    let (mut tally, started) = (Tally::default(), Instant::now());
    // How long a trial takes without a kill: kills land anywhere in one.
    let mut whole = Duration::ZERO;
    for n in 1000..1000 + trials {
        let mut trial = Trial::create(&parent, n);
        let spawned = Instant::now();
        let mut children: Vec<Child> = (0..processes)
            .map(|_| Child::spawn(target, trial.id, LEASE))
            .collect();
        let mut victim = None;
        if whole > Duration::ZERO && rng.below(2) == 0 {
            std::thread::sleep(Duration::from_micros(rng.below(whole.as_micros() as u64)));
            let index = holder(&parent, &trial, &children)
                .unwrap_or_else(|| rng.below(processes as u64) as usize);
            children[index].kill();
            // A write it had sent lands first (a Postgres server finishes a statement whose
            // client died), well before its lease can expire.
            std::thread::sleep(LEASE / 5);
            trial.interrupted(&mut tally, &parent, children[index].pid());
            victim = Some(index);
        }
        for (index, child) in children.iter_mut().enumerate() {
            if Some(index) != victim {
                let finished = child.finishes_within(Duration::from_secs(60));
                assert!(finished, "job {n}: a child hangs");
            }
        }
        if victim.is_none() {
            whole = spawned.elapsed();
        }
        check(&mut tally, &parent, &trial, LEASE);
    }
    tally.finish(name, started);
}

/// The child holding the run's lease, if one does.
fn holder(parent: &Parent, trial: &Trial, children: &[Child]) -> Option<usize> {
    let owner = parent.status(trial.id).owner?;
    children
        .iter()
        .position(|child| owner == format!("child {}", child.pid()))
}
