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
        // An event is plain data: serializing it cannot fail. The run's own events (no path)
        // are the kind alone, the same JSON without `flatten`'s buffering: about a third of
        // the instructions.
        let json = if path.is_empty() {
            serde_json::to_string(kind)
        } else {
            serde_json::to_string(&Logged { path, kind })
        };
        let Ok(json) = json else {
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Journal, Logged};
    use crate::event::EventKind;

    #[test]
    fn a_run_s_own_event_is_logged_as_with_a_path() {
        let kind = EventKind::StepFinished {
            step: "draft",
            attempts: 1,
            elapsed: Duration::from_millis(3),
            usage: Some(Default::default()),
        };
        let journal = Journal::default();
        journal.record(&[], &kind);
        journal.record(&["parent"], &kind);
        let logged = journal.take();
        let flattened = serde_json::to_string(&Logged {
            path: &[],
            kind: &kind,
        });
        assert_eq!(logged[0].event, flattened.expect("serializes"));
        assert!(logged[0].event.starts_with(r#"{"type":"step_finished","#));
        assert!(logged[1]
            .event
            .starts_with(r#"{"path":["parent"],"type":"step_finished","#));
    }
}
