//! How the SQL stores keep a run's event log: one row per write, holding the events that
//! write appended (a checkpoint's batch), not one row per event.
//!
//! A row is keyed by the number of its first event and says how many it holds. A row of one
//! event holds that event's JSON and its time, as every row did before batches. A row of
//! more holds its first event's time and, as its text, a JSON array of `[ms, event]` pairs:
//! each event's time in milliseconds after the row's, then the event. Reading a log unpacks
//! the rows a page touches and keeps the entries asked for.

use std::fmt::Write;

use serde_json::value::RawValue;

use super::time::{from_millis, to_millis};
use super::{LoggedEvent, NewEvent};

/// A batch of events as a row stores it: its first event's time, in milliseconds, and its
/// text. `None` for no events.
pub(crate) fn pack(events: &[NewEvent]) -> Option<(i64, String)> {
    let (first, rest) = events.split_first()?;
    let at = to_millis(first.at);
    if rest.is_empty() {
        return Some((at, first.event.clone()));
    }
    let length = events
        .iter()
        .map(|event| event.event.len() + 8)
        .sum::<usize>();
    let mut text = String::with_capacity(length + 2);
    text.push('[');
    for (index, event) in events.iter().enumerate() {
        if index > 0 {
            text.push(',');
        }
        let offset = to_millis(event.at).saturating_sub(at);
        // Writing into a `String` does not fail.
        let _ = write!(text, "[{offset},{}]", event.event);
    }
    text.push(']');
    Some((at, text))
}

/// Why a row of the log does not read back.
#[derive(Debug)]
pub(crate) struct BadBatch(String);

impl std::fmt::Display for BadBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The entries of the row numbered `seq` holding `count` events from `at` (milliseconds),
/// as `text`, pushed onto `page` if their number is at least `from`.
pub(crate) fn unpack(
    (seq, count): (u64, u64),
    at: i64,
    text: String,
    from: u64,
    page: &mut Vec<LoggedEvent>,
) -> Result<(), BadBatch> {
    if count == 1 {
        if seq >= from {
            page.push(LoggedEvent::new(seq, NewEvent::new(from_millis(at), text)));
        }
        return Ok(());
    }
    let pairs: Vec<(i64, &RawValue)> = serde_json::from_str(&text)
        .map_err(|error| BadBatch(format!("a batch of events is not a JSON array: {error}")))?;
    if pairs.len() as u64 != count {
        return Err(BadBatch(format!(
            "a batch of {count} events holds {}",
            pairs.len()
        )));
    }
    for (seq, (offset, event)) in (seq..).zip(pairs) {
        if seq >= from {
            let at = from_millis(at.saturating_add(offset));
            page.push(LoggedEvent::new(
                seq,
                NewEvent::new(at, event.get().to_owned()),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::{pack, unpack};
    use crate::store::NewEvent;

    fn event(ms: u64, text: &str) -> NewEvent {
        NewEvent::new(UNIX_EPOCH + Duration::from_millis(ms), text.to_owned())
    }

    #[test]
    fn a_batch_reads_back_from_any_entry() {
        let events = [
            event(1_000, r#"{"type":"a","text":"[1,\"]"}"#),
            event(1_003, r#"{"type":"b"}"#),
            event(1_020, r#"{"type":"c","n":[1,2]}"#),
        ];
        let (at, text) = pack(&events).expect("a batch");
        assert_eq!(at, 1_000);
        for from in 0..6 {
            let mut page = Vec::new();
            unpack((2, 3), at, text.clone(), from, &mut page).expect("reads back");
            let read: Vec<_> = page
                .iter()
                .map(|e| (e.seq, e.at, e.event.as_str()))
                .collect();
            let all: Vec<_> = (2..)
                .zip(&events)
                .map(|(seq, e)| (seq, e.at, e.event.as_str()))
                .filter(|(seq, ..)| *seq >= from)
                .collect();
            assert_eq!(read, all, "from {from}");
        }
    }

    #[test]
    fn one_event_is_stored_as_itself() {
        let (at, text) = pack(&[event(7, r#"{"type":"a"}"#)]).expect("a row");
        assert_eq!((at, text.as_str()), (7, r#"{"type":"a"}"#));
        assert!(pack(&[]).is_none());
    }

    #[test]
    fn a_batch_that_does_not_read_back_is_an_error() {
        let mut page = Vec::new();
        assert!(unpack((0, 2), 0, "[[0,{}]]".into(), 0, &mut page).is_err());
        assert!(unpack((0, 2), 0, "{".into(), 0, &mut page).is_err());
        assert!(page.is_empty());
    }
}
