//! The checks of a run that has ended: its output, its history (one line of checkpoints),
//! and each step's executions against what the run's interruptions allow.

use std::time::{Duration, SystemTime};

use serde_json::json;
use workflow::store::{Checkpoint, RunStatus, END};

use crate::effects::Attempt;
use crate::ledger::{Landed, Parent, Tally, Trial};
use crate::ten::{expected, inputs, Ten};

/// The run of `trial` has ended: checks its output and history, and that each step's effect
/// was committed once, or once more per process interrupted during an attempt of it. `ttl`
/// is the children's lease.
pub(crate) fn check(tally: &mut Tally, parent: &Parent, trial: &Trial, ttl: Duration) {
    tally.runs += 1;
    let n = trial.job;
    let output = parent
        .runtime
        .block_on(parent.runner.output::<Ten>(trial.id))
        .expect("reads");
    let status = parent.status(trial.id);
    if output != Some(expected(n)) || status.status != RunStatus::Finished {
        tally.lost += 1;
        tally.problem(format!("job {n}: {:?} with {output:?}", status.status));
    }
    let history = parent.history(trial.id);
    check_history(tally, n, &history);
    let created: Vec<i64> = history.iter().map(|c| millis(c.created_at)).collect();
    let allowed = allowances(tally, parent, trial, &created, ttl);
    check_effects(tally, parent, trial, &allowed);
}

/// Checkpoints 0 to 10, one each, before `s0` … `s9` and at the end, each with the job's
/// value at that point.
fn check_history(tally: &mut Tally, n: u64, history: &[Checkpoint]) {
    let values = inputs(n);
    let seqs: Vec<u64> = history.iter().map(|c| c.seq).collect();
    if seqs != (0..=10).collect::<Vec<u64>>() {
        tally.forks += 1;
        tally.problem(format!("job {n}: checkpoints {seqs:?}"));
    }
    for checkpoint in history {
        let k = checkpoint.seq as usize;
        let (step, state, status) = match values.get(k) {
            Some(&acc) => {
                let step = format!("s{k}");
                let state = json!({ step.as_str(): { "id": n, "acc": acc } });
                (step, state, RunStatus::Running)
            }
            None => (END.into(), json!({ END: expected(n) }), RunStatus::Finished),
        };
        let found: serde_json::Value = serde_json::from_str(&checkpoint.state).unwrap_or_default();
        if checkpoint.step != step || found != state || checkpoint.status != status {
            tally.forks += 1;
            let (seq, at) = (checkpoint.seq, &checkpoint.step);
            tally.problem(format!("job {n}: checkpoint {seq} at {at}: {found}"));
        }
    }
}

/// How many extra executions each step may have: one per attempt of it that was
/// interrupted, that is whose process was killed or stopped in it (as seen at the time), or
/// stalled in it until its lease expired and another process took the step over.
fn allowances(
    tally: &mut Tally,
    parent: &Parent,
    trial: &Trial,
    created: &[i64],
    ttl: Duration,
) -> [u64; 10] {
    let (n, ttl) = (trial.job, ttl.as_millis() as i64);
    // A lease expires `ttl` after it was last renewed. A checkpoint renews it only when less
    // than two thirds of `ttl` are left (as the runner's heartbeat does, every third), so it
    // expires at the earliest two thirds of `ttl` after the checkpoint before the step (saved
    // or claimed under that lease).
    let lasts = ttl - ttl / 3;
    let expiry = |k: u64| {
        created
            .get(k as usize)
            .map_or(i64::MAX, |&at| at + lasts - 1)
    };
    let mut allowed = [0; 10];
    let mut counted: Vec<Attempt> = Vec::new();
    let mut allow = |attempt: Attempt| {
        let new = !counted.contains(&attempt);
        if new {
            counted.push(attempt);
            allowed[attempt.step as usize] += 1;
        }
        new
    };
    for &(pid, at, landed) in &trial.interruptions {
        let attempt = parent.effects.last_attempt(n, pid, at);
        if let (Landed::InStep(_), Some(attempt)) = (landed, attempt) {
            allow(attempt);
        }
    }
    for (pid, at, error) in parent.effects.losses(trial.id) {
        tally.losses += 1;
        let Some(attempt) = parent.effects.last_attempt(n, pid, at) else {
            continue;
        };
        let k = attempt.step;
        if at < expiry(k) {
            tally.problem(format!(
                "job {n}: child {pid} lost its lease in step s{k} before it could expire: {error}"
            ));
        } else if allow(attempt) {
            tally.expired += 1;
        }
    }
    for &(pid, at, landed) in &trial.interruptions {
        let Some(attempt) = parent.effects.last_attempt(n, pid, at) else {
            continue;
        };
        // Killed without the lease, with a step of its own started that another process
        // started again after it, once the lease could have expired: it stalled in that step
        // and the other took the run over. (One that stalled between its claim and taking
        // the time of its attempt, and was killed before it noticed the takeover, would be
        // missed.)
        let since = expiry(attempt.step);
        let stalled = landed == Landed::Idle && parent.effects.taken_over(n, pid, attempt, since);
        if stalled && allow(attempt) {
            tally.expired += 1;
        }
    }
    allowed
}

/// Each step's effect committed at least once, with its input, and again at most as often as
/// `allowed`; attempts likewise.
fn check_effects(tally: &mut Tally, parent: &Parent, trial: &Trial, allowed: &[u64; 10]) {
    let n = trial.job;
    for (k, (attempts, done, right)) in parent.effects.counts(n).into_iter().enumerate() {
        let allowed = allowed[k];
        tally.allowed += allowed;
        tally.again += done.saturating_sub(1);
        if done == 0 {
            tally.lost += 1;
            tally.problem(format!("job {n}: step s{k} has no effect"));
        }
        if done > 1 + allowed || attempts > 1 + allowed || !right {
            tally.doubles += done.saturating_sub(1 + allowed);
            let by = parent.effects.attempts_of(n, k as u64);
            tally.problem(format!(
                "job {n}: step s{k} attempted {attempts} times (pid, ms: {by:?}), its effect \
                 committed {done} times (right values: {right}), {allowed} re-executions \
                 allowed; interruptions (pid, ms, where): {:?}; leases lost: {:?}",
                trial.interruptions,
                parent.effects.losses(trial.id),
            ));
        }
    }
}

fn millis(at: SystemTime) -> i64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as i64)
}
