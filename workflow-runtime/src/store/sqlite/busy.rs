//! Waiting out other connections' locks: a query that finds the file locked
//! (`SQLITE_BUSY`, `SQLITE_LOCKED`) after SQLite's own busy timeout is rolled back and run
//! again, with backoff, until the store's lock timeout: contention never fails work that can
//! wait.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode};

use crate::Error;

/// The first wait before a query is run again.
const FIRST_WAIT: Duration = Duration::from_millis(1);

/// The longest wait between two runs of a query.
const LONGEST_WAIT: Duration = Duration::from_millis(100);

/// Runs `query` on `conn`, and again while it fails because another connection holds a lock
/// on the file, waiting 1 ms, then twice as long each time up to 100 ms (each wait jittered),
/// until `patience` has passed since the first run; then its last error is returned.
///
/// A query is a whole transaction, rolled back when it fails, so running it again is safe.
pub(super) fn retry<T>(
    conn: &mut Connection,
    patience: Duration,
    mut query: impl FnMut(&mut Connection) -> Result<T, Error>,
) -> Result<T, Error> {
    let started = Instant::now();
    let mut wait = FIRST_WAIT;
    loop {
        match query(conn) {
            Err(error) if is_busy(&error) && started.elapsed() < patience => {
                std::thread::sleep(jitter(wait));
                wait = (wait * 2).min(LONGEST_WAIT);
            }
            result => return result,
        }
    }
}

/// Whether `error` is SQLite's "database is locked" (`SQLITE_BUSY`) or "database table is
/// locked" (`SQLITE_LOCKED`): another connection holds a lock, and the query may succeed
/// once it lets go.
pub(super) fn is_busy(error: &Error) -> bool {
    let Error::Store { source, .. } = error else {
        return false;
    };
    let code = source
        .downcast_ref::<rusqlite::Error>()
        .and_then(rusqlite::Error::sqlite_error_code);
    matches!(
        code,
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// `wait`, scaled by a random factor between 0.5 and 1.5, so that connections waiting for the
/// same lock do not all try again at once.
fn jitter(wait: Duration) -> Duration {
    let random = RandomState::new().hash_one(Instant::now());
    let factor = 0.5 + (random % 1024) as f64 / 1024.0;
    wait.mul_f64(factor)
}
