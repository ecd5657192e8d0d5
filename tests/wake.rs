//! Workers on Postgres wake at once (`LISTEN`/`NOTIFY`) when a run is submitted, a pause is
//! answered or a message is sent, rather than at their next poll: the worker here polls once
//! an hour, so a run it drives within the test's deadline was announced to it. Run handles
//! wake when their run ends (finishes, fails, is cancelled), likewise. A store's listening
//! connection listens only while a worker or a handle waits, and is opened again when lost.

use std::sync::Arc;
use std::time::Duration;

use workflow::prelude::*;
use workflow::{RunId, Runner, Worker};

#[path = "support/postgres.rs"]
mod postgres;

/// Greets.
struct Greet;

#[workflow]
impl Greet {
    async fn greet(&self, who: String) -> String {
        format!("hello {who}")
    }

    flow! {
        start -> greet -> end;
    }
}

/// A note sent to a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Note {
    text: String,
}

/// Ends with the first note it receives.
struct Inbox;

#[workflow]
impl Inbox {
    async fn open(&self, text: String) -> String {
        text
    }

    async fn take(&self, text: String, note: Note) -> String {
        format!("{text}: {}", note.text)
    }

    flow! {
        start -> open -> receive take -> end;
    }
}

/// Waits for a yes or no.
struct Approve;

#[workflow]
impl Approve {
    async fn draft(&self, text: String) -> String {
        text
    }

    async fn review(&self, text: String, approved: bool) -> String {
        format!("{text}: {approved}")
    }

    flow! {
        start -> draft -> pause review -> end;
    }
}

/// Fails its step: a run of it fails.
struct Broken;

#[workflow]
impl Broken {
    async fn fail(&self, _: String) -> Result<String> {
        Err(Error::other(std::io::Error::other("broken")))
    }

    flow! {
        start -> fail -> end;
    }
}

/// Holds until the test lets it go on.
struct Hold;

/// What lets [`Hold`]'s step go on.
static RELEASE: tokio::sync::Notify = tokio::sync::Notify::const_new();

#[workflow]
impl Hold {
    async fn hold(&self, text: String) -> String {
        RELEASE.notified().await;
        text
    }

    flow! {
        start -> hold -> end;
    }
}

/// How long a run the worker was told of may take: far less than its poll interval.
const DEADLINE: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_worker_wakes_at_a_submit_an_answer_and_a_message() {
    let Some(store) = postgres::store("wake").await else {
        return;
    };
    let runner = Runner::new(Arc::clone(&store));
    // Created before the worker starts: a run waiting for a message, one at a pause.
    let waiting = runner
        .start(&Inbox, "inbox".into())
        .await
        .expect("starts")
        .id;
    let paused = runner
        .start(&Approve, "draft".into())
        .await
        .expect("starts");
    let token = paused.outcome.pause().and_then(|pause| pause.token());
    let token = token.expect("a durable pause");

    let worker = Worker::new(runner.clone())
        .register(Greet)
        .register(Inbox)
        .register(Approve)
        .poll_interval(Duration::from_secs(3600))
        .spawn();
    // Time for its first claim, which finds nothing; from then on it waits for news.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let submitted = runner
        .submit::<Greet>("world".into())
        .await
        .expect("submits");
    let greeted = tokio::time::timeout(DEADLINE, submitted.result()).await;
    assert_eq!(greeted.expect("woken").expect("finishes"), "hello world");

    let note = Note { text: "hi".into() };
    runner
        .send::<Inbox, Note>(waiting, note)
        .await
        .expect("sends");
    let inbox = runner.handle::<Inbox>(waiting);
    let inbox = tokio::time::timeout(DEADLINE, inbox.result()).await;
    assert_eq!(inbox.expect("woken").expect("finishes"), "inbox: hi");

    runner
        .record_answer(token, &serde_json::json!(true))
        .await
        .expect("records");
    let approved = runner.handle::<Approve>(paused.id);
    let approved = tokio::time::timeout(DEADLINE, approved.result()).await;
    assert_eq!(approved.expect("woken").expect("finishes"), "draft: true");

    let report = worker.stop().await;
    assert_eq!(report.finished, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handle_wakes_when_its_run_finishes_fails_or_is_cancelled() {
    let Some(store) = postgres::store("wake").await else {
        return;
    };
    let runner = Runner::new(Arc::clone(&store));
    let hour = Duration::from_secs(3600);
    let paused = runner
        .start(&Approve, "draft".into())
        .await
        .expect("starts");
    let token = paused.outcome.pause().and_then(|pause| pause.token());
    let token = token.expect("a durable pause");
    // Handles that would look at the store only every 20 hours, awaiting from now on.
    let finished = runner.handle::<Approve>(paused.id).poll_every(hour);
    let finished = tokio::spawn(async move { finished.result().await });
    let failed = runner.submit::<Broken>("x".into()).await.expect("submits");
    let failed = failed.poll_every(hour);
    let failed = tokio::spawn(async move { failed.result().await });
    let cancelled = runner
        .submit::<Greet>("x".into())
        .await
        .expect("submits")
        .id();
    let waiting = runner.handle::<Greet>(cancelled).poll_every(hour);
    let waiting = tokio::spawn(async move { waiting.result().await });
    // Time for each handle's first look, which finds its run going on.
    tokio::time::sleep(Duration::from_millis(300)).await;

    runner.cancel(cancelled).await.expect("cancels");
    let error = tokio::time::timeout(DEADLINE, waiting)
        .await
        .expect("woken");
    assert!(
        matches!(error.expect("joins"), Err(Error::RunCancelled { .. })),
        "cancelled"
    );

    let worker = Worker::new(runner.clone())
        .register(Approve)
        .register(Broken)
        .poll_interval(Duration::from_millis(20))
        .spawn();
    let error = tokio::time::timeout(DEADLINE, failed).await.expect("woken");
    assert!(
        matches!(error.expect("joins"), Err(Error::RunFailed { .. })),
        "failed"
    );
    runner
        .record_answer(token, &serde_json::json!(false))
        .await
        .expect("records");
    let output = tokio::time::timeout(DEADLINE, finished)
        .await
        .expect("woken");
    assert_eq!(output.expect("joins").expect("finishes"), "draft: false");
    worker.stop().await;
}

/// A connection of the test's own that listens to the notices of ended runs, as a store's
/// listening connection does: what it hears.
struct Overheard {
    client: workflow::store::tokio_postgres::Client,
    heard: tokio::sync::mpsc::UnboundedReceiver<String>,
}

impl Overheard {
    async fn listen(url: &str) -> Self {
        use workflow::store::tokio_postgres::{self, AsyncMessage, NoTls};

        let (client, mut connection) = tokio_postgres::connect(url, NoTls).await.expect("connects");
        let (tell, heard) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(Ok(message)) =
                std::future::poll_fn(|cx| connection.poll_message(cx)).await
            {
                if let AsyncMessage::Notification(note) = message {
                    let _ = tell.send(note.payload().to_owned());
                }
            }
        });
        client
            .batch_execute("LISTEN workflow_ended")
            .await
            .expect("listens");
        Overheard { client, heard }
    }

    /// The ids announced since the last call: all of them, as a marker notified now comes
    /// after them.
    async fn announced(&mut self) -> Vec<String> {
        let marker = RunId::new().to_string();
        let notify = format!("SELECT pg_notify('workflow_ended', '{marker}')");
        self.client.batch_execute(&notify).await.expect("notifies");
        let mut heard = Vec::new();
        loop {
            let next = tokio::time::timeout(DEADLINE, self.heard.recv()).await;
            match next.expect("the marker comes").expect("listening") {
                payload if payload == marker => return heard,
                payload => heard.push(payload),
            }
        }
    }
}

/// A store on a schema of its own, a runner on it, a connection that overhears the ends of
/// runs announced, and the schema's name; `None` without a server.
async fn overheard_store() -> Option<(
    Arc<dyn workflow::store::CheckpointStore>,
    Runner,
    Overheard,
    String,
)> {
    let url = postgres::url()?;
    let schema = postgres::schema("wake");
    let store = postgres::connect(&url, &schema).await;
    let runner = Runner::new(Arc::clone(&store));
    let overheard = Overheard::listen(&url).await;
    Some((store, runner, overheard, schema))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_end_of_a_run_a_handle_awaits_is_announced() {
    let Some((_, runner, mut overheard, schema)) = overheard_store().await else {
        return;
    };
    let unawaited = runner
        .submit::<Greet>("nobody".into())
        .await
        .expect("submits")
        .id();
    let awaited = runner
        .submit::<Greet>("a handle".into())
        .await
        .expect("submits");
    let awaited_id = awaited.id();
    // Awaited from now on (the handle asks for the end before its first look).
    let awaited = awaited.poll_every(Duration::from_secs(3600));
    let awaited = tokio::spawn(async move { awaited.result().await });
    // The handle has asked for the end once the run's row says so.
    let marked = format!("SELECT awaited FROM {schema}.workflow_runs WHERE id = $1");
    loop {
        let row = overheard
            .client
            .query_one(&marked, &[awaited_id.as_uuid()])
            .await;
        if row
            .and_then(|row| row.try_get::<_, bool>(0))
            .expect("reads")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let worker = Worker::new(runner.clone())
        .register(Greet)
        .poll_interval(Duration::from_millis(20))
        .spawn();
    let output = tokio::time::timeout(DEADLINE, awaited)
        .await
        .expect("woken");
    assert_eq!(output.expect("joins").expect("finishes"), "hello a handle");
    let nobody = runner.handle::<Greet>(unawaited);
    while nobody.try_result().await.expect("looks").is_none() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    worker.stop().await;

    let announced = overheard.announced().await;
    assert!(announced.contains(&awaited_id.to_string()), "{announced:?}");
    assert!(!announced.contains(&unawaited.to_string()), "{announced:?}");
}

/// The ends of runs saved at once (a `PostgresStore` writes the saves that come while another
/// is in flight in one statement) are announced as a save alone announces its run's: each
/// awaited run's once, no other's, and after its write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ends_of_runs_saved_at_once_are_announced_if_awaited() {
    use workflow::store::{Checkpoint, Lease, RunStatus};

    let Some((store, runner, mut overheard, _)) = overheard_store().await else {
        return;
    };
    let mut runs = Vec::new();
    for index in 0..12 {
        let id = runner
            .create::<Greet>(format!("run {index}"))
            .await
            .expect("created");
        // The first save goes alone, the others behind it together: awaited runs in both.
        if index % 2 == 0 {
            store.await_end(id).await.expect("awaits");
        }
        let lease = Lease::new("worker", Duration::from_secs(30));
        let (_, first) = store.claim(id, &lease).await.expect("claims");
        runs.push((id, lease, first));
    }
    let ends = runs.iter().map(|(_, lease, first)| {
        let end = Checkpoint {
            seq: 1,
            status: RunStatus::Finished,
            ..first.clone()
        };
        store.save(lease, end)
    });
    for saved in futures_util::future::join_all(ends).await {
        saved.expect("saved");
    }
    let mut announced = overheard.announced().await;
    announced.sort();
    let mut awaited: Vec<String> = runs
        .iter()
        .step_by(2)
        .map(|(id, _, _)| id.to_string())
        .collect();
    awaited.sort();
    assert_eq!(announced, awaited);
    for (id, _, _) in &runs {
        let info = store.run(*id).await.expect("run");
        assert_eq!(
            (info.status, info.version, info.owner),
            (RunStatus::Finished, 1, None)
        );
    }
}

/// `url` with the connection's `application_name` set to `name`.
fn named(url: &str, name: &str) -> String {
    if !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
        return format!("{url} application_name={name}");
    }
    let joint = if url.contains('?') { '&' } else { '?' };
    format!("{url}{joint}application_name={name}")
}

/// The last statement of the listening connections of the stores named `name`: their
/// `LISTEN` or their `UNLISTEN`, once they have made one.
async fn listening(watch: &workflow::store::tokio_postgres::Client, name: &str) -> Vec<String> {
    let rows = watch
        .query(
            "SELECT query FROM pg_stat_activity WHERE application_name = $1 \
             AND query LIKE '%LISTEN%'",
            &[&name],
        )
        .await
        .expect("reads");
    rows.iter().map(|row| row.get(0)).collect()
}

/// Waits until the listening connection of the store named `name` has just made a statement
/// that starts with `statement`.
async fn until_listening(
    watch: &workflow::store::tokio_postgres::Client,
    name: &str,
    statement: &str,
) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let last = listening(watch, name).await;
        if last.len() == 1 && last[0].starts_with(statement) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the listening connection's last statement: {last:?}, not {statement}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A worker's store whose connections are named, what the test submits and awaits through,
/// and a connection of the test's own to read the first one's statements.
struct Watched {
    /// On a schema of its own, its connections named `name`.
    store: Arc<dyn workflow::store::CheckpointStore>,
    /// Another store on the same schema.
    other: Runner,
    watch: workflow::store::tokio_postgres::Client,
    name: String,
}

/// A [`Watched`] store on the test server; `None` (the test skipped) without one.
async fn watched() -> Option<Watched> {
    use workflow::store::tokio_postgres::{self, NoTls};

    let url = postgres::url()?;
    let schema = postgres::schema("wake");
    let store = postgres::connect(&named(&url, &schema), &schema).await;
    let other = Runner::new(postgres::connect(&url, &schema).await);
    let (watch, connection) = tokio_postgres::connect(&url, NoTls)
        .await
        .expect("connects");
    tokio::spawn(connection);
    Some(Watched {
        store,
        other,
        watch,
        name: schema,
    })
}

impl Watched {
    /// Waits until the store's listening connection last ran `statement`.
    async fn until(&self, statement: &str) {
        until_listening(&self.watch, &self.name, statement).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workers_connection_listens_only_while_the_worker_waits() {
    let Some(watched) = watched().await else {
        return;
    };

    let worker = Worker::new(Runner::new(Arc::clone(&watched.store)))
        .register(Hold)
        .register(Greet)
        .concurrency(1)
        .poll_interval(Duration::from_secs(3600))
        .spawn();
    // Idle, it waits for news: its store listens.
    watched.until("LISTEN").await;
    // Busy (it drives one run at a time), it waits for none: its store stops listening, so
    // that the notices of other runs do not wake its connection.
    let held = watched
        .other
        .submit::<Hold>("held".into())
        .await
        .expect("submits");
    watched.until("UNLISTEN").await;
    RELEASE.notify_one();
    let held = tokio::time::timeout(DEADLINE, held.result()).await;
    assert_eq!(held.expect("ends").expect("finishes"), "held");
    // Idle again, it listens again, and a run submitted now wakes it at once.
    watched.until("LISTEN").await;
    let greeted = watched
        .other
        .submit::<Greet>("again".into())
        .await
        .expect("submits");
    let greeted = tokio::time::timeout(DEADLINE, greeted.result()).await;
    assert_eq!(greeted.expect("woken").expect("finishes"), "hello again");
    let report = worker.stop().await;
    assert_eq!(report.finished, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_hears_again_once_its_listening_connection_is_back() {
    let Some(watched) = watched().await else {
        return;
    };

    let worker = Worker::new(Runner::new(Arc::clone(&watched.store)))
        .register(Greet)
        .poll_interval(Duration::from_secs(3600))
        .spawn();
    watched.until("LISTEN").await;
    // The listening connection is lost while the worker waits.
    let ended: bool = watched
        .watch
        .query_one(
            "SELECT bool_and(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE application_name = $1 AND query LIKE '%LISTEN%'",
            &[&watched.name],
        )
        .await
        .and_then(|row| row.try_get(0))
        .expect("terminates");
    assert!(ended, "the listening connection was there");
    // Another one listens, and a run submitted now wakes the worker at once.
    watched.until("LISTEN").await;
    let greeted = watched
        .other
        .submit::<Greet>("back".into())
        .await
        .expect("submits");
    let greeted = tokio::time::timeout(DEADLINE, greeted.result()).await;
    assert_eq!(greeted.expect("woken").expect("finishes"), "hello back");
    worker.stop().await;
}
