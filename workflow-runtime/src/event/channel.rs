//! [`Events`]: a subscriber's end of the event channel, and the executor's side of it.

use std::fmt;
use std::sync::{Arc, OnceLock};

use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};

use super::Event;

/// How many events a subscriber may fall behind before it loses the oldest, by default.
pub(crate) const DEFAULT_CAPACITY: usize = 1024;

/// The events of runs, as one subscriber receives them: from
/// [`Executor::subscribe`](crate::Executor::subscribe) (every run of the executor) or
/// [`Run::events`](crate::Run::events) (one run).
///
/// Runs never wait for their subscribers. Events go into a ring buffer of
/// [`Executor::event_capacity`](crate::Executor::event_capacity) events shared by all the
/// subscribers of a channel; a subscriber that falls further behind than that loses the
/// oldest events it has not read, and only those: [`recv`](Self::recv) skips to the oldest
/// event still there, [`missed`](Self::missed) counts what was skipped, and the gap shows in
/// the events' [`seq`](Event::seq). Other subscribers, and the run, are not affected.
///
/// ```
/// # use workflow_runtime::{Executor, event::EventKind};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let executor = Executor::new();
/// let mut events = executor.subscribe();
/// // … runs of `executor`, here or in other tasks …
/// # drop(executor);
/// while let Some(event) = events.recv().await {
///     if let EventKind::Failed { error, .. } = &event.kind {
///         eprintln!("run {} failed: {error}", event.run);
///     }
/// }
/// # }
/// ```
pub struct Events {
    receiver: broadcast::Receiver<Event>,
    missed: u64,
}

impl Events {
    pub(crate) fn new(receiver: broadcast::Receiver<Event>) -> Self {
        Events {
            receiver,
            missed: 0,
        }
    }

    /// The next event, waiting for it if needed; `None` once no run can send any more: the
    /// executor and its clones are dropped and their runs have ended (for
    /// [`Run::events`](crate::Run::events): once the run has ended).
    ///
    /// If the subscriber fell too far behind, the events it lost are skipped: see
    /// [`missed`](Self::missed).
    pub async fn recv(&mut self) -> Option<Event> {
        loop {
            match self.receiver.recv().await {
                Ok(event) => return Some(event),
                Err(RecvError::Lagged(lost)) => self.missed += lost,
                Err(RecvError::Closed) => return None,
            }
        }
    }

    /// The next event if one is waiting, without waiting; skips lost events as
    /// [`recv`](Self::recv) does.
    pub fn try_recv(&mut self) -> Option<Event> {
        loop {
            match self.receiver.try_recv() {
                Ok(event) => return Some(event),
                Err(TryRecvError::Lagged(lost)) => self.missed += lost,
                Err(TryRecvError::Empty | TryRecvError::Closed) => return None,
            }
        }
    }

    /// How many events this subscriber lost so far because it fell too far behind.
    pub fn missed(&self) -> u64 {
        self.missed
    }
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events")
            .field("waiting", &self.receiver.len())
            .field("missed", &self.missed)
            .finish()
    }
}

/// The channel of an executor and its clones, made by the first subscriber.
#[derive(Clone)]
pub(crate) struct Hub {
    capacity: usize,
    sender: Arc<OnceLock<broadcast::Sender<Event>>>,
}

impl Hub {
    pub(crate) fn new(capacity: usize) -> Self {
        Hub {
            capacity: capacity.max(1),
            sender: Arc::default(),
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// A new subscriber, receiving what is sent from now on.
    pub(crate) fn subscribe(&self) -> Events {
        let sender = self
            .sender
            .get_or_init(|| broadcast::channel(self.capacity).0);
        Events::new(sender.subscribe())
    }

    /// The sender, if anyone subscribed and still listens.
    pub(crate) fn listened(&self) -> Option<broadcast::Sender<Event>> {
        let sender = self.sender.get()?;
        (sender.receiver_count() > 0).then(|| sender.clone())
    }
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new(DEFAULT_CAPACITY)
    }
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let subscribers = self
            .sender
            .get()
            .map_or(0, broadcast::Sender::receiver_count);
        f.debug_struct("Hub")
            .field("capacity", &self.capacity)
            .field("subscribers", &subscribers)
            .finish()
    }
}
