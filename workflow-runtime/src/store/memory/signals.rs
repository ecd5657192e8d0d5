//! The messages a [`MemoryStore`](super::MemoryStore) keeps for its runs' signals.

use std::collections::VecDeque;

use crate::error::Error;

/// A run's queue of messages, oldest first.
#[derive(Debug, Default)]
pub(super) struct Queue {
    messages: VecDeque<Message>,
    /// The number the next message gets.
    next: u64,
    /// The signal the run waits for, having been given up with none of its messages queued.
    pub(super) awaiting: Option<String>,
}

#[derive(Debug)]
struct Message {
    number: u64,
    signal: String,
    value: String,
}

impl Queue {
    /// Queues `value` under `signal`; returns its number.
    pub(super) fn push(&mut self, signal: &str, value: String) -> u64 {
        let number = self.next;
        self.next += 1;
        self.messages.push_back(Message {
            number,
            signal: signal.to_owned(),
            value,
        });
        number
    }

    /// The oldest message of `signal`.
    pub(super) fn first(&self, signal: &str) -> Option<(u64, String)> {
        let message = self
            .messages
            .iter()
            .find(|message| message.signal == signal)?;
        Some((message.number, message.value.clone()))
    }

    /// Whether a worker may pick the run up: it waits for no signal, or one of its messages
    /// is queued.
    pub(super) fn ready(&self) -> bool {
        self.awaiting
            .as_deref()
            .is_none_or(|signal| self.messages.iter().any(|message| message.signal == signal))
    }

    /// Takes message `number` off the queue.
    ///
    /// # Errors
    ///
    /// [`Error::VersionConflict`] if it is not queued (it was taken already).
    pub(super) fn take(
        &mut self,
        number: u64,
        run: crate::store::RunId,
        version: u64,
    ) -> Result<(), Error> {
        let Some(index) = self
            .messages
            .iter()
            .position(|message| message.number == number)
        else {
            return Err(Error::VersionConflict {
                run,
                expected: version,
                found: version,
            });
        };
        self.messages.remove(index);
        Ok(())
    }

    /// Whether message `number` is queued.
    pub(super) fn holds(&self, number: u64) -> bool {
        self.messages.iter().any(|message| message.number == number)
    }
}
