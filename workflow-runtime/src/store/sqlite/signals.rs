//! The messages sent to runs as signals: queued, read oldest first, taken off with the
//! checkpoint that delivers them.

use rusqlite::{params, Connection, OptionalExtension};

use super::id::Id;
use super::read::select_run;
use super::rows::store;
use super::sql::now;
use super::tx::write;
use crate::error::Error;
use crate::store::RunId;

/// Queues `value` for run `run` under `signal`; returns its number.
pub(super) fn send(
    conn: &mut Connection,
    run: RunId,
    signal: &str,
    value: &str,
) -> Result<u64, Error> {
    let tx = write(conn)?;
    select_run(&tx, run)?;
    let number: i64 = tx
        .prepare_cached(
            "INSERT INTO workflow_signals (run, signal, value, created_at) \
             VALUES (?1, ?2, ?3, ?4) RETURNING id",
        )
        .and_then(|mut stmt| {
            stmt.query_row(params![Id::run(run), signal, value, now()], |row| {
                row.get(0)
            })
        })
        .map_err(store)?;
    tx.commit()?;
    Ok(number.unsigned_abs())
}

/// The oldest message queued for run `run` under `signal`.
pub(super) fn next(
    conn: &Connection,
    run: RunId,
    signal: &str,
) -> Result<Option<(u64, String)>, Error> {
    conn.prepare_cached(
        "SELECT id, value FROM workflow_signals WHERE run = ?1 AND signal = ?2 \
         ORDER BY id LIMIT 1",
    )
    .and_then(|mut stmt| {
        stmt.query_row(params![Id::run(run), signal], |row| {
            Ok((row.get::<_, i64>(0)?.unsigned_abs(), row.get(1)?))
        })
        .optional()
    })
    .map_err(store)
}

/// Takes message `message` of run `run` off its queue, in the transaction of the checkpoint
/// after checkpoint `at` that delivers it; the run waits for no signal from then on (if its
/// worker dies, the next one takes it up without another message).
///
/// # Errors
///
/// [`Error::VersionConflict`] if it is not queued (another writer took it).
pub(super) fn take(tx: &Connection, run: RunId, message: u64, at: u64) -> Result<(), Error> {
    let number = i64::try_from(message).unwrap_or(i64::MAX);
    let gone = tx
        .prepare_cached("DELETE FROM workflow_signals WHERE id = ?1 AND run = ?2")
        .and_then(|mut stmt| stmt.execute(params![number, Id::run(run)]))
        .map_err(store)?;
    if gone == 0 {
        return Err(Error::VersionConflict {
            run,
            expected: at,
            found: at,
        });
    }
    tx.prepare_cached("UPDATE workflow_runs SET awaiting = NULL WHERE id = ?1")
        .and_then(|mut stmt| stmt.execute(params![Id::run(run)]))
        .map_err(store)?;
    Ok(())
}
