//! A run's event log, as a store keeps it: entries numbered from 0 by the store, each the
//! JSON of one [`EventKind`](crate::event::EventKind).

use std::time::SystemTime;

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
