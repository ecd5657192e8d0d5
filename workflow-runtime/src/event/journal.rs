//! [`Journal`]: the events of a durable run that its event log has not saved yet.

use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

use serde::Serialize;

use super::EventKind;
use crate::store::NewEvent;

/// The events a durable run emitted since its last checkpoint, as its event log keeps them
/// (JSON, timed), for the runner to save with the next checkpoint. Unlike a subscriber's
/// channel, it never drops one. [`TextDelta`](EventKind::TextDelta)s are not kept: they
/// carry the model's text, which the log never stores.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    events: Mutex<Vec<NewEvent>>,
}

/// An event as the log keeps it: its kind, and the path of a child run's event.
#[derive(Serialize)]
struct Logged<'a> {
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    path: &'a [&'static str],
    #[serde(flatten)]
    kind: &'a EventKind,
}

impl Journal {
    /// Keeps `kind`, emitted now at `path` (the steps of parent runs it happened in, empty
    /// for the run's own), unless it is text.
    pub(crate) fn record(&self, path: &[&'static str], kind: &EventKind) {
        if matches!(kind, EventKind::TextDelta { .. }) {
            return;
        }
        // An event is plain data: serializing it cannot fail.
        let Ok(json) = serde_json::to_string(&Logged { path, kind }) else {
            return;
        };
        let event = NewEvent::new(SystemTime::now(), json);
        self.lock().push(event);
    }

    /// The events kept since the last call, oldest first.
    pub(crate) fn take(&self) -> Vec<NewEvent> {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<NewEvent>> {
        self.events.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
