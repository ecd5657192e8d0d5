//! Child runs in SQLite: written with their parent's checkpoints, in the same transaction;
//! ended with their parent; deleted with it. A child run's own child runs are saved, ended and
//! deleted the same way, with the top parent's writes, at any depth.

use rusqlite::{params, Connection, OptionalExtension};

use super::id::Id;
use super::rows::store;
use super::sql::insert_checkpoint;
use crate::error::Error;
use crate::store::time::from_millis;
use crate::store::{Checkpoint, ChildRecord, RunId, RunStatus};

/// The child runs of run `?1`, theirs, and so on, as the table `tree (id)`: the common table
/// expression of a statement on a run's whole tree of child runs.
const TREE: &str = "WITH RECURSIVE tree (id) AS (\
     SELECT id FROM workflow_runs WHERE parent = ?1 AND parent_step IS NOT NULL \
     UNION ALL SELECT r.id FROM workflow_runs AS r JOIN tree ON r.parent = tree.id \
     AND r.parent_step IS NOT NULL)";

/// Saves `child`, the step a child run of run `parent` took, in `tx`: creates the child's run
/// on its first step (its checkpoint numbered as the record says), else counts one more
/// checkpoint on it, and sets its status and step; then appends its checkpoint; then saves
/// the same way the step its own child run took, if its checkpoint carries one (at any
/// depth).
pub(super) fn save(
    tx: &Connection,
    parent: RunId,
    child: &ChildRecord,
    now: i64,
) -> Result<(), Error> {
    let first = &child.checkpoint;
    let seq = match step(tx, first, now)? {
        Some(seq) => seq,
        None => upsert(tx, parent, child, now)?,
    };
    let checkpoint = Checkpoint {
        seq: u64::try_from(seq).unwrap_or(0),
        created_at: from_millis(now),
        child: None,
        ..first.clone()
    };
    insert_checkpoint(tx, &checkpoint, None, None)?;
    match &first.child {
        Some(grandchild) => save(tx, first.run, grandchild, now),
        None => Ok(()),
    }
}

/// One more checkpoint on the row of a child run whose status stays as it is (the common
/// case: a running child takes a step), touching no indexed column, so that no index of the
/// runs is rewritten: its number, or `None` if the row is not there or its status changes.
fn step(tx: &Connection, first: &Checkpoint, now: i64) -> Result<Option<i64>, Error> {
    tx.prepare_cached(
        "UPDATE workflow_runs SET version = version + 1, step = ?2, updated_at = ?3 \
         WHERE id = ?1 AND status = ?4 AND error IS NULL RETURNING version",
    )
    .and_then(|mut stmt| {
        let params = params![Id::run(first.run), first.step, now, first.status.as_str()];
        let mut rows = stmt.query(params)?;
        rows.next()?.map(|row| row.get(0)).transpose()
    })
    .map_err(store)
}

/// Creates the row of child run `child` of run `parent` (its first checkpoint numbered as
/// the record says: 0, unless the run counts on from a run it was forked from), or counts
/// one more checkpoint on it and sets its status and step: the number of its checkpoint.
fn upsert(tx: &Connection, parent: RunId, child: &ChildRecord, now: i64) -> Result<i64, Error> {
    const COUNTED: &str = insert_row!(
        "DO UPDATE SET version = version + 1, status = excluded.status, step = excluded.step, \
         error = NULL, updated_at = excluded.updated_at"
    );
    let seq = insert(tx, COUNTED, parent, child, now)?;
    // An update returns the row's version too.
    seq.ok_or_else(|| Error::other("a child run's row was neither created nor updated"))
}

/// Creates the rows of `child`, a child run of run `parent` in flight, and of its own child
/// in flight at any depth, that have none, in `tx`: each with its checkpoint as its record
/// says. A row that exists is left as it is.
pub(super) fn create(
    tx: &Connection,
    parent: RunId,
    child: &ChildRecord,
    now: i64,
) -> Result<(), Error> {
    let first = &child.checkpoint;
    const CREATED: &str = insert_row!("DO NOTHING");
    if insert(tx, CREATED, parent, child, now)?.is_some() {
        // As its record says (the chain below it is not part of the checkpoint's row).
        insert_checkpoint(tx, first, None, None)?;
    }
    match &first.child {
        Some(grandchild) => create(tx, first.run, grandchild, now),
        None => Ok(()),
    }
}

/// The statement of [`insert`] that does `$conflict` (`DO ...`) if the row exists.
macro_rules! insert_row {
    ($conflict:literal) => {
        concat!(
            "INSERT INTO workflow_runs (id, workflow, fingerprint, status, step, version, \
             parent, parent_seq, parent_step, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?10, ?6, ?7, ?8, ?9, ?9) ON CONFLICT (id) ",
            $conflict,
            " RETURNING version"
        )
    };
}
use insert_row;

/// Inserts the row of child run `child` of run `parent`, its version the number of its
/// record's checkpoint, with `sql` ([`insert_row`]), which says what to do if it exists:
/// the version of the row written, if one was.
fn insert(
    tx: &Connection,
    sql: &str,
    parent: RunId,
    child: &ChildRecord,
    now: i64,
) -> Result<Option<i64>, Error> {
    let first = &child.checkpoint;
    tx.prepare_cached(sql)
        .and_then(|mut stmt| {
            stmt.query_row(
                params![
                    Id::run(first.run),
                    first.workflow,
                    first.fingerprint as i64,
                    first.status.as_str(),
                    first.step,
                    Id::run(parent),
                    i64::try_from(child.started).unwrap_or(i64::MAX),
                    child.parent_step,
                    now,
                    i64::try_from(first.seq).unwrap_or(i64::MAX),
                ],
                |row| row.get(0),
            )
            .optional()
        })
        .map_err(store)
}

/// Ends the child runs of run `parent` still in flight (running, or waiting at a pause), and
/// theirs at any depth, as the parent ended, if it failed or was cancelled: same status, same
/// error.
pub(super) fn end(tx: &Connection, parent: RunId, now: i64) -> Result<(), Error> {
    tx.prepare_cached(&format!(
        "{TREE} UPDATE workflow_runs SET status = p.status, error = p.error, updated_at = ?2 \
         FROM (SELECT status, error FROM workflow_runs WHERE id = ?1) AS p \
         WHERE workflow_runs.id IN (SELECT id FROM tree) \
         AND workflow_runs.status IN ('running', 'suspended') \
         AND p.status IN ('failed', 'cancelled')"
    ))
    .and_then(|mut stmt| stmt.execute(params![Id::run(parent), now]))
    .map(drop)
    .map_err(store)
}

/// Sets the child runs of run `parent` that are `from` to `to`, and theirs at any depth: a
/// child in flight waits, or goes on, with its parent.
pub(super) fn follow(
    tx: &Connection,
    parent: RunId,
    (from, to): (RunStatus, RunStatus),
    now: i64,
) -> Result<(), Error> {
    tx.prepare_cached(&format!(
        "{TREE} UPDATE workflow_runs SET status = ?3, updated_at = ?4 \
         WHERE id IN (SELECT id FROM tree) AND status = ?2"
    ))
    .and_then(|mut stmt| stmt.execute(params![Id::run(parent), from.as_str(), to.as_str(), now]))
    .map(drop)
    .map_err(store)
}
