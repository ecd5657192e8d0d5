//! The store's writes as SQL on one connection, and its schema. Every value is a bound
//! parameter.

use std::time::{Duration, SystemTime};

use rusqlite::{params, Connection};
use uuid::Uuid;

use super::id::Id;
use super::log::Batch;
use super::read::{missing, select_checkpoint, select_run};
use super::rows::{store, Reader};
use super::tx::write;
use crate::error::Error;
use crate::store::queue::CANCELLED;
use crate::store::time::{lease_millis, to_millis};
use crate::store::{Checkpoint, Lease, NewRun, RunId, RunInfo};

pub(super) fn now() -> i64 {
    to_millis(SystemTime::now())
}

/// When a lease of `ttl` milliseconds taken at `now` expires, saturating: a lease too long
/// to add never expires.
pub(super) fn expiry(now: i64, ttl: i64) -> i64 {
    now.saturating_add(ttl)
}

/// Why a write guarded by `lease` on run `run` changed nothing: the run is gone, has another
/// lease (or a lease id that does not read back), or was asked to stop.
fn refused(tx: &Connection, run: RunId, lease: Uuid) -> Error {
    let found = tx
        .prepare_cached("SELECT lease_id, cancel_requested FROM workflow_runs WHERE id = ?1")
        .and_then(|mut stmt| {
            let mut rows = stmt.query(params![Id::run(run)])?;
            let Some(row) = rows.next()? else {
                return Ok(Error::RunNotFound { run });
            };
            let read = Reader::of(row, run);
            let held = read.holds(0, "lease_id", &Id::of(&lease));
            Ok(
                match held.and_then(|held| Ok((held, read.get(1, "cancel_requested")?))) {
                    Err(error) => error,
                    Ok((true, true)) => Error::RunCancelled { run },
                    Ok(_) => Error::LeaseLost { run },
                },
            )
        });
    found.unwrap_or_else(store)
}

/// Inserts `checkpoint`, with `log_next` the number its run's next event takes, if known, and
/// `batch`, the events its save logs.
pub(super) fn insert_checkpoint(
    tx: &Connection,
    checkpoint: &Checkpoint,
    log_next: Option<u64>,
    batch: Option<&Batch>,
) -> Result<(), Error> {
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO workflow_checkpoints (run, seq, workflow, fingerprint, format, step, \
             status, state, loops, created_at, usage, log_next, events, events_seq, \
             events_at, events_count) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        )
        .map_err(store)?;
    stmt.execute(params![
        Id::run(checkpoint.run),
        checkpoint.seq as i64,
        checkpoint.workflow,
        checkpoint.fingerprint as i64,
        checkpoint.format,
        checkpoint.step,
        checkpoint.status.as_str(),
        checkpoint.state,
        checkpoint.loops,
        to_millis(checkpoint.created_at),
        checkpoint.usage.to_json(),
        log_next.map(|next| next as i64),
        batch.map(|batch| batch.text.as_str()),
        batch.map(|batch| batch.seq as i64),
        batch.map(|batch| batch.at),
        batch.map(|batch| batch.count as i64),
    ])
    .map_err(store)?;
    Ok(())
}

pub(super) fn create(conn: &mut Connection, run: &NewRun) -> Result<(), Error> {
    let tx = write(conn)?;
    let first = &run.first;
    let lease = run.lease.as_ref();
    let expires = lease.map(|lease| expiry(now(), lease_millis(lease)));
    let inserted = tx.prepare_cached(
        "INSERT INTO workflow_runs (id, workflow, fingerprint, status, step, version, lease_id, \
         owner, lease_expires, parent, parent_seq, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12) \
         ON CONFLICT (id) DO NOTHING",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            Id::run(first.run),
            first.workflow,
            first.fingerprint as i64,
            first.status.as_str(),
            first.step,
            first.seq as i64,
            lease.map(|lease| Id::of(&lease.id)),
            lease.map(|lease| &lease.owner),
            expires,
            run.parent.map(|(parent, _)| Id::run(parent)),
            run.parent.map(|(_, seq)| seq as i64),
            to_millis(first.created_at),
        ])
    })
    .map_err(store)?;
    if inserted == 0 {
        return Err(Error::RunExists { run: first.run });
    }
    // A new run's log is empty (deleting a run deletes its log).
    insert_checkpoint(&tx, first, Some(0), None)?;
    // A child its first state waits in, before any step of it: its row comes with the run.
    if let Some(child) = &first.child {
        super::children::save(&tx, first.run, child, now())?;
    }
    tx.commit()
}

pub(super) fn claim(
    conn: &mut Connection,
    run: RunId,
    lease: &Lease,
) -> Result<(RunInfo, Checkpoint), Error> {
    let tx = write(conn)?;
    let now = now();
    let taken = tx
        .prepare_cached(
            "UPDATE workflow_runs SET lease_id = ?2, owner = ?3, lease_expires = ?5 \
             WHERE id = ?1 AND status <> 'cancelled' \
             AND (lease_id IS NULL OR lease_expires IS NULL OR lease_expires <= ?4)",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                Id::run(run),
                Id::of(&lease.id),
                lease.owner,
                now,
                expiry(now, lease_millis(lease)),
            ])
        })
        .map_err(store)?;
    if taken == 0 {
        return Err(owned(&tx, run, now));
    }
    let info = select_run(&tx, run)?;
    let latest = select_checkpoint(&tx, run, info.version)?.ok_or_else(|| missing(&info))?;
    tx.commit()?;
    Ok((info, latest))
}

/// The error of a claim refused on run `run` at `now`.
fn owned(tx: &Connection, run: RunId, now: i64) -> Error {
    let found = tx
        .prepare_cached("SELECT owner, lease_expires, status FROM workflow_runs WHERE id = ?1")
        .and_then(|mut stmt| {
            let mut rows = stmt.query(params![Id::run(run)])?;
            let Some(row) = rows.next()? else {
                return Ok(Error::RunNotFound { run });
            };
            let read = Reader::of(row, run);
            if read
                .get::<String>(2, "status")
                .is_ok_and(|status| status == "cancelled")
            {
                return Ok(Error::RunCancelled { run });
            }
            let found = read.get::<Option<String>>(0, "owner").and_then(|owner| {
                let expires: i64 = read.get(1, "lease_expires")?;
                Ok((owner, expires))
            });
            Ok(match found {
                Err(error) => error,
                Ok((owner, expires)) => Error::RunOwned {
                    run,
                    owner: owner.unwrap_or_default(),
                    expires_in: Duration::from_millis(expires.saturating_sub(now).max(0) as u64),
                },
            })
        });
    found.unwrap_or_else(store)
}

/// Renews `lease` on `run` for `ttl` milliseconds.
pub(super) fn renew(conn: &mut Connection, run: RunId, lease: Uuid, ttl: i64) -> Result<(), Error> {
    let tx = write(conn)?;
    let changed = tx
        .prepare_cached(
            "UPDATE workflow_runs SET lease_expires = ?3 \
             WHERE id = ?1 AND lease_id = ?2 AND cancel_requested = 0",
        )
        .and_then(|mut stmt| {
            let expires = expiry(now(), ttl);
            stmt.execute(params![Id::run(run), Id::of(&lease), expires])
        })
        .map_err(store)?;
    if changed == 0 {
        return Err(refused(&tx, run, lease));
    }
    tx.commit()
}

/// What a run given up waits for before a worker may pick it up.
#[derive(Clone, Copy)]
pub(super) enum Waiting<'a> {
    Nothing,
    /// This time, in milliseconds.
    Until(i64),
    /// A message of this signal.
    Signal(&'a str),
}

/// Gives up `lease` on run `run`, recording `error` if given; a run `waiting` for a time or
/// a signal is not picked up before.
pub(super) fn release(
    conn: &mut Connection,
    run: RunId,
    lease: Uuid,
    error: Option<&str>,
    waiting: Waiting<'_>,
) -> Result<(), Error> {
    let (wake_at, awaiting) = match waiting {
        Waiting::Nothing => (None, None),
        Waiting::Until(time) => (Some(time), None),
        Waiting::Signal(signal) => (None, Some(signal)),
    };
    let tx = write(conn)?;
    let changed = tx
        .prepare_cached(
            "UPDATE workflow_runs SET lease_id = NULL, owner = NULL, lease_expires = NULL, \
             wake_at = ?6, awaiting = ?7, \
             status = CASE WHEN cancel_requested THEN 'cancelled' \
             WHEN ?3 IS NULL THEN status ELSE 'failed' END, \
             error = CASE WHEN cancel_requested THEN ?5 WHEN ?3 IS NULL THEN error ELSE ?3 END, \
             updated_at = CASE WHEN ?3 IS NULL AND NOT cancel_requested THEN updated_at \
             ELSE ?4 END \
             WHERE id = ?1 AND lease_id = ?2",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                Id::run(run),
                Id::of(&lease),
                error,
                now(),
                CANCELLED,
                wake_at,
                awaiting
            ])
        })
        .map_err(store)?;
    if changed == 0 {
        return Err(refused(&tx, run, lease));
    }
    if error.is_some() || matches!(waiting, Waiting::Nothing) {
        super::children::end(&tx, run, now())?;
    }
    tx.commit()
}
