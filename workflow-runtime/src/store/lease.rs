//! [`Lease`]: a worker's claim on a run.

use std::time::{Duration, SystemTime};

use uuid::Uuid;

/// A worker's claim on a run: only the holder of a run's lease writes its checkpoints.
///
/// Each claim has its own `id`, so two claims by the same worker are two leases. A lease
/// expires `ttl` after it was taken or last renewed; an expired lease can be taken over by
/// another worker, after which the first one's writes are rejected with
/// [`Error::LeaseLost`](crate::Error::LeaseLost).
///
/// A `ttl` longer than [`Lease::MAX_TTL`] (a thousand years), such as [`Duration::MAX`] for
/// "never expires", counts as `MAX_TTL`: every store saturates it rather than overflow its
/// clock.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use workflow_runtime::store::Lease;
///
/// let now = SystemTime::now();
/// let forever = Lease::new("worker", Duration::MAX);
/// assert_eq!(forever.expires_at(now), now + Lease::MAX_TTL);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// This claim's id.
    pub id: Uuid,
    /// The worker's name, shown to other workers in [`Error::RunOwned`](crate::Error::RunOwned).
    pub owner: String,
    /// How long the lease lasts unless renewed.
    pub ttl: Duration,
}

impl Lease {
    /// The longest a lease lasts without renewal: a thousand years, which is forever for a
    /// run. A longer `ttl` counts as this.
    pub const MAX_TTL: Duration = Duration::from_secs(1_000 * 365 * 24 * 60 * 60);

    /// A new claim by worker `owner`, for `ttl`, with an id of its own (a UUID v7).
    pub fn new(owner: impl Into<String>, ttl: Duration) -> Self {
        Lease {
            id: Uuid::now_v7(),
            owner: owner.into(),
            ttl,
        }
    }

    /// How long the lease lasts without renewal: `ttl`, at most [`MAX_TTL`](Self::MAX_TTL).
    pub fn duration(&self) -> Duration {
        self.ttl.min(Self::MAX_TTL)
    }

    /// When the lease expires if it is taken or renewed at `now`: `now` plus its
    /// [`duration`](Self::duration), or the latest time the platform can hold if that is
    /// later. Never before `now`, never a panic.
    pub fn expires_at(&self, now: SystemTime) -> SystemTime {
        let mut ttl = self.duration();
        loop {
            match now.checked_add(ttl) {
                Some(expires) => return expires,
                None => ttl /= 2,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::time::Duration;

    use super::Lease;

    #[test]
    fn lease_ids_are_distinct_v7_uuids() {
        let ids: HashSet<_> = (0..10_000)
            .map(|_| Lease::new("worker", Duration::from_secs(1)).id)
            .collect();
        assert_eq!(ids.len(), 10_000);
        assert!(ids
            .iter()
            .all(|id| id.get_version() == Some(uuid::Version::SortRand)));
        let other = std::thread::spawn(|| Lease::new("worker", Duration::from_secs(1)).id);
        assert!(!ids.contains(&other.join().expect("no panic")));
    }
}
