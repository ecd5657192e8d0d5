//! What the parent keeps of each run: where kills and stops landed, and the figures of a test.

use std::time::{Duration, Instant, SystemTime};

use workflow::prelude::*;
use workflow::store::{Checkpoint, RunInfo, RunStatus};
use workflow::RunId;

use crate::effects::Effects;
use crate::support::{self, Target};
use crate::ten::{job, now_millis, Ten};

/// The parent's view of the runs and effects of one target.
pub(crate) struct Parent {
    pub(crate) runtime: tokio::runtime::Runtime,
    pub(crate) runner: Runner,
    pub(crate) effects: Effects,
}

impl Parent {
    pub(crate) fn new(target: &Target) -> Self {
        let runtime = support::runtime();
        let runner = Runner::new(runtime.block_on(target.store()));
        let effects = Effects::open(&target.effects);
        Parent {
            runtime,
            runner,
            effects,
        }
    }

    pub(crate) fn status(&self, run: RunId) -> RunInfo {
        self.runtime
            .block_on(self.runner.status(run))
            .expect("reads")
    }

    pub(crate) fn history(&self, run: RunId) -> Vec<Checkpoint> {
        self.runtime
            .block_on(self.runner.history(run))
            .expect("reads")
    }

    /// Waits until run `run`'s lease, if any, has expired.
    pub(crate) fn wait_lease_out(&self, run: RunId) {
        let expires = self.status(run).lease_expires;
        if let Some(left) = expires.and_then(|at| at.duration_since(SystemTime::now()).ok()) {
            std::thread::sleep(left + Duration::from_millis(1));
        }
    }
}

/// Where a kill (or a stop) of a child landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Landed {
    /// In no step it held the lease for: before its first, while it waited for the lease,
    /// or after the run ended.
    Idle,
    /// Holding the lease, between a step's checkpoint and the next step's start.
    Between,
    /// During an attempt of step `k`: it had started, and its checkpoint was not written.
    InStep(u64),
}

/// One run of the ten-step workflow, and its interruptions.
pub(crate) struct Trial {
    pub(crate) job: u64,
    pub(crate) id: RunId,
    /// Each child killed or stopped: its pid, when, and where it landed.
    pub(crate) interruptions: Vec<(u32, i64, Landed)>,
}

impl Trial {
    /// Creates the run of job `n`.
    pub(crate) fn create(parent: &Parent, n: u64) -> Self {
        let id = parent
            .runtime
            .block_on(parent.runner.create::<Ten>(job(n)))
            .expect("created");
        Trial {
            job: n,
            id,
            interruptions: Vec::new(),
        }
    }

    /// Notes where the kill or stop of child `pid`, which can no longer write, landed: in
    /// step `k` when its last attempt is of `k`, and the run's latest checkpoint, under its
    /// lease, is still the one before `k`.
    pub(crate) fn interrupted(&mut self, tally: &mut Tally, parent: &Parent, pid: u32) -> Landed {
        let at = now_millis();
        let info = parent.status(self.id);
        let holds = info.owner.as_deref() == Some(&*format!("child {pid}"));
        let last = parent.effects.last_attempt(self.job, pid, i64::MAX);
        let landed = match last.map(|attempt| attempt.step) {
            Some(k) if holds && info.version == k => Landed::InStep(k),
            _ if holds && info.status == RunStatus::Running => Landed::Between,
            _ => Landed::Idle,
        };
        tally.interruptions += 1;
        match landed {
            Landed::InStep(_) => tally.in_step += 1,
            Landed::Between => tally.between += 1,
            Landed::Idle => tally.idle += 1,
        }
        self.interruptions.push((pid, at, landed));
        landed
    }
}

/// The figures of a test, and what went wrong.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub(crate) runs: u64,
    /// Kills or stops, and where they landed.
    pub(crate) interruptions: u64,
    pub(crate) in_step: u64,
    pub(crate) between: u64,
    pub(crate) idle: u64,
    /// Leases children reported lost.
    pub(crate) losses: u64,
    /// Steps of a stalled process whose lease expired, which another took over.
    pub(crate) expired: u64,
    /// Extra executions of a step's effect allowed, observed, and observed beyond allowed.
    pub(crate) allowed: u64,
    pub(crate) again: u64,
    pub(crate) doubles: u64,
    /// Checkpoints off the run's one line (duplicate, missing or wrong), and runs that did
    /// not finish with every step's effect.
    pub(crate) forks: u64,
    pub(crate) lost: u64,
    pub(crate) problems: Vec<String>,
}

impl Tally {
    pub(crate) fn problem(&mut self, problem: String) {
        self.problems.push(problem);
    }

    /// Prints the figures of test `name`, started at `started`, and fails it if anything
    /// went wrong.
    pub(crate) fn finish(&self, name: &str, started: Instant) {
        eprintln!(
            "{name}: {} runs, {} interruptions ({} in a step, {} between steps, {} idle), \
             {} leases lost, {} steps taken over after a stall, re-executions {} observed / \
             {} allowed, {} beyond allowed, {} forks, {} lost checkpoints, {:.1?}",
            self.runs,
            self.interruptions,
            self.in_step,
            self.between,
            self.idle,
            self.losses,
            self.expired,
            self.again,
            self.allowed,
            self.doubles,
            self.forks,
            self.lost,
            started.elapsed(),
        );
        let shown: Vec<&String> = self.problems.iter().take(10).collect();
        assert!(
            self.problems.is_empty(),
            "{name}: {} problems, the first: {shown:#?}",
            self.problems.len()
        );
    }
}
