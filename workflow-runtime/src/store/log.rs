//! A run's event log, as a store keeps it: entries numbered from 0 by the store, each the
//! JSON of one [`EventKind`](crate::event::EventKind).

use std::collections::VecDeque;
use std::time::SystemTime;

use super::{CheckpointStore, RunId};
use crate::Error;

/// An event to append to a run's log: when it happened and what, as JSON.
///
/// The store numbers it: see [`LoggedEvent::seq`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewEvent {
    /// When the run emitted it.
    pub at: SystemTime,
    /// The event, as the JSON of an [`EventKind`](crate::event::EventKind) (tagged by `type`).
    pub event: String,
}

impl NewEvent {
    /// An event emitted at `at`, as JSON.
    pub fn new(at: SystemTime, event: String) -> Self {
        NewEvent { at, event }
    }
}

/// An entry of a run's event log, as a store reads it back.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoggedEvent {
    /// Its number in the run's log: from 0, one more than the entry before, across every
    /// worker and call that drove the run (a resumed run's log goes on where it stopped).
    pub seq: u64,
    /// When the run emitted it (to the millisecond in SQLite and Postgres).
    pub at: SystemTime,
    /// The event, as the JSON of an [`EventKind`](crate::event::EventKind) (tagged by `type`).
    pub event: String,
}

impl LoggedEvent {
    /// Entry `seq` of a log, for `event`.
    pub fn new(seq: u64, event: NewEvent) -> Self {
        LoggedEvent {
            seq,
            at: event.at,
            event: event.event,
        }
    }
}

/// The last `limit` entries of run `run`'s log in `store`, read from its start `page` entries
/// at a time: [`CheckpointStore::latest_events`] for a store that cannot read its log
/// backwards.
pub(crate) async fn latest_by_pages<S: CheckpointStore + ?Sized>(
    store: &S,
    run: RunId,
    limit: u32,
    page: u32,
) -> Result<Vec<LoggedEvent>, Error> {
    let page = page.max(1);
    let mut latest = VecDeque::new();
    let mut from = 0;
    loop {
        let read = store.events(run, from, page).await?;
        let full = read.len() == page as usize;
        if let Some(last) = read.last() {
            from = last.seq + 1;
        }
        latest.extend(read);
        while latest.len() > limit as usize {
            latest.pop_front();
        }
        if !full {
            return Ok(latest.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::{latest_by_pages, NewEvent};
    use crate::store::{Checkpoint, CheckpointStore, NewRun, RunStatus};
    use crate::usage::SavedUsage;
    use crate::{MemoryStore, RunId};

    #[tokio::test]
    async fn the_latest_entries_read_a_page_at_a_time_are_the_log_s_end() {
        let store = MemoryStore::new();
        let run = RunId::new();
        let first = Checkpoint {
            run,
            seq: 0,
            workflow: "Log".into(),
            fingerprint: 1,
            format: 1,
            step: "a".into(),
            status: RunStatus::Running,
            state: "{}".into(),
            loops: "[]".into(),
            usage: SavedUsage::default(),
            created_at: UNIX_EPOCH,
            branches: Vec::new(),
            child: None,
        };
        let new = NewRun {
            first,
            parent: None,
            lease: None,
        };
        store.create(new).await.expect("creates");
        let events = (0..7)
            .map(|n| NewEvent::new(UNIX_EPOCH, format!("{{\"n\":{n}}}")))
            .collect();
        store.append_events(run, events).await.expect("appends");
        for (limit, page) in [(3, 2), (3, 3), (3, 1_000), (10, 2), (0, 2)] {
            let latest = latest_by_pages(&store, run, limit, page)
                .await
                .expect("reads");
            let seqs: Vec<u64> = latest.iter().map(|entry| entry.seq).collect();
            let want: Vec<u64> = (7u64.saturating_sub(u64::from(limit))..7).collect();
            assert_eq!(seqs, want, "limit {limit}, pages of {page}");
            let direct = store.latest_events(run, limit).await.expect("reads");
            assert_eq!(direct, latest, "the memory store's own");
        }
    }
}
