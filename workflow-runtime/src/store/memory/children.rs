//! The child runs a [`MemoryStore`](super::MemoryStore) keeps: written with their parent's
//! checkpoints, ended with their parent, deleted with it.

use std::collections::HashSet;
use std::time::SystemTime;

use super::runs::{Entry, Runs};
use crate::store::{ChildRecord, RunId, RunInfo, RunStatus};

/// Saves `child`, the step a child run of run `parent` took, at `now`: creates the child's run
/// on its first step, appends its checkpoint, and sets its status and step.
pub(super) fn save(runs: &mut Runs, parent: RunId, child: ChildRecord, now: SystemTime) {
    let ChildRecord {
        parent_step,
        started,
        mut checkpoint,
    } = child;
    match runs.get_mut(checkpoint.run) {
        Some(entry) => {
            checkpoint.seq = entry.info.version.wrapping_add(1);
            let info = &mut entry.info;
            info.version = checkpoint.seq;
            info.status = checkpoint.status;
            info.step.clone_from(&checkpoint.step);
            info.error = None;
            info.updated_at = now;
            entry.checkpoints.push_back(checkpoint);
        }
        None => {
            checkpoint.seq = 0;
            let mut info = RunInfo::created(&checkpoint, Some((parent, started)));
            info.parent_step = Some(parent_step);
            let mut entry = Entry::new(info);
            entry.checkpoints.push_back(checkpoint);
            runs.insert(entry);
        }
    }
}

/// Ends the child runs of run `parent` still in flight (running, or waiting at a pause) as
/// `status`, with `error`, at `now`: their parent failed or was cancelled.
pub(super) fn end(runs: &mut Runs, parent: RunId, status: RunStatus, error: &str, now: SystemTime) {
    runs.each_mut(|entry| {
        let info = &mut entry.info;
        let in_flight = matches!(info.status, RunStatus::Running | RunStatus::Suspended);
        if in_flight && is_child_of(info, parent) {
            info.status = status;
            info.error = Some(error.to_owned());
            info.updated_at = now;
        }
    });
}

/// Sets the child runs of run `parent` that are `from` to `to`, at `now`: a child in flight
/// waits, or goes on, with its parent.
pub(super) fn follow(
    runs: &mut Runs,
    parent: RunId,
    (from, to): (RunStatus, RunStatus),
    now: SystemTime,
) {
    runs.each_mut(|entry| {
        let info = &mut entry.info;
        if info.status == from && is_child_of(info, parent) {
            info.status = to;
            info.updated_at = now;
        }
    });
}

/// Whether `info` is a child run of run `parent`.
pub(super) fn is_child_of(info: &RunInfo, parent: RunId) -> bool {
    info.parent_step.is_some() && info.parent.is_some_and(|(id, _)| id == parent)
}

/// Deletes the runs `delete` picks among those that are not child runs, with their child
/// runs; returns how many runs it deleted.
pub(super) fn delete(runs: &mut Runs, mut delete: impl FnMut(&Entry) -> bool) -> usize {
    let mut parents = HashSet::new();
    runs.each_mut(|entry| {
        if entry.info.parent_step.is_none() && delete(entry) {
            parents.insert(entry.info.id);
        }
    });
    runs.delete(|entry| {
        let info = &entry.info;
        match (&info.parent_step, info.parent) {
            (Some(_), Some((parent, _))) => parents.contains(&parent),
            _ => parents.contains(&info.id),
        }
    })
}
