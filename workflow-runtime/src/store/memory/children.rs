//! The child runs a [`MemoryStore`](super::MemoryStore) keeps: written with their parent's
//! checkpoints, ended with their parent, deleted with it.

use std::collections::HashSet;
use std::time::SystemTime;

use super::runs::{Entry, Runs};
use crate::store::{Checkpoint, ChildRecord, RunId, RunInfo, RunStatus};

/// Saves `child`, the step a child run of run `parent` took, at `now`: creates the child's run
/// on its first step (its checkpoint numbered as the record says), appends its checkpoint,
/// and sets its status and step; then, the same way, the step its own child run took, if its
/// checkpoint carries one (at any depth).
pub(super) fn save(runs: &mut Runs, parent: RunId, child: ChildRecord, now: SystemTime) {
    write(runs, parent, child, &mut |entry, mut checkpoint| {
        checkpoint.seq = entry.info.version.wrapping_add(1);
        entry.push(checkpoint, now);
    });
}

/// Creates the rows of `child`, a child run of run `parent` in flight, and of its own child
/// in flight at any depth, that have none: each with its checkpoint as its record says.
pub(super) fn create(runs: &mut Runs, parent: RunId, child: ChildRecord) {
    write(runs, parent, child, &mut |_, _| {});
}

/// Writes the chain of `child`, a child run of run `parent`, from the top: a run without a
/// row gets one ([`insert`]); `existing` takes the checkpoint of a run that has one.
fn write(
    runs: &mut Runs,
    parent: RunId,
    child: ChildRecord,
    existing: &mut dyn FnMut(&mut Entry, Checkpoint),
) {
    let ChildRecord {
        parent_step,
        started,
        mut checkpoint,
    } = child;
    let (run, grandchild) = (checkpoint.run, checkpoint.child.take());
    match runs.get_mut(run) {
        Some(entry) => existing(entry, checkpoint),
        None => insert(runs, (parent, started, parent_step), checkpoint),
    }
    if let Some(grandchild) = grandchild {
        write(runs, run, *grandchild, existing);
    }
}

/// The row of a child run of `parent`, started from its checkpoint `started` at its step
/// `parent_step`, with `first`, its first checkpoint, numbered as the run counts it.
fn insert(
    runs: &mut Runs,
    (parent, started, parent_step): (RunId, u64, String),
    first: Checkpoint,
) {
    let mut info = RunInfo::created(&first, Some((parent, started)));
    info.parent_step = Some(parent_step);
    let mut entry = Entry::new(info);
    entry.checkpoints.push_back(first);
    runs.insert(entry);
}

/// Ends the child runs of run `parent` still in flight (running, or waiting at a pause), and
/// theirs at any depth, as `status`, with `error`, at `now`: their parent failed or was
/// cancelled.
pub(super) fn end(runs: &mut Runs, parent: RunId, status: RunStatus, error: &str, now: SystemTime) {
    let tree = descendants(runs, parent);
    if tree.is_empty() {
        return;
    }
    runs.each_mut(|entry| {
        let info = &mut entry.info;
        let in_flight = matches!(info.status, RunStatus::Running | RunStatus::Suspended);
        if in_flight && tree.contains(&info.id) {
            info.status = status;
            info.error = Some(error.to_owned());
            info.updated_at = now;
        }
    });
}

/// Sets the child runs of run `parent` that are `from` to `to`, and theirs at any depth, at
/// `now`: a child in flight waits, or goes on, with its parent.
pub(super) fn follow(
    runs: &mut Runs,
    parent: RunId,
    (from, to): (RunStatus, RunStatus),
    now: SystemTime,
) {
    let tree = descendants(runs, parent);
    if tree.is_empty() {
        return;
    }
    runs.each_mut(|entry| {
        let info = &mut entry.info;
        if info.status == from && tree.contains(&info.id) {
            info.status = to;
            info.updated_at = now;
        }
    });
}

/// The child runs of run `parent`, theirs, and so on: the ids of its tree of child runs,
/// without `parent` itself.
fn descendants(runs: &mut Runs, parent: RunId) -> HashSet<RunId> {
    let mut tree = HashSet::new();
    let mut found = HashSet::from([parent]);
    // Each pass finds one more level; a run has no child runs in the common case.
    while !found.is_empty() {
        let mut next = HashSet::new();
        runs.each_mut(|entry| {
            let info = &entry.info;
            let parent = info.parent.map(|(id, _)| id);
            if info.parent_step.is_some() && parent.is_some_and(|id| found.contains(&id)) {
                next.insert(info.id);
            }
        });
        next.retain(|id| tree.insert(*id));
        found = next;
    }
    tree
}

/// Deletes the runs `delete` picks among those that are not child runs, with their child
/// runs at any depth; returns how many runs it deleted.
pub(super) fn delete(runs: &mut Runs, mut delete: impl FnMut(&Entry) -> bool) -> usize {
    let mut parents = HashSet::new();
    runs.each_mut(|entry| {
        if entry.info.parent_step.is_none() && delete(entry) {
            parents.insert(entry.info.id);
        }
    });
    let roots: Vec<RunId> = parents.iter().copied().collect();
    for root in roots {
        let tree = descendants(runs, root);
        parents.extend(tree);
    }
    runs.delete(|entry| parents.contains(&entry.info.id))
}
