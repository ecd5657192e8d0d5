//! The rate limits a [`MemoryStore`](super::MemoryStore) keeps: a sliding log of start times
//! per key, on tokio's clock (so that a test on a paused clock waits no real time).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use crate::store::RateSlot;

/// The start times of the calls of the last period, oldest first, by key.
#[derive(Debug, Default)]
pub(super) struct Rates(HashMap<String, VecDeque<Instant>>);

impl Rates {
    /// Takes a place in limit `key` if fewer than `calls` calls started in the last `period`.
    pub(super) fn take(&mut self, key: &str, calls: u32, period: Duration) -> RateSlot {
        let calls = usize::try_from(calls.max(1)).unwrap_or(usize::MAX);
        let now = Instant::now();
        let started = self.0.entry(key.to_owned()).or_default();
        while started.front().is_some_and(|&at| at + period <= now) {
            started.pop_front();
        }
        match started.len().checked_sub(calls) {
            Some(oldest_to_go) => {
                let frees_at = started[oldest_to_go] + period;
                RateSlot::Full {
                    retry_in: frees_at.saturating_duration_since(now),
                }
            }
            None => {
                started.push_back(now);
                RateSlot::Taken {
                    at: SystemTime::now(),
                }
            }
        }
    }
}
