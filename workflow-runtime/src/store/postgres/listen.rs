//! Waking workers at once: `LISTEN`/`NOTIFY` on channel [`CHANNEL`]. Submitting a run,
//! recording an answer and sending a message notify it; a connection of the store's own
//! listens, and counts what it hears in a `watch` channel that workers wait on between
//! claims (their poll interval stays, for what no notification announces: timers that come
//! due, leases that expire).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{AsyncMessage, Config, Socket};

use crate::future::BoxFuture;

/// The channel: one per database (stores in other schemas of it wake these workers too,
/// which then find nothing to claim, as at a poll).
pub(super) const CHANNEL: &str = "workflow_work";

/// The statement that notifies the workers listening.
pub(super) const NOTIFY: &str = "SELECT pg_notify('workflow_work', '')";

/// Opens a listening connection and forwards what it hears until nobody waits any more.
pub(super) type Listen =
    Box<dyn Fn(Arc<watch::Sender<u64>>) -> BoxFuture<'static, ()> + Send + Sync>;

/// What a store keeps to hand out notices: the counter, and the task that listens while
/// anyone waits.
pub(super) struct Notices {
    listen: Listen,
    state: Mutex<Option<Listening>>,
}

/// The counter receivers subscribe to, and the task that bumps it.
type Listening = (Arc<watch::Sender<u64>>, JoinHandle<()>);

impl Notices {
    pub(super) fn new(listen: Listen) -> Self {
        Notices {
            listen,
            state: Mutex::new(None),
        }
    }

    /// A receiver of the counter, starting the listening task if none runs (it ends once
    /// every receiver is dropped).
    pub(super) fn subscribe(&self) -> watch::Receiver<u64> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((sender, task)) = state.as_ref() {
            if !task.is_finished() {
                return sender.subscribe();
            }
        }
        let sender = Arc::new(watch::channel(0).0);
        let receiver = sender.subscribe();
        let task = tokio::spawn((self.listen)(Arc::clone(&sender)));
        *state = Some((sender, task));
        receiver
    }
}

impl Drop for Notices {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, task)) = state.take() {
            task.abort();
        }
    }
}

/// Listens on [`CHANNEL`] over connections to `config`, reconnecting a second after one is
/// lost, until every receiver of `notices` is dropped. Each notification, and each new
/// connection (something may have been missed while none listened), adds one to the count.
pub(super) async fn listen<T>(config: Config, tls: T, notices: Arc<watch::Sender<u64>>)
where
    T: MakeTlsConnect<Socket> + Clone + Send + 'static,
    T::Stream: Send + 'static,
    T::TlsConnect: Send,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    loop {
        tokio::select! {
            () = notices.closed() => return,
            () = listen_once(&config, tls.clone(), &notices) => {}
        }
        tokio::select! {
            () = notices.closed() => return,
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

fn bump(notices: &watch::Sender<u64>) {
    notices.send_modify(|count| *count = count.wrapping_add(1));
}

/// One connection: `LISTEN`, then forward notifications until it is lost. The connection is
/// driven on a task of its own, which ends when the client is dropped.
async fn listen_once<T>(config: &Config, tls: T, notices: &Arc<watch::Sender<u64>>)
where
    T: MakeTlsConnect<Socket> + Send + 'static,
    T::Stream: Send + 'static,
    T::TlsConnect: Send,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    let (client, mut connection) = match config.connect(tls).await {
        Ok(pair) => pair,
        Err(error) => {
            tracing::warn!(error = %error, "postgres store: the listening connection failed");
            return;
        }
    };
    let sender = Arc::clone(notices);
    let driver = tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(_))) => bump(&sender),
                Some(Ok(_)) => {}
                Some(Err(error)) => {
                    tracing::warn!(error = %error, "postgres store: the listening connection was lost");
                    return;
                }
                None => return,
            }
        }
    });
    if let Err(error) = client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
        tracing::warn!(error = %error, "postgres store: LISTEN failed");
        return;
    }
    bump(notices);
    // The client stays open while the connection lasts.
    let _ = driver.await;
    drop(client);
}
