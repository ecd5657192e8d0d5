//! [`PostgresStore`]: runs in a PostgreSQL database, shared by many workers.

mod answer;
mod calls;
mod group;
mod listen;
mod options;
mod queue;
mod rate;
mod read;
mod retention;
mod rows;
mod sql;
mod statements;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{Client, Config, Socket};

use super::queue::limited;
use super::{
    BranchRecord, CallRecord, Cancel, Checkpoint, CheckpointStore, ChildRecord, Lease, LoggedEvent,
    NewEvent, NewRun, RateSlot, Retention, RunFilter, RunId, RunInfo, RunList, WorkflowType,
};
use crate::definition::WorkflowDefinition;
use crate::error::Error;
use crate::future::BoxFuture;
use crate::store::time::{lease_millis, to_millis};
use crate::usage::SavedUsage;
use rows::store;
use statements::Statements;

pub use options::PostgresOptions;

/// A [`CheckpointStore`] in PostgreSQL, so that many worker processes on many machines
/// share runs: any of them can resume a run another started, and leases keep one writer per
/// run. Leases are timed by the database's clock, so workers' clocks need not agree.
///
/// Each write is one statement (an `UPDATE` guarded by the lease and the version, and the
/// `INSERT` of the checkpoint, in one common table expression), so a write is atomic and
/// concurrent writers of one run are ordered by its row lock. Statements are prepared once
/// per connection; a lost connection is reopened on the next call.
///
/// A store runs its statements on one connection, and a worker drives all its runs through
/// its store: the checkpoints of other runs that are saved while one is on its way are
/// written together, in one statement, each checked as it would be alone. A process that
/// saves one run at a time pays nothing for that; one that drives many pays the server's
/// cost of a statement (its transaction, its commit) once per group rather than once per
/// step.
///
/// Workers wake at once when there may be work ([`CheckpointStore::work_notices`]):
/// submitting a run, recording an answer and sending a message `NOTIFY` channel
/// `workflow_work`. Run handles wake when their run ends ([`CheckpointStore::run_ends`]):
/// the write that ends a run (its last checkpoint, a release, a cancel) notifies
/// `workflow_ended` if a handle awaits the run ([`CheckpointStore::await_end`]). While a
/// worker or a handle waits, and for a second after, the store listens on a connection of its
/// own: each notice in the database wakes every connection that listens, and a busy worker's
/// need not be.
///
/// The tables (`workflow_runs`, `workflow_checkpoints`, `workflow_schema`) are created if
/// missing, in the connection's default schema or in [`PostgresOptions::schema`]. States
/// are stored as `text` holding their JSON (cast to `jsonb` to query them).
///
/// ```no_run
/// use std::sync::Arc;
/// use workflow_runtime::store::PostgresStore;
/// use workflow_runtime::Runner;
///
/// # async fn example() -> Result<(), workflow_runtime::Error> {
/// let store = PostgresStore::connect("postgresql://workflow@localhost/workflow").await?;
/// let runner = Runner::new(Arc::new(store));
/// # let _ = runner;
/// # Ok(())
/// # }
/// ```
pub struct PostgresStore {
    open: Box<dyn Fn() -> BoxFuture<'static, Result<Connection, Error>> + Send + Sync>,
    current: Mutex<Option<Arc<Connection>>>,
    /// Held while a new connection is opened, so that callers open one, not one each.
    reopening: tokio::sync::Mutex<()>,
    /// The connection claims of limited workflows run their transactions on, opened when
    /// first needed: one claim at a time per store.
    claiming: tokio::sync::Mutex<Option<Connection>>,
    /// What wakes workers and run handles: a connection that listens, from the first wait
    /// on.
    notices: listen::Notices,
    /// When a claim last searched the whole queue, and the last run a claim took.
    searched: queue::Searched,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").finish_non_exhaustive()
    }
}

/// One connection and its prepared statements.
struct Connection {
    client: Client,
    sql: Statements,
    /// The saves waiting to go together.
    group: group::Group,
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgresql://user:password@host:port/database`,
    /// or `host=… user=…`) without TLS, and creates the tables if missing.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] if the URL does not parse, the server cannot be reached, or the
    /// tables were created by a newer version of this crate.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Self::connect_with(url, PostgresOptions::new()).await
    }

    /// Connects to the database at `url` with `options`, and creates the tables if missing.
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect), and [`Error::Store`] if the schema name is not valid.
    pub async fn connect_with<T>(url: &str, options: PostgresOptions<T>) -> Result<Self, Error>
    where
        T: MakeTlsConnect<Socket> + Clone + Send + Sync + 'static,
        T::Stream: Send + 'static,
        T::TlsConnect: Send,
        <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
    {
        let config: Config = url.parse().map_err(store)?;
        let setup = Arc::new(setup_sql(options.schema.as_deref())?);
        let tls = options.tls;
        let listen: listen::Listen = {
            let (config, tls) = (config.clone(), tls.clone());
            Box::new(move |notices| Box::pin(listen::listen(config.clone(), tls.clone(), notices)))
        };
        let open = move || -> BoxFuture<'static, Result<Connection, Error>> {
            let (config, tls, setup) = (config.clone(), tls.clone(), Arc::clone(&setup));
            Box::pin(async move { open(&config, tls, &setup).await })
        };
        let first = open().await?;
        Ok(PostgresStore {
            open: Box::new(open),
            current: Mutex::new(Some(Arc::new(first))),
            reopening: tokio::sync::Mutex::new(()),
            claiming: tokio::sync::Mutex::new(None),
            notices: listen::Notices::new(listen),
            searched: queue::Searched::default(),
        })
    }

    fn current(&self) -> Option<Arc<Connection>> {
        let current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        current
            .as_ref()
            .filter(|conn| !conn.client.is_closed())
            .cloned()
    }

    /// The open connection, or a new one if it was lost.
    async fn connection(&self) -> Result<Arc<Connection>, Error> {
        if let Some(conn) = self.current() {
            return Ok(conn);
        }
        let _one = self.reopening.lock().await;
        if let Some(conn) = self.current() {
            return Ok(conn);
        }
        let conn = Arc::new((self.open)().await?);
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&conn));
        Ok(conn)
    }
}

/// The SQL run on each new connection: schema, tables, search path, under a lock so that
/// workers starting together do not race to create them.
fn setup_sql(schema: Option<&str>) -> Result<String, Error> {
    let mut sql = String::from("BEGIN; SELECT pg_advisory_xact_lock(7302419508113);");
    if let Some(schema) = schema {
        let valid = !schema.is_empty()
            && schema.len() <= 63
            && !schema.starts_with(|c: char| c.is_ascii_digit())
            && schema
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(Error::Store {
                store: "postgres",
                source: format!(
                    "the schema name `{schema}` is not valid; use letters, digits and `_`, \
                     starting with a letter or `_`"
                )
                .into(),
            });
        }
        // Checked above: the name needs no escaping.
        sql.push_str(&format!(
            "CREATE SCHEMA IF NOT EXISTS \"{schema}\"; SET search_path TO \"{schema}\";"
        ));
    }
    sql.push_str(statements::SCHEMA);
    sql.push_str(statements::ANSWERS_AND_DEFINITIONS);
    sql.push_str(statements::CALLS);
    sql.push_str(statements::RATE_LIMITS);
    sql.push_str(statements::CHILDREN);
    sql.push_str(statements::BATCHES);
    sql.push_str(statements::AWAITED);
    sql.push_str(statements::EVENTS_IN_CHECKPOINTS);
    sql.push_str("COMMIT;");
    Ok(sql)
}

async fn open<T>(config: &Config, tls: T, setup: &str) -> Result<Connection, Error>
where
    T: MakeTlsConnect<Socket> + Send + 'static,
    T::Stream: Send + 'static,
    T::TlsConnect: Send,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    let (client, connection) = config.connect(tls).await.map_err(store)?;
    tokio::spawn(async move {
        // Ends when the client is dropped or the server goes away; the next call reconnects.
        let _ = connection.await;
    });
    client.batch_execute(setup).await.map_err(store)?;
    let version: Option<i32> = client
        .query_one("SELECT max(version) FROM workflow_schema", &[])
        .await
        .and_then(|row| row.try_get(0))
        .map_err(store)?;
    if let Some(version) = version.filter(|version| *version > statements::SCHEMA_VERSION) {
        return Err(Error::Store {
            store: "postgres",
            source: format!(
                "the tables were created with schema version {version}, newer than this \
                 version of `workflow` reads ({}); upgrade `workflow`",
                statements::SCHEMA_VERSION
            )
            .into(),
        });
    }
    let sql = Statements::prepare(&client).await?;
    Ok(Connection {
        client,
        sql,
        group: group::Group::default(),
    })
}

/// Tells the workers listening that there may be a run to claim: run `submitted`, or
/// something else.
async fn notify(conn: &Connection, submitted: Option<RunId>) {
    listen::notify_work(&conn.client, &conn.sql.notify_work, submitted).await;
}

impl CheckpointStore for PostgresStore {
    fn create(&self, run: NewRun) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move {
            let conn = self.connection().await?;
            let create = sql::create(&conn.client, &conn.sql, &run);
            if run.lease.is_some() {
                return create.await;
            }
            // Submitted: the notice goes in the same round trip, right behind the insert.
            tokio::join!(create, notify(&conn, Some(run.first.run))).0
        })
    }

    fn claim<'a>(
        &'a self,
        run: RunId,
        lease: &'a Lease,
    ) -> BoxFuture<'a, Result<(RunInfo, Checkpoint), Error>> {
        Box::pin(async move {
            let conn = self.connection().await?;
            sql::claim(
                &conn.client,
                &conn.sql,
                run,
                lease.id,
                &lease.owner,
                lease_millis(lease),
            )
            .await
        })
    }

    fn renew<'a>(&'a self, run: RunId, lease: &'a Lease) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let conn = self.connection().await?;
            sql::renew(&conn.client, &conn.sql, run, lease.id, lease_millis(lease)).await
        })
    }

    fn save<'a>(
        &'a self,
        lease: &'a Lease,
        checkpoint: Checkpoint,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let conn = self.connection().await?;
            group::save(&conn, lease.id, lease_millis(lease), &checkpoint, &[]).await
        })
    }

    fn save_logged<'a>(
        &'a self,
        lease: &'a Lease,
        checkpoint: Checkpoint,
        events: Vec<NewEvent>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let conn = self.connection().await?;
            group::save(&conn, lease.id, lease_millis(lease), &checkpoint, &events).await
        })
    }

    fn append_events(&self, run: RunId, events: Vec<NewEvent>) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move {
            let conn = self.connection().await?;
            sql::append_events(&conn.client, &conn.sql, run, &events).await
        })
    }

    fn events(
        &self,
        run: RunId,
        from: u64,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<LoggedEvent>, Error>> {
        Box::pin(async move {
            let conn = self.connection().await?;
            read::events(&conn.client, &conn.sql, run, from, limit).await
        })
    }

    fn latest_events(
        &self,
        run: RunId,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<LoggedEvent>, Error>> {
        Box::pin(async move {
            let conn = self.connection().await?;
            read::latest_events(&conn.client, &conn.sql, run, limit).await
        })
    }

    fn save_branch<'a>(
        &'a self,
        lease: &'a Lease,
        run: RunId,
        seq: u64,
        branch: BranchRecord,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let conn = self.connection().await?;
            let at = (run, seq);
            let ttl = lease_millis(lease);
            sql::save_branch(&conn.client, &conn.sql, lease.id, ttl, at, &branch).await
        })
    }

    fn save_call<'a>(
        &'a self,
        lease: &'a Lease,
        run: RunId,
        seq: u64,
        call: CallRecord,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let conn = self.connection().await?;
            calls::save(&conn.client, &conn.sql, lease.id, (run, seq), &call).await
        })
    }

    fn suspend_at<'a>(
        &'a self,
        lease: &'a Lease,
        run: RunId,
        seq: u64,
        child: Option<(RunId, ChildRecord)>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let conn = self.connection().await?;
            let child = child.as_ref();
            sql::suspend_at(&conn.client, &conn.sql, lease.id, (run, seq), child).await
        })
    }

    fn create_children<'a>(
        &'a self,
        lease: &'a Lease,
        run: RunId,
        seq: u64,
        child: ChildRecord,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let conn = self.connection().await?;
            sql::create_children(&conn.client, &conn.sql, lease.id, (run, seq), &child).await
        })
    }

    fn save_carried<'a>(
        &'a self,
        lease: &'a Lease,
        checkpoint: Checkpoint,
        call: CallRecord,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let conn = self.connection().await?;
            let lease = (lease.id, lease_millis(lease));
            sql::save_carried(&conn.client, &conn.sql, lease, &checkpoint, &call).await
        })
    }

    fn calls(&self, run: RunId, seq: u64) -> BoxFuture<'_, Result<Vec<CallRecord>, Error>> {
        Box::pin(async move {
            let conn = self.connection().await?;
            calls::select(&conn.client, run, seq).await
        })
    }

    fn save_usage<'a>(
        &'a self,
        lease: &'a Lease,
        run: RunId,
        seq: u64,
        usage: SavedUsage,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let conn = self.connection().await?;
            let usage = usage.to_json();
            sql::save_usage(&conn.client, &conn.sql, lease.id, (run, seq), usage).await
        })
    }

    fn release<'a>(
        &'a self,
        run: RunId,
        lease: &'a Lease,
        error: Option<String>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let conn = self.connection().await?;
            let waiting = (None, None);
            sql::release(
                &conn.client,
                &conn.sql,
                run,
                lease.id,
                error.as_deref(),
                waiting,
            )
            .await?;
            // It may have failed, or been cancelled: a handle awaiting it looks.
            listen::notify_ended(&conn.client, &conn.sql.notify_ended, run).await;
            Ok(())
        })
    }

    fn release_until<'a>(
        &'a self,
        run: RunId,
        lease: &'a Lease,
        wake_at: SystemTime,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let conn = self.connection().await?;
            let waiting = (Some(to_millis(wake_at)), None);
            sql::release(&conn.client, &conn.sql, run, lease.id, None, waiting).await
        })
    }

    fn release_awaiting<'a>(
        &'a self,
        run: RunId,
        lease: &'a Lease,
        signal: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let conn = self.connection().await?;
            let waiting = (None, Some(signal));
            sql::release(&conn.client, &conn.sql, run, lease.id, None, waiting).await
        })
    }

    fn send_signal<'a>(
        &'a self,
        run: RunId,
        signal: &'a str,
        value: String,
    ) -> BoxFuture<'a, Result<u64, Error>> {
        Box::pin(async move {
            let conn = self.connection().await?;
            let number = sql::send_signal(&conn.client, &conn.sql, run, signal, &value).await?;
            notify(&conn, None).await;
            Ok(number)
        })
    }

    fn next_signal<'a>(
        &'a self,
        run: RunId,
        signal: &'a str,
    ) -> BoxFuture<'a, Result<Option<(u64, String)>, Error>> {
        Box::pin(async move {
            let conn = self.connection().await?;
            sql::next_signal(&conn.client, &conn.sql, run, signal).await
        })
    }

    fn save_received<'a>(
        &'a self,
        lease: &'a Lease,
        checkpoint: Checkpoint,
        events: Vec<NewEvent>,
        message: u64,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let conn = self.connection().await?;
            let (id, ttl) = (lease.id, lease_millis(lease));
            let message = Some(message);
            sql::save(
                &conn.client,
                &conn.sql,
                id,
                ttl,
                &checkpoint,
                &events,
                message,
            )
            .await
        })
    }

    fn run(&self, run: RunId) -> BoxFuture<'_, Result<RunInfo, Error>> {
        Box::pin(async move {
            let conn = self.connection().await?;
            read::run(&conn.client, &conn.sql, run).await
        })
    }

    fn list(&self, filter: RunFilter) -> BoxFuture<'_, Result<RunList, Error>> {
        Box::pin(async move {
            let conn = self.connection().await?;
            read::list(&conn.client, &filter).await
        })
    }

    fn history_page(
        &self,
        run: RunId,
        from: u64,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<Checkpoint>, Error>> {
        Box::pin(async move {
            let conn = self.connection().await?;
            read::history(&conn.client, &conn.sql, run, from, limit).await
        })
    }

    fn prune(&self, run: RunId, keep: u64) -> BoxFuture<'_, Result<u64, Error>> {
        Box::pin(async move {
            let conn = self.connection().await?;
            retention::prune(&conn.client, &conn.sql, run, keep).await
        })
    }

    fn delete_runs(&self, retention: Retention) -> BoxFuture<'_, Result<u64, Error>> {
        Box::pin(async move {
            let conn = self.connection().await?;
            retention::delete_runs(&conn.client, &retention).await
        })
    }

    fn checkpoint(&self, run: RunId, seq: Option<u64>) -> BoxFuture<'_, Result<Checkpoint, Error>> {
        Box::pin(async move {
            let conn = self.connection().await?;
            read::get(&conn.client, &conn.sql, run, seq).await
        })
    }

    fn claim_next<'a>(
        &'a self,
        types: &'a [WorkflowType],
        lease: &'a Lease,
    ) -> BoxFuture<'a, Result<Option<(RunInfo, Checkpoint)>, Error>> {
        Box::pin(async move {
            if limited(types).is_empty() {
                let conn = self.connection().await?;
                let searched = &self.searched;
                return queue::claim_next(&conn.client, &conn.sql, types, lease, searched).await;
            }
            let mut claiming = self.claiming.lock().await;
            let conn = match claiming.take() {
                Some(conn) if !conn.client.is_closed() => claiming.insert(conn),
                _ => claiming.insert((self.open)().await?),
            };
            queue::claim_limited(&mut conn.client, &conn.sql, types, lease).await
        })
    }

    fn claim_announced<'a>(
        &'a self,
        run: RunId,
        types: &'a [WorkflowType],
        lease: &'a Lease,
    ) -> BoxFuture<'a, Result<Option<(RunInfo, Checkpoint)>, Error>> {
        if !limited(types).is_empty() {
            return self.claim_next(types, lease);
        }
        Box::pin(async move {
            let conn = self.connection().await?;
            queue::claim_announced(&conn.client, &conn.sql, run, types, lease).await
        })
    }

    fn cancel(&self, run: RunId) -> BoxFuture<'_, Result<Cancel, Error>> {
        Box::pin(async move {
            let conn = self.connection().await?;
            let cancel = queue::cancel(&conn.client, &conn.sql, run).await?;
            if cancel == Cancel::Cancelled {
                listen::notify_ended(&conn.client, &conn.sql.notify_ended, run).await;
            }
            Ok(cancel)
        })
    }

    fn save_definition(&self, definition: WorkflowDefinition) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move {
            let conn = self.connection().await?;
            answer::save_definition(&conn.client, &definition).await
        })
    }

    fn definition<'a>(
        &'a self,
        name: &'a str,
        fingerprint: u64,
    ) -> BoxFuture<'a, Result<Option<WorkflowDefinition>, Error>> {
        Box::pin(async move {
            let conn = self.connection().await?;
            answer::definition(&conn.client, name, fingerprint).await
        })
    }

    fn record_answer(
        &self,
        run: RunId,
        seq: u64,
        value: String,
    ) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move {
            let conn = self.connection().await?;
            answer::record(&conn.client, run, seq, &value).await?;
            notify(&conn, None).await;
            Ok(())
        })
    }

    fn recorded_answer(
        &self,
        run: RunId,
        seq: u64,
    ) -> BoxFuture<'_, Result<Option<String>, Error>> {
        Box::pin(async move {
            let conn = self.connection().await?;
            answer::select(&conn.client, run, seq).await
        })
    }

    fn discard_answer(&self, run: RunId, seq: u64) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move {
            let conn = self.connection().await?;
            answer::discard(&conn.client, run, seq).await
        })
    }

    fn work_notices(&self) -> Option<crate::store::WorkNotices> {
        Some(self.notices.work())
    }

    fn run_ends(&self) -> Option<tokio::sync::broadcast::Receiver<Option<RunId>>> {
        Some(self.notices.ended())
    }

    fn await_end(&self, run: RunId) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async move {
            let conn = self.connection().await?;
            let run = run.as_uuid();
            conn.client
                .execute(&conn.sql.await_end, &[run])
                .await
                .map_err(store)?;
            Ok(())
        })
    }

    fn take_rate_slot<'a>(
        &'a self,
        key: &'a str,
        calls: u32,
        period: Duration,
    ) -> BoxFuture<'a, Result<RateSlot, Error>> {
        Box::pin(async move {
            let conn = self.connection().await?;
            rate::take(&conn.client, &conn.sql, key, calls, period).await
        })
    }
}
