//! Waking at once: `LISTEN`/`NOTIFY`. Submitting a run, recording an answer and sending a
//! message notify [`WORK`]: workers waiting between claims wake (their poll interval stays,
//! for what no notification announces: timers that come due, leases that expire). A run that
//! ends notifies [`ENDED`] with its id if a run handle awaits it (the handle marks its row
//! first: [`AWAIT_END`]), and that handle wakes.
//!
//! A notice wakes every connection that listens in the database, whatever its channels. So a
//! store's connection listens to both channels only while someone waits (a worker with
//! nothing to claim, a run handle), and stops once nobody has waited for [`LINGER`]: a busy
//! worker's connection is not woken by each run submitted, nor a worker's by each run's end.
//! For the same reason only the ends someone awaits are announced.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{AsyncMessage, Client, Config, Socket, Statement};

use crate::future::BoxFuture;
use crate::store::notices::{Waiters, WorkNotices};
use crate::store::RunId;

/// The channel of new work. One per database: stores in other schemas of it wake these
/// workers too, which then find nothing to claim, as at a poll.
pub(super) const WORK: &str = "workflow_work";

/// The channel of ended runs; the payload is the run's id.
pub(super) const ENDED: &str = "workflow_ended";

/// How long a store's connection goes on listening once nobody waits, if nobody begins to:
/// at most one `UNLISTEN` and one `LISTEN` in that time, however often workers go from idle
/// to busy and back.
pub(super) const LINGER: Duration = Duration::from_secs(1);

/// The statement that announces work: run `$1` submitted, or (empty) something else.
pub(super) const NOTIFY_WORK: &str = "SELECT pg_notify('workflow_work', $1::text)";

/// The statement that announces that run `$1` ended, if a run handle awaits it.
pub(super) const NOTIFY_ENDED: &str = "SELECT pg_notify('workflow_ended', id::text) \
     FROM workflow_runs WHERE id = $1::uuid AND awaited";

/// The statement that asks for the end of run `$1` to be announced: a run handle awaits it.
pub(super) const AWAIT_END: &str =
    "UPDATE workflow_runs SET awaited = true WHERE id = $1::uuid AND NOT awaited";

/// Tells the workers listening that there may be a run to claim ([`NOTIFY_WORK`]): run
/// `submitted`, or something else (an answer, a message). Best effort: the write it follows
/// is done, and a worker that hears nothing finds the run at its next poll.
pub(super) async fn notify_work(client: &Client, notify: &Statement, submitted: Option<RunId>) {
    let payload = submitted.map(|run| run.to_string()).unwrap_or_default();
    if let Err(error) = client.execute(notify, &[&payload]).await {
        tracing::debug!(error = %error, "postgres store: NOTIFY failed");
    }
}

/// Tells the run handles listening that run `run` may have ended, if one awaits it
/// ([`NOTIFY_ENDED`]). Best effort, as [`notify_work`]: a handle also looks at its run once in
/// a while.
pub(super) async fn notify_ended(client: &Client, notify: &Statement, run: RunId) {
    if let Err(error) = client.execute(notify, &[run.as_uuid()]).await {
        tracing::debug!(error = %error, "postgres store: NOTIFY failed");
    }
}

/// What the listening connection tells: work (a count that goes up, and the run the last
/// notice named, if it named one) and ended runs (`None`: the connection was lost, so a run
/// may have ended unheard); and who waits for either.
#[derive(Clone)]
pub(super) struct Heard {
    work: Arc<watch::Sender<(u64, Option<RunId>)>>,
    ended: broadcast::Sender<Option<RunId>>,
    waiters: Arc<Waiters>,
}

impl Heard {
    /// Something may have been missed while nobody listened: wake everyone.
    fn missed(&self) {
        self.announce(None);
        let _ = self.ended.send(None);
    }

    /// Counts a notice of work, which named run `run` if any.
    fn announce(&self, run: Option<RunId>) {
        self.work
            .send_modify(|(count, last)| (*count, *last) = (count.wrapping_add(1), run));
    }

    /// Whether anyone waits: a worker for work, or a run handle for its run's end.
    fn wanted(&self) -> bool {
        self.waiters.waiting() || self.ended.receiver_count() > 0
    }

    /// Returns once someone waits.
    async fn until_wanted(&self) {
        while !self.wanted() {
            self.waiters.began().await;
        }
    }

    /// Returns once nobody has waited, nor begun to, for [`LINGER`].
    async fn until_unwanted(&self) {
        loop {
            let begun = self.waiters.begun();
            tokio::time::sleep(LINGER).await;
            if !self.wanted() && self.waiters.begun() == begun {
                return;
            }
        }
    }
}

/// Opens a listening connection and forwards what it hears, forever.
pub(super) type Listen = Box<dyn Fn(Heard) -> BoxFuture<'static, ()> + Send + Sync>;

/// What a store keeps to hand out notices, and the task that listens once anyone waits.
pub(super) struct Notices {
    listen: Listen,
    heard: Heard,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Notices {
    pub(super) fn new(listen: Listen) -> Self {
        Notices {
            listen,
            heard: Heard {
                work: Arc::new(watch::channel((0, None)).0),
                ended: broadcast::channel(256).0,
                waiters: Arc::default(),
            },
            task: Mutex::new(None),
        }
    }

    /// The work notices, whose waits the listening connection serves.
    pub(super) fn work(&self) -> WorkNotices {
        self.start();
        WorkNotices::counted(self.heard.work.subscribe(), Arc::clone(&self.heard.waiters))
    }

    /// A receiver of the ids of runs that ended: while it lives, the connection listens.
    pub(super) fn ended(&self) -> broadcast::Receiver<Option<RunId>> {
        self.start();
        let ended = self.heard.ended.subscribe();
        self.heard.waiters.begin();
        ended
    }

    /// Starts the listening task, if it is not running.
    fn start(&self) {
        let mut task = self.task.lock().unwrap_or_else(PoisonError::into_inner);
        if task.as_ref().is_none_or(JoinHandle::is_finished) {
            *task = Some(tokio::spawn((self.listen)(self.heard.clone())));
        }
    }
}

impl Drop for Notices {
    fn drop(&mut self) {
        let task = self.task.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(task) = task.take() {
            task.abort();
        }
    }
}

/// Listens on [`WORK`] and [`ENDED`] over connections to `config` while anyone waits (see
/// [`listen_once`]), reconnecting a second after one is lost.
pub(super) async fn listen<T>(config: Config, tls: T, heard: Heard)
where
    T: MakeTlsConnect<Socket> + Clone + Send + 'static,
    T::Stream: Send + 'static,
    T::TlsConnect: Send,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    loop {
        heard.until_wanted().await;
        listen_once(&config, tls.clone(), &heard).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// One connection, until it is lost: `LISTEN` while someone waits, forwarding what it hears,
/// and `UNLISTEN` once nobody has for [`LINGER`]. Each `LISTEN` counts as news on both
/// channels: something may have been missed while none listened. The connection is driven
/// on a task of its own, which ends when the client is dropped.
async fn listen_once<T>(config: &Config, tls: T, heard: &Heard)
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
    let forward = heard.clone();
    let mut driver = tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(note))) if note.channel() == ENDED => {
                    // A payload that is not a run id tells nothing more than "check".
                    let _ = forward.ended.send(note.payload().parse().ok());
                }
                Some(Ok(AsyncMessage::Notification(note))) => {
                    // A run submitted, or (no run id) something else to claim.
                    forward.announce(note.payload().parse().ok());
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => {
                    tracing::warn!(error = %error, "postgres store: the listening connection was lost");
                    return;
                }
                None => return,
            }
        }
    });
    let listen = format!("LISTEN {WORK}; LISTEN {ENDED}");
    loop {
        if let Err(error) = client.batch_execute(&listen).await {
            tracing::warn!(error = %error, "postgres store: LISTEN failed");
            return;
        }
        heard.missed();
        tokio::select! {
            _ = &mut driver => return,
            () = heard.until_unwanted() => {}
        }
        if let Err(error) = client.batch_execute("UNLISTEN *").await {
            tracing::warn!(error = %error, "postgres store: UNLISTEN failed");
            return;
        }
        tokio::select! {
            _ = &mut driver => return,
            () = heard.until_wanted() => {}
        }
    }
}
