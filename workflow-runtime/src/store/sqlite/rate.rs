//! Rate limits shared by the processes of a file: a sliding log of start times per key, in
//! `workflow_rate_starts`, checked and written in one write transaction.

use std::time::Duration;

use rusqlite::{params, Connection};

use super::rows::store;
use super::sql::now;
use super::tx::write;
use crate::error::Error;
use crate::store::rate::retry_in;
use crate::store::time::{duration_millis, from_millis};
use crate::store::RateSlot;

/// Takes a place in limit `key` if fewer than `calls` calls started in the last `period`.
/// The clock is read once the transaction holds the file's write lock, so that start times
/// are written in the order they are taken. Starts that left the window are deleted first:
/// a key keeps at most as many rows as its limit allows. Counting them reads the index of
/// the key; a full window reads one more row, the start whose leaving frees a place.
pub(super) fn take(
    conn: &mut Connection,
    key: &str,
    calls: u32,
    period: Duration,
) -> Result<RateSlot, Error> {
    let tx = write(conn)?;
    let (now, period) = (now(), duration_millis(period).max(1));
    tx.prepare_cached("DELETE FROM workflow_rate_starts WHERE key = ?1 AND at <= ?2")
        .and_then(|mut stmt| stmt.execute(params![key, now.saturating_sub(period)]))
        .map_err(store)?;
    let kept: i64 = tx
        .prepare_cached("SELECT count(*) FROM workflow_rate_starts WHERE key = ?1")
        .and_then(|mut stmt| stmt.query_row(params![key], |row| row.get(0)))
        .map_err(store)?;
    let over = kept - i64::from(calls.max(1));
    let slot = if over >= 0 {
        // The start `calls` places before the newest: once it leaves, there is room.
        let at: i64 = tx
            .prepare_cached(
                "SELECT at FROM workflow_rate_starts WHERE key = ?1 ORDER BY at LIMIT 1 OFFSET ?2",
            )
            .and_then(|mut stmt| stmt.query_row(params![key, over], |row| row.get(0)))
            .map_err(store)?;
        RateSlot::Full {
            retry_in: retry_in(at, period, now),
        }
    } else {
        tx.prepare_cached("INSERT INTO workflow_rate_starts (key, at) VALUES (?1, ?2)")
            .and_then(|mut stmt| stmt.execute(params![key, now]))
            .map_err(store)?;
        RateSlot::Taken {
            at: from_millis(now),
        }
    };
    tx.commit()?;
    Ok(slot)
}
