//! The store's operations as SQL. Every value is a bound parameter; each write is one
//! statement, so it is atomic without a transaction, and row locks order concurrent writers
//! of one run.

use std::time::Duration;

use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Statement};
use uuid::Uuid;

use super::rows::{checkpoint, run_info, store, CHECKPOINT_COLUMNS, RUN_COLUMNS};
use crate::store::time::{duration_millis, to_millis};
use crate::store::{Checkpoint, NewRun, RunFilter, RunId, RunInfo, RunStatus};
use crate::Error;

/// The database's clock, in milliseconds since the Unix epoch: leases are timed by the one
/// clock all workers share.
macro_rules! now {
    () => {
        "(extract(epoch from clock_timestamp()) * 1000)::bigint"
    };
}

/// The tables, created if missing; `workflow_schema` records the schema's version.
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS workflow_schema (version integer NOT NULL);
CREATE TABLE IF NOT EXISTS workflow_runs (
    id uuid PRIMARY KEY,
    workflow text NOT NULL,
    fingerprint bigint NOT NULL,
    status text NOT NULL,
    step text NOT NULL,
    version bigint NOT NULL,
    lease_id uuid,
    owner text,
    lease_expires bigint,
    parent uuid,
    parent_seq bigint,
    error text,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS workflow_runs_by_status ON workflow_runs (workflow, status);
CREATE TABLE IF NOT EXISTS workflow_checkpoints (
    run uuid NOT NULL,
    seq bigint NOT NULL,
    workflow text NOT NULL,
    fingerprint bigint NOT NULL,
    format integer NOT NULL,
    step text NOT NULL,
    status text NOT NULL,
    state text NOT NULL,
    loops text NOT NULL,
    created_at bigint NOT NULL,
    PRIMARY KEY (run, seq)
);
INSERT INTO workflow_schema (version) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM workflow_schema);
";

/// The schema version this code writes and reads.
pub(super) const SCHEMA_VERSION: i32 = 1;

/// The statements of the frequent operations, prepared once per connection.
pub(super) struct Statements {
    create: Statement,
    claim: Statement,
    owned: Statement,
    renew: Statement,
    save: Statement,
    refused: Statement,
    release: Statement,
    run: Statement,
    latest: Statement,
    checkpoint: Statement,
}

impl Statements {
    pub(super) async fn prepare(client: &Client) -> Result<Self, Error> {
        let prepare = |sql: String| async move { client.prepare(&sql).await.map_err(store) };
        Ok(Statements {
            create: prepare(CREATE.into()).await?,
            claim: prepare(format!(
                "UPDATE workflow_runs SET lease_id = $2, owner = $3, lease_expires = {} + $4::bigint \
                 WHERE id = $1 AND (lease_id IS NULL OR lease_expires IS NULL \
                 OR lease_expires <= {}) RETURNING {RUN_COLUMNS}",
                now!(),
                now!()
            ))
            .await?,
            owned: prepare(format!(
                "SELECT owner, lease_expires - {} FROM workflow_runs WHERE id = $1",
                now!()
            ))
            .await?,
            renew: prepare(format!(
                "UPDATE workflow_runs SET lease_expires = {} + $3::bigint \
                 WHERE id = $1 AND lease_id = $2",
                now!()
            ))
            .await?,
            save: prepare(SAVE.into()).await?,
            refused: prepare("SELECT lease_id, version FROM workflow_runs WHERE id = $1".into())
                .await?,
            release: prepare(RELEASE.into()).await?,
            run: prepare(format!("SELECT {RUN_COLUMNS} FROM workflow_runs WHERE id = $1")).await?,
            latest: prepare(format!(
                "SELECT {CHECKPOINT_COLUMNS} FROM workflow_checkpoints \
                 WHERE run = $1 AND seq = (SELECT version FROM workflow_runs WHERE id = $1)"
            ))
            .await?,
            checkpoint: prepare(format!(
                "SELECT {CHECKPOINT_COLUMNS} FROM workflow_checkpoints WHERE run = $1 AND seq = $2"
            ))
            .await?,
        })
    }
}

const CREATE: &str = concat!(
    "WITH run AS (INSERT INTO workflow_runs (id, workflow, fingerprint, status, step, version, \
     lease_id, owner, lease_expires, parent, parent_seq, created_at, updated_at) \
     VALUES ($1, $2::text, $3::bigint, $4::text, $5::text, $6::bigint, $7::uuid, $8, \
     CASE WHEN $7::uuid IS NULL THEN NULL ELSE ",
    now!(),
    " + $9::bigint END, $10, $11, $12::bigint, $12::bigint) RETURNING id) \
     INSERT INTO workflow_checkpoints (run, seq, workflow, fingerprint, format, step, status, \
     state, loops, created_at) SELECT id, $6::bigint, $2::text, $3::bigint, $13::integer, \
     $5::text, $4::text, $14::text, $15::text, $12::bigint FROM run"
);

const SAVE: &str = concat!(
    "WITH run AS (UPDATE workflow_runs SET version = $3::bigint, status = $4::text, \
     step = $5::text, error = NULL, updated_at = ",
    now!(),
    ", lease_id = CASE WHEN $6::boolean THEN lease_id END, \
     owner = CASE WHEN $6::boolean THEN owner END, \
     lease_expires = CASE WHEN $6::boolean THEN ",
    now!(),
    " + $7::bigint END \
     WHERE id = $1 AND lease_id = $2 AND version = $3::bigint - 1 RETURNING id) \
     INSERT INTO workflow_checkpoints (run, seq, workflow, fingerprint, format, step, status, \
     state, loops, created_at) SELECT id, $3::bigint, $8::text, $9::bigint, $10::integer, \
     $5::text, $4::text, $11::text, $12::text, $13::bigint FROM run"
);

const RELEASE: &str = concat!(
    "UPDATE workflow_runs SET lease_id = NULL, owner = NULL, lease_expires = NULL, \
     status = CASE WHEN $3::text IS NULL THEN status ELSE 'failed' END, \
     error = COALESCE($3::text, error), \
     updated_at = CASE WHEN $3::text IS NULL THEN updated_at ELSE ",
    now!(),
    " END WHERE id = $1 AND lease_id = $2"
);

/// Why a write guarded by `lease` on run `run` changed nothing.
async fn refused(
    client: &Client,
    sql: &Statements,
    run: RunId,
    lease: Uuid,
    seq: Option<u64>,
) -> Error {
    let found = client.query_opt(&sql.refused, &[run.as_uuid()]).await;
    let row = match found {
        Err(error) => return store(error),
        Ok(None) => return Error::RunNotFound { run },
        Ok(Some(row)) => row,
    };
    let holder: Option<Uuid> = row.try_get(0).unwrap_or(None);
    let version: i64 = row.try_get(1).unwrap_or(0);
    if holder != Some(lease) {
        return Error::LeaseLost { run };
    }
    Error::VersionConflict {
        run,
        expected: seq.unwrap_or(0).wrapping_sub(1),
        found: u64::try_from(version).unwrap_or(0),
    }
}

pub(super) async fn create(client: &Client, sql: &Statements, run: &NewRun) -> Result<(), Error> {
    let first = &run.first;
    let lease = run.lease.as_ref();
    let params: [&(dyn ToSql + Sync); 15] = [
        first.run.as_uuid(),
        &first.workflow,
        &(first.fingerprint as i64),
        &first.status.as_str(),
        &first.step,
        &(first.seq as i64),
        &lease.map(|lease| lease.id),
        &lease.map(|lease| lease.owner.as_str()),
        &lease.map_or(0, |lease| duration_millis(lease.ttl)),
        &run.parent.map(|(parent, _)| *parent.as_uuid()),
        &run.parent.map(|(_, seq)| seq as i64),
        &to_millis(first.created_at),
        &(first.format as i32),
        &first.state,
        &first.loops,
    ];
    client.execute(&sql.create, &params).await.map_err(store)?;
    Ok(())
}

pub(super) async fn claim(
    client: &Client,
    sql: &Statements,
    run: RunId,
    lease: Uuid,
    owner: &str,
    ttl: Duration,
) -> Result<(RunInfo, Checkpoint), Error> {
    let params: [&(dyn ToSql + Sync); 4] = [run.as_uuid(), &lease, &owner, &duration_millis(ttl)];
    let Some(row) = client.query_opt(&sql.claim, &params).await.map_err(store)? else {
        return Err(owned(client, sql, run).await);
    };
    let claimed = read_claimed(client, sql, run, &row).await;
    if claimed.is_err() {
        // The run is leased, but does not read back: give the lease up again.
        let _ = client
            .execute(&sql.release, &[run.as_uuid(), &lease, &None::<&str>])
            .await;
    }
    claimed
}

/// The run just claimed, from `row`, and its latest checkpoint.
async fn read_claimed(
    client: &Client,
    sql: &Statements,
    run: RunId,
    row: &tokio_postgres::Row,
) -> Result<(RunInfo, Checkpoint), Error> {
    let info = run_info(row)?;
    let latest = client
        .query_opt(&sql.checkpoint, &[run.as_uuid(), &(info.version as i64)])
        .await
        .map_err(store)?;
    match latest {
        Some(row) => Ok((info, checkpoint(&row)?)),
        None => Err(missing(&info)),
    }
}

/// The error of a claim refused on run `run`.
async fn owned(client: &Client, sql: &Statements, run: RunId) -> Error {
    match client.query_opt(&sql.owned, &[run.as_uuid()]).await {
        Err(error) => store(error),
        Ok(None) => Error::RunNotFound { run },
        Ok(Some(row)) => {
            let owner: Option<String> = row.try_get(0).unwrap_or(None);
            let left: Option<i64> = row.try_get(1).unwrap_or(None);
            Error::RunOwned {
                run,
                owner: owner.unwrap_or_default(),
                expires_in: Duration::from_millis(left.unwrap_or(0).max(0) as u64),
            }
        }
    }
}

/// The error of a run whose latest checkpoint is missing.
fn missing(info: &RunInfo) -> Error {
    Error::CorruptCheckpoint {
        run: Some(info.id),
        seq: Some(info.version),
        reason: "the run's latest checkpoint is missing".into(),
        source: None,
    }
}

pub(super) async fn renew(
    client: &Client,
    sql: &Statements,
    run: RunId,
    lease: Uuid,
    ttl: Duration,
) -> Result<(), Error> {
    let params: [&(dyn ToSql + Sync); 3] = [run.as_uuid(), &lease, &duration_millis(ttl)];
    match client.execute(&sql.renew, &params).await.map_err(store)? {
        0 => Err(refused(client, sql, run, lease, None).await),
        _ => Ok(()),
    }
}

pub(super) async fn save(
    client: &Client,
    sql: &Statements,
    lease: Uuid,
    ttl: Duration,
    checkpoint: &Checkpoint,
) -> Result<(), Error> {
    let running = checkpoint.status == RunStatus::Running;
    let params: [&(dyn ToSql + Sync); 13] = [
        checkpoint.run.as_uuid(),
        &lease,
        &(checkpoint.seq as i64),
        &checkpoint.status.as_str(),
        &checkpoint.step,
        &running,
        &duration_millis(ttl),
        &checkpoint.workflow,
        &(checkpoint.fingerprint as i64),
        &(checkpoint.format as i32),
        &checkpoint.state,
        &checkpoint.loops,
        &to_millis(checkpoint.created_at),
    ];
    match client.execute(&sql.save, &params).await.map_err(store)? {
        0 => Err(refused(client, sql, checkpoint.run, lease, Some(checkpoint.seq)).await),
        _ => Ok(()),
    }
}

pub(super) async fn release(
    client: &Client,
    sql: &Statements,
    run: RunId,
    lease: Uuid,
    error: Option<&str>,
) -> Result<(), Error> {
    let params: [&(dyn ToSql + Sync); 3] = [run.as_uuid(), &lease, &error];
    match client.execute(&sql.release, &params).await.map_err(store)? {
        0 => Err(refused(client, sql, run, lease, None).await),
        _ => Ok(()),
    }
}

pub(super) async fn run(client: &Client, sql: &Statements, run: RunId) -> Result<RunInfo, Error> {
    match client
        .query_opt(&sql.run, &[run.as_uuid()])
        .await
        .map_err(store)?
    {
        Some(row) => run_info(&row),
        None => Err(Error::RunNotFound { run }),
    }
}

pub(super) async fn list(client: &Client, filter: &RunFilter) -> Result<Vec<RunInfo>, Error> {
    // Fixed fragments, chosen by which filters are set: the values are all parameters.
    let mut sql = format!("SELECT {RUN_COLUMNS} FROM workflow_runs WHERE true");
    let status = filter.status.map(RunStatus::as_str);
    let after = filter.after.map(|after| *after.as_uuid());
    let limit = filter.limit.map(i64::from);
    let mut params: Vec<&(dyn ToSql + Sync)> = Vec::new();
    let mut add = |sql: &mut String, condition: &str, value| {
        params.push(value);
        sql.push_str(&format!("{condition} ${}", params.len()));
    };
    if filter.workflow.is_some() {
        add(&mut sql, " AND workflow =", &filter.workflow);
    }
    if status.is_some() {
        add(&mut sql, " AND status =", &status);
    }
    if after.is_some() {
        add(&mut sql, " AND id >", &after);
    }
    sql.push_str(" ORDER BY id");
    if limit.is_some() {
        add(&mut sql, " LIMIT", &limit);
    }
    let rows = client.query(&sql, &params).await.map_err(store)?;
    rows.iter().map(run_info).collect()
}

pub(super) async fn history(
    client: &Client,
    sql: &Statements,
    run: RunId,
) -> Result<Vec<Checkpoint>, Error> {
    let query = format!(
        "SELECT {CHECKPOINT_COLUMNS} FROM workflow_checkpoints WHERE run = $1 ORDER BY seq"
    );
    let rows = client
        .query(&query, &[run.as_uuid()])
        .await
        .map_err(store)?;
    if rows.is_empty() {
        self::run(client, sql, run).await?;
    }
    rows.iter().map(checkpoint).collect()
}

pub(super) async fn get(
    client: &Client,
    sql: &Statements,
    run: RunId,
    seq: Option<u64>,
) -> Result<Checkpoint, Error> {
    let found = match seq {
        Some(seq) => {
            client
                .query_opt(&sql.checkpoint, &[run.as_uuid(), &(seq as i64)])
                .await
        }
        None => client.query_opt(&sql.latest, &[run.as_uuid()]).await,
    };
    if let Some(row) = found.map_err(store)? {
        return checkpoint(&row);
    }
    let info = self::run(client, sql, run).await?;
    Err(match seq {
        Some(seq) => Error::CheckpointNotFound { run, seq },
        None => missing(&info),
    })
}
