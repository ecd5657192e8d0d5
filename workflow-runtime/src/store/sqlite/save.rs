//! Saving a checkpoint or a finished branch: the checks (lease, version) and the writes in one
//! transaction, which holds the file's write lock from its first statement.
//!
//! A checkpoint of a running run that stays running, whose lease has at least two thirds of
//! its duration left, is one `INSERT`, which holds the events the save logs too (`log`): the
//! run's row is read to check the lease and the version (or not even read, when the
//! connection's last write of the file was its save of the checkpoint before: `heads`), not
//! written, so that the commit writes one page of the file rather than two. Its `version`,
//! `step` and `updated_at` then lag behind its latest checkpoint, which is where reads take
//! them from (`rows::RUNS`). Every other write updates the row as well: the first checkpoint
//! after a claim of a failed run, one that suspends or finishes it, one whose lease needs
//! renewing.

use rusqlite::{params, Connection};
use uuid::Uuid;

use super::heads::{Head, Heads};
use super::id::Id;
use super::rows::{store, Reader};
use super::sql::{expiry, insert_checkpoint, now};
use super::tx::write;
use crate::error::Error;
use crate::store::{BranchRecord, CallRecord, Checkpoint, ChildRecord, NewEvent, RunId, RunStatus};

impl Head {
    /// Reads run `run`'s row for a write under `lease` that expects checkpoint `at` to be the
    /// run's latest.
    ///
    /// # Errors
    ///
    /// [`Error::RunNotFound`], [`Error::LeaseLost`], [`Error::RunCancelled`] if the run was
    /// asked to stop, [`Error::VersionConflict`], [`Error::CorruptCheckpoint`] if a value does
    /// not read back, [`Error::Store`].
    fn read(tx: &Connection, run: RunId, lease: Uuid, at: u64) -> Result<Self, Error> {
        // Whether `at` is there and nothing after it: two seeks. (`max(seq)`, or the first
        // row in descending order, takes SQLite several times as long.) The first also reads
        // the number of the run's next event (-1 for not known; `NULL` for no checkpoint).
        let mut stmt = tx
            .prepare_cached(
                "SELECT lease_id, status = 'running' AND error IS NULL, lease_expires, version, \
                 (SELECT coalesce(log_next, -1) FROM workflow_checkpoints \
                 WHERE run = ?1 AND seq = ?2), \
                 NOT EXISTS (SELECT 1 FROM workflow_checkpoints WHERE run = ?1 AND seq > ?2), \
                 cancel_requested FROM workflow_runs WHERE id = ?1",
            )
            .map_err(store)?;
        // No checkpoint has a negative number: a write on top of "checkpoint -1" conflicts.
        let number = i64::try_from(at).unwrap_or(-1);
        let mut rows = stmt.query(params![Id::run(run), number]).map_err(store)?;
        let Some(row) = rows.next().map_err(store)? else {
            return Err(Error::RunNotFound { run });
        };
        let read = Reader::of(row, run);
        if !read.holds(0, "lease_id", &Id::of(&lease))? {
            return Err(Error::LeaseLost { run });
        }
        if read.get::<bool>(6, "cancel_requested")? {
            return Err(Error::RunCancelled { run });
        }
        let version = read.count(3, "version")?;
        let log_next: Option<i64> = read.get(4, "log_next")?;
        if version > at || log_next.is_none() || !read.get::<bool>(5, "seq")? {
            let found = latest(tx, run, version)?;
            return Err(Error::VersionConflict {
                run,
                expected: at,
                found,
            });
        }
        Ok(Head {
            running: read.get(1, "status")?,
            expires: read.get(2, "lease_expires")?,
            log_next: log_next.and_then(|next| u64::try_from(next).ok()),
        })
    }

    /// Whether a write at `now` may leave the lease as it is rather than renew it for `ttl`
    /// milliseconds: two thirds of that are left.
    fn lease_lasts(&self, now: i64, ttl: i64) -> bool {
        self.expires
            .is_some_and(|expires| expires >= expiry(now, ttl - ttl / 3))
    }
}

/// The number of run `run`'s latest checkpoint, whose row says `version`.
fn latest(tx: &Connection, run: RunId, version: u64) -> Result<u64, Error> {
    let found: Option<i64> = tx
        .prepare_cached("SELECT max(seq) FROM workflow_checkpoints WHERE run = ?1")
        .and_then(|mut stmt| stmt.query_row(params![Id::run(run)], |row| row.get(0)))
        .map_err(store)?;
    let found = found.and_then(|seq| u64::try_from(seq).ok()).unwrap_or(0);
    Ok(found.max(version))
}

/// Saves `checkpoint` under `lease`, which a running checkpoint extends by `ttl` milliseconds.
/// `heads` is what the connection knows of the runs it saved last.
pub(super) fn save(
    conn: &mut Connection,
    heads: &mut Heads,
    lease: Uuid,
    ttl: i64,
    checkpoint: &Checkpoint,
) -> Result<(), Error> {
    save_logged(conn, heads, lease, ttl, checkpoint, &[])
}

/// Saves `checkpoint` as [`save`] does, and appends `events` to its run's log, in one
/// transaction.
pub(super) fn save_logged(
    conn: &mut Connection,
    heads: &mut Heads,
    lease: Uuid,
    ttl: i64,
    checkpoint: &Checkpoint,
    events: &[NewEvent],
) -> Result<(), Error> {
    save_received(conn, heads, lease, ttl, checkpoint, events, None)
}

/// Saves `checkpoint` as [`save_logged`] does, and takes message `received` off its run's
/// queue if given, in one transaction. The run's row and latest checkpoint are read from
/// `heads` if this connection's last write of the file was its save of the checkpoint before
/// (see [`Heads`]), and recorded there for the next save.
pub(super) fn save_received(
    conn: &mut Connection,
    heads: &mut Heads,
    lease: Uuid,
    ttl: i64,
    checkpoint: &Checkpoint,
    events: &[NewEvent],
    received: Option<u64>,
) -> Result<(), Error> {
    let (run, seq) = (checkpoint.run, checkpoint.seq);
    let tx = write(conn)?;
    heads.check(&tx)?;
    let at = seq.wrapping_sub(1);
    let head = match heads.get(run, lease, at) {
        Some(head) => head,
        None => Head::read(&tx, run, lease, at)?,
    };
    if let Some(message) = received {
        super::signals::take(&tx, run, message, at)?;
    }
    let now = now();
    let running = checkpoint.status == RunStatus::Running;
    let lasts = running && head.running && head.lease_lasts(now, ttl);
    if !lasts {
        update_run(&tx, checkpoint, head.running, expiry(now, ttl), now)?;
    }
    let (log_next, batch) = super::log::for_save(&tx, run, head.log_next, events)?;
    insert_checkpoint(&tx, checkpoint, log_next, batch.as_ref())?;
    children(&tx, checkpoint, head.running, now)?;
    tx.commit()?;
    // A save that wrote only its own run's rows leaves the other runs' entries true.
    if received.is_some() || checkpoint.child.is_some() || !head.running {
        heads.forget();
    } else {
        let expires = match lasts {
            true => head.expires,
            false => Some(expiry(now, ttl)),
        };
        let head = running.then_some(Head {
            running: true,
            expires,
            log_next,
        });
        heads.saved(conn, (run, lease, seq), head);
    }
    Ok(())
}

/// Writes the child run `checkpoint` carries, if any; else, when the run goes on from a pause
/// (it was answered: it was not running), its child waiting there goes on with it.
fn children(
    tx: &Connection,
    checkpoint: &Checkpoint,
    was_running: bool,
    now: i64,
) -> Result<(), Error> {
    match &checkpoint.child {
        Some(child) => super::children::save(tx, checkpoint.run, child, now),
        None if !was_running && checkpoint.status == RunStatus::Running => {
            let resumed = (RunStatus::Suspended, RunStatus::Running);
            super::children::follow(tx, checkpoint.run, resumed, now)
        }
        None => Ok(()),
    }
}

/// Writes the run's row for `checkpoint`: its version, step, status, and its lease, renewed
/// until `expires` or given up. A run that was `running` and stays so does not set `status`,
/// so that the status index is not rewritten.
fn update_run(
    tx: &Connection,
    checkpoint: &Checkpoint,
    was_running: bool,
    expires: i64,
    now: i64,
) -> Result<(), Error> {
    let (run, seq) = (Id::run(checkpoint.run), checkpoint.seq as i64);
    let running = checkpoint.status == RunStatus::Running;
    let updated = if running && was_running {
        tx.prepare_cached(
            "UPDATE workflow_runs SET version = ?2, step = ?3, updated_at = ?4, \
             lease_expires = ?5 WHERE id = ?1",
        )
        .and_then(|mut stmt| stmt.execute(params![run, seq, checkpoint.step, now, expires]))
    } else {
        tx.prepare_cached(
            "UPDATE workflow_runs SET version = ?2, status = ?3, step = ?4, error = NULL, \
             wake_at = NULL, updated_at = ?5, lease_id = CASE WHEN ?6 THEN lease_id END, \
             owner = CASE WHEN ?6 THEN owner END, lease_expires = CASE WHEN ?6 THEN ?7 END \
             WHERE id = ?1",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                run,
                seq,
                checkpoint.status.as_str(),
                checkpoint.step,
                now,
                running,
                expires,
            ])
        })
    };
    updated.map(drop).map_err(store)
}

/// Records `usage` (as JSON) on checkpoint `seq` of run `run`, its latest, under `lease`.
pub(super) fn save_usage(
    conn: &mut Connection,
    lease: Uuid,
    (run, seq): (RunId, u64),
    usage: Option<&str>,
) -> Result<(), Error> {
    let tx = write(conn)?;
    Head::read(&tx, run, lease, seq)?;
    tx.prepare_cached("UPDATE workflow_checkpoints SET usage = ?3 WHERE run = ?1 AND seq = ?2")
        .and_then(|mut stmt| stmt.execute(params![Id::run(run), seq as i64, usage]))
        .map_err(store)?;
    tx.commit()
}

/// Saves `branch`, finished at checkpoint `seq` of run `run`, under `lease`, which it extends
/// by `ttl` milliseconds if less than two thirds of that are left.
pub(super) fn save_branch(
    conn: &mut Connection,
    lease: Uuid,
    ttl: i64,
    (run, seq): (RunId, u64),
    branch: &BranchRecord,
) -> Result<(), Error> {
    let tx = write(conn)?;
    let head = Head::read(&tx, run, lease, seq)?;
    let now = now();
    if !head.lease_lasts(now, ttl) {
        tx.prepare_cached(
            "UPDATE workflow_runs SET lease_expires = ?2, updated_at = ?3 WHERE id = ?1",
        )
        .and_then(|mut stmt| stmt.execute(params![Id::run(run), expiry(now, ttl), now]))
        .map_err(store)?;
    }
    tx.prepare_cached(
        "INSERT INTO workflow_branches (run, seq, idx, value, created_at, usage) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            Id::run(run),
            seq as i64,
            branch.index,
            branch.value,
            now,
            branch.usage.to_json(),
        ])
    })
    .map_err(store)?;
    tx.commit()
}

/// Records `call`, made in the step checkpoint `seq` of run `run` is running, under `lease`,
/// unless a call with its key is recorded there.
pub(super) fn save_call(
    conn: &mut Connection,
    lease: Uuid,
    (run, seq): (RunId, u64),
    call: &CallRecord,
) -> Result<(), Error> {
    let tx = write(conn)?;
    Head::read(&tx, run, lease, seq)?;
    tx.prepare_cached(
        "INSERT INTO workflow_calls (run, seq, key, value, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            Id::run(run),
            seq as i64,
            call.key,
            call.value,
            now()
        ])
    })
    .map_err(store)?;
    tx.commit()
}

/// Suspends run `run` at checkpoint `seq`, its latest, under `lease`, without a checkpoint:
/// the run's row takes the checkpoint's number and step, and gives up the lease; creates
/// the rows of `child`'s chain, whose first step waits, under the run it names (`run`, or
/// one of its child runs), in the same transaction.
pub(super) fn suspend_at(
    conn: &mut Connection,
    lease: Uuid,
    (run, seq): (RunId, u64),
    child: Option<&(RunId, ChildRecord)>,
) -> Result<(), Error> {
    let tx = write(conn)?;
    Head::read(&tx, run, lease, seq)?;
    tx.prepare_cached(
        "UPDATE workflow_runs SET version = ?2, status = 'suspended', error = NULL, \
         step = (SELECT step FROM workflow_checkpoints WHERE run = ?1 AND seq = ?2), \
         wake_at = NULL, awaiting = NULL, lease_id = NULL, owner = NULL, \
         lease_expires = NULL, updated_at = ?3 WHERE id = ?1",
    )
    .and_then(|mut stmt| stmt.execute(params![Id::run(run), seq as i64, now()]))
    .map_err(store)?;
    // Its child in flight, whose tool call waits for the approval, waits with it: with its
    // row, if that is its first step.
    if let Some((parent, child)) = child {
        super::children::save(&tx, *parent, child, now())?;
    }
    let waiting = (RunStatus::Running, RunStatus::Suspended);
    super::children::follow(&tx, run, waiting, now())?;
    tx.commit()
}

/// Creates the rows of `child`'s chain, child runs in flight of run `run`, that have none,
/// if `run` is leased to `lease` at checkpoint `seq`, its latest: one transaction.
pub(super) fn create_children(
    conn: &mut Connection,
    lease: Uuid,
    (run, seq): (RunId, u64),
    child: &ChildRecord,
) -> Result<(), Error> {
    let tx = write(conn)?;
    Head::read(&tx, run, lease, seq)?;
    super::children::create(&tx, run, child, now())?;
    tx.commit()
}

/// Saves `checkpoint` under `lease` (extended by `ttl` milliseconds) as [`save`] does, with
/// the calls recorded at the checkpoint before it, and `call`, recorded at it, in one
/// transaction.
pub(super) fn save_carried(
    conn: &mut Connection,
    lease: Uuid,
    ttl: i64,
    checkpoint: &Checkpoint,
    call: &CallRecord,
) -> Result<(), Error> {
    let tx = write(conn)?;
    let (run, seq) = (checkpoint.run, checkpoint.seq);
    let head = Head::read(&tx, run, lease, seq.wrapping_sub(1))?;
    let now = now();
    update_run(&tx, checkpoint, head.running, expiry(now, ttl), now)?;
    insert_checkpoint(&tx, checkpoint, head.log_next, None)?;
    children(&tx, checkpoint, head.running, now)?;
    tx.prepare_cached(
        "INSERT INTO workflow_calls (run, seq, key, value, created_at) \
         SELECT run, ?2, key, value, created_at FROM workflow_calls WHERE run = ?1 AND seq = ?3 \
         ON CONFLICT DO NOTHING",
    )
    .and_then(|mut stmt| stmt.execute(params![Id::run(run), seq as i64, seq as i64 - 1]))
    .map_err(store)?;
    tx.prepare_cached(
        "INSERT INTO workflow_calls (run, seq, key, value, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
    )
    .and_then(|mut stmt| stmt.execute(params![Id::run(run), seq as i64, call.key, call.value, now]))
    .map_err(store)?;
    tx.commit()
}
