//! Rate limits kept in a store: [`RateSlot`], what
//! [`CheckpointStore::take_rate_slot`](super::CheckpointStore::take_rate_slot) answers, and
//! the one rule every store applies (a sliding log of start times).

use std::time::{Duration, SystemTime};

/// What [`CheckpointStore::take_rate_slot`](super::CheckpointStore::take_rate_slot) did: took
/// a place for one more call in the limit's window, or found it full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RateSlot {
    /// The call counts as started at `at`, by the store's clock (the database server's, on
    /// Postgres).
    Taken {
        /// When the store counted the call as started.
        at: SystemTime,
    },
    /// As many calls as the limit allows started in the last period: one more may start in
    /// `retry_in`, if no other caller takes the place first.
    Full {
        /// How long until the oldest start that counts leaves the window.
        retry_in: Duration,
    },
}

/// The rule of a sliding log, given the start times (in milliseconds, oldest first) that are
/// still in the window at `now` (those after `now - period`): `None` if there is room for one
/// more call, else how long until there is.
///
/// With `calls` starts allowed in any window of `period`, the place frees up when the start
/// `calls` places before the newest leaves the window: older starts left first.
#[cfg(feature = "postgres")]
pub(crate) fn full_for(kept: &[i64], calls: u32, period: i64, now: i64) -> Option<Duration> {
    let calls = usize::try_from(calls.max(1)).unwrap_or(usize::MAX);
    let oldest_to_go = kept.len().checked_sub(calls)?;
    Some(retry_in(kept[oldest_to_go], period, now))
}

/// How long from `now` until the start at `at` leaves a window of `period` (all in
/// milliseconds): at least a millisecond, so that a caller never asks again at once.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn retry_in(at: i64, period: i64, now: i64) -> Duration {
    let frees_at = at.saturating_add(period);
    let wait = u64::try_from(frees_at.saturating_sub(now)).unwrap_or(0);
    Duration::from_millis(wait.max(1))
}

#[cfg(all(test, feature = "postgres"))]
mod tests {
    use super::*;

    #[test]
    fn a_window_with_room_takes_the_call() {
        assert_eq!(full_for(&[], 1, 100, 0), None);
        assert_eq!(full_for(&[10, 20], 3, 100, 50), None);
    }

    #[test]
    fn a_full_window_waits_for_the_start_that_leaves_first() {
        // Two allowed, two in the window: the older one leaves at 110.
        assert_eq!(
            full_for(&[10, 20], 2, 100, 50),
            Some(Duration::from_millis(60))
        );
        // More starts than allowed (a caller with a higher limit took them): room once all
        // but one of the last `calls` have gone.
        assert_eq!(
            full_for(&[10, 20, 30], 2, 100, 50),
            Some(Duration::from_millis(70))
        );
        // Never zero: the caller sleeps at least a millisecond before it tries again.
        assert_eq!(
            full_for(&[10, 20], 2, 100, 500),
            Some(Duration::from_millis(1))
        );
    }
}
