//! What workers ask of the database: the next run to pick up (`FOR UPDATE SKIP LOCKED`), and
//! cancelling a run by id.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, GenericClient, Statement};
use uuid::Uuid;

use super::rows::{store, Reader, CLAIMED_COLUMNS, RUN_COLUMNS};
use super::sql::read_claimed;
use super::statements::Statements;
use crate::error::Error;
use crate::store::queue::{limited, with_room, CANCELLED};
use crate::store::time::lease_millis;
use crate::store::{Cancel, Checkpoint, Lease, RunId, RunInfo, WorkflowType};

/// The statement of [`claim_next`] (`$1` the lease id, `$2` its owner, `$3` its duration,
/// `$4` and `$5` the names and fingerprints of `types`, `$6` the error of a cancelled run).
/// It first records as cancelled the runs asked to stop whose lease expired (and their child
/// runs in flight), then leases the
/// first of: a suspended run with an answer recorded for its pause (someone waits for it), a
/// sleeping run whose time has come (by the index of wake-up times), a run
/// waiting for a signal one of whose messages is queued (from the queued messages), the
/// oldest run ready to go on (by the index of ready runs). Each is found with `FOR UPDATE
/// SKIP LOCKED`, and only as far as needed: a sleeping or waiting run is never scanned while
/// looking for a ready one. The row returned holds the run's latest checkpoint and its
/// branches too ([`CLAIMED_COLUMNS`]): a claim is one round trip. The swept runs' trees go
/// in as an array (`= ANY`), as in a save, rather than through a hash aggregate each claim.
pub(super) fn claim_next_sql() -> String {
    // The statement's start (`now()` is stable, `clock_timestamp()` is not): what the index
    // of wake-up times can be searched with.
    let started = "(extract(epoch from now()) * 1000)::bigint";
    let (free, free_r) = (free(""), free("r."));
    format!(
        "WITH RECURSIVE swept AS (UPDATE workflow_runs SET status = 'cancelled', \
         error = $6::text, updated_at = {NOW}, lease_id = NULL, owner = NULL, \
         lease_expires = NULL WHERE status = 'running' AND cancel_requested \
         AND (lease_expires IS NULL OR lease_expires <= {NOW}) RETURNING id), {tree}, \
         swept_children AS (UPDATE workflow_runs c SET status = 'cancelled', error = $6::text, \
         updated_at = {NOW} WHERE c.id = ANY (ARRAY(SELECT id FROM tree)) \
         AND c.status IN ('running', 'suspended')), \
         answered AS (SELECT r.id FROM workflow_answers a JOIN workflow_runs r \
         ON r.id = a.run AND r.version = a.seq WHERE r.status = 'suspended' AND {free_r} \
         ORDER BY r.id LIMIT 1 FOR UPDATE OF r SKIP LOCKED), \
         due AS (SELECT id FROM workflow_runs WHERE status = 'running' AND wake_at <= {started} \
         AND {free} ORDER BY wake_at LIMIT 1 FOR UPDATE SKIP LOCKED), \
         mailed AS (SELECT r.id FROM workflow_signals s JOIN workflow_runs r \
         ON r.id = s.run AND r.awaiting = s.signal WHERE r.status = 'running' AND {free_r} \
         ORDER BY s.id LIMIT 1 FOR UPDATE OF r SKIP LOCKED), \
         ready AS (SELECT id FROM workflow_runs WHERE status = 'running' AND wake_at IS NULL \
         AND awaiting IS NULL AND {free} ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED), {claimed}",
        tree = super::statements::tree!("swept"),
        claimed = claimed(
            "SELECT id FROM answered UNION ALL SELECT id FROM due \
             UNION ALL SELECT id FROM mailed UNION ALL SELECT id FROM ready LIMIT 1"
        ),
    )
}

/// The statement of [`claim_announced`] (`$1` to `$5` as in [`claim_next_sql`], `$6` the
/// run announced): leases that run if it is ready to go on and free, as [`claim_next_sql`]'s
/// `ready` would find it, looking at its row alone. What a worker that finds it taken pays
/// is a look at one row: no search of the queue, no sweep.
pub(super) fn claim_announced_sql() -> String {
    format!(
        "WITH ready AS (SELECT id FROM workflow_runs WHERE id = $6::uuid AND status = 'running' \
         AND wake_at IS NULL AND awaiting IS NULL AND {free} FOR UPDATE SKIP LOCKED), {claimed}",
        free = free(""),
        claimed = claimed("SELECT id FROM ready"),
    )
}

/// The statement [`claim_next`] tries first while the store searched lately (`$1` to `$5` as
/// in [`claim_next_sql`], `$6` a run's id): leases the oldest run ready to go on, as
/// [`claim_next_sql`]'s `ready` finds it, after run `$6` (the last this store took), without
/// the other searches and the sweep. From the last run taken, not from the queue's start:
/// the runs before it are the ones its workers and others hold, and the entries of the runs
/// that ended, which the index keeps until they are cleaned up; stepping over them cost a
/// claim about half of its time (47 against 21 µs, `pg_stat_statements`, one worker).
pub(super) fn claim_ready_sql() -> String {
    format!(
        "WITH ready AS (SELECT id FROM workflow_runs WHERE status = 'running' \
         AND wake_at IS NULL AND awaiting IS NULL AND id > $6::uuid AND {free} ORDER BY id \
         LIMIT 1 FOR UPDATE SKIP LOCKED), {claimed}",
        free = free(""),
        claimed = claimed("SELECT id FROM ready"),
    )
}

/// How often a busy worker's claim searches the whole queue: answered pauses, due timers,
/// messages, the runs asked to stop whose holder died, and ready runs older than the last it
/// took (a lease given up or expired). In between, a claim takes the next ready run after
/// the last it took ([`claim_ready_sql`]), and searches the whole queue if there is none.
const SEARCH_EVERY: Duration = Duration::from_millis(100);

/// When a store's claims last searched the whole queue, and the last run they took.
#[derive(Default)]
pub(super) struct Searched(Mutex<(Option<Instant>, Uuid)>);

impl Searched {
    /// Whether the next claim must search the whole queue; if not, the run after which it
    /// looks for a ready one.
    fn due(&self) -> Option<Uuid> {
        let (last, taken) = *self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match last {
            Some(at) if at.elapsed() < SEARCH_EVERY => Some(taken),
            _ => None,
        }
    }

    /// A claim searches the whole queue now.
    fn now(&self) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).0 = Some(Instant::now());
    }

    /// A claim took run `run`.
    fn took(&self, run: RunId) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).1 = *run.as_uuid();
    }
}

/// The clock, in milliseconds since the Unix epoch, as a statement reads it.
const NOW: &str = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

/// Whether a run (its columns prefixed by `r`) may be leased by a worker of the types of `$4`
/// (names) and `$5` (fingerprints): no cancel request, not a child run, no live lease.
fn free(r: &str) -> String {
    format!(
        "NOT {r}cancel_requested AND {r}parent_step IS NULL AND ({r}lease_id IS NULL OR {r}lease_expires IS NULL \
         OR {r}lease_expires <= {NOW}) AND ({r}workflow, {r}fingerprint) IN \
         (SELECT * FROM unnest($4::text[], $5::bigint[]))"
    )
}

/// The end of a claim: the run whose id `found` selects leased to `$1` (owner `$2`, for `$3`
/// milliseconds), returned with its latest checkpoint.
fn claimed(found: &str) -> String {
    format!(
        "claimed AS (UPDATE workflow_runs SET lease_id = $1, owner = $2, \
         lease_expires = {NOW} + $3::bigint WHERE id = ({found}) RETURNING {RUN_COLUMNS}) \
         SELECT claimed.*, {CLAIMED_COLUMNS}"
    )
}

/// Leases the oldest run a worker of `types` may pick up to `lease`: one statement, which
/// skips the rows other workers are taking rather than wait for them, and which first
/// records as cancelled the runs asked to stop whose lease has expired. Within
/// [`SEARCH_EVERY`] of the store's last such search (`searched`), it first looks for a ready
/// run alone, after the last it took ([`claim_ready_sql`]), and searches the whole queue only
/// if there is none. For types with a [limit](WorkflowType::limit), see [`claim_limited`].
pub(super) async fn claim_next(
    client: &Client,
    sql: &Statements,
    types: &[WorkflowType],
    lease: &Lease,
    searched: &Searched,
) -> Result<Option<(RunInfo, Checkpoint)>, Error> {
    let ready = match searched.due() {
        Some(after) => {
            let claim = (&sql.claim_ready, Some(&after as &(dyn ToSql + Sync)));
            lease_one(client, sql, claim, types, lease).await?
        }
        None => None,
    };
    let claimed = match ready {
        Some(ready) => Some(ready),
        None => {
            searched.now();
            lease_one(client, sql, next(sql), types, lease).await?
        }
    };
    if let Some((info, _)) = &claimed {
        searched.took(info.id);
    }
    Ok(claimed)
}

/// Leases run `run`, just announced, to `lease` if a worker of `types` (none of which has a
/// limit) may take it: see [`claim_announced_sql`].
pub(super) async fn claim_announced(
    client: &Client,
    sql: &Statements,
    run: RunId,
    types: &[WorkflowType],
    lease: &Lease,
) -> Result<Option<(RunInfo, Checkpoint)>, Error> {
    let claim = (
        &sql.claim_announced,
        Some(run.as_uuid() as &(dyn ToSql + Sync)),
    );
    lease_one(client, sql, claim, types, lease).await
}

/// Runs `claim` ([`take`]) and reads the run it leased, if any, with its latest checkpoint.
/// The lease is kept even if the run does not read back: the caller records why.
async fn lease_one(
    client: &Client,
    sql: &Statements,
    claim: (&Statement, Option<&(dyn ToSql + Sync)>),
    types: &[WorkflowType],
    lease: &Lease,
) -> Result<Option<(RunInfo, Checkpoint)>, Error> {
    let Some(row) = take(client, claim, types, lease).await? else {
        return Ok(None);
    };
    read_claimed(client, sql, &row).await.map(Some)
}

/// The names and fingerprints of `types`, as a claim binds them.
fn type_params(types: &[WorkflowType]) -> (Vec<&str>, Vec<i64>) {
    let names = types.iter().map(|kind| kind.name.as_str()).collect();
    let prints = types.iter().map(|kind| kind.fingerprint as i64).collect();
    (names, prints)
}

/// Takes the lock of each workflow (`$1` its name), until the transaction ends: workers
/// claiming runs of a limited workflow take turns. (Two keys, so as not to meet the bigint
/// key the tables are created under.)
pub(super) const LOCK_WORKFLOW: &str = "SELECT pg_advisory_xact_lock(7302419, hashtext($1::text))";

/// As [`claim_next`], for `types` some of which have a limit, in one transaction on
/// `client`, a connection of its own (the store's shared one cannot hold a transaction): it
/// takes the lock of each limited workflow, in the order of their names, then counts the
/// runs of each that hold a live lease, and claims a run only of the types below their
/// limit. A claim that committed before the lock was granted is counted (each statement of
/// the transaction sees what was committed before it started), so two workers never both
/// take the last free place.
pub(super) async fn claim_limited(
    client: &mut Client,
    sql: &Statements,
    types: &[WorkflowType],
    lease: &Lease,
) -> Result<Option<(RunInfo, Checkpoint)>, Error> {
    let names = limited(types);
    let tx = client.transaction().await.map_err(store)?;
    for name in &names {
        tx.execute(&sql.lock_workflow, &[name])
            .await
            .map_err(store)?;
    }
    let rows = tx.query(&sql.held, &[&names]).await.map_err(store)?;
    let held = rows
        .iter()
        .map(|row| {
            let (name, runs): (String, i64) = (row.try_get(0)?, row.try_get(1)?);
            Ok((name, runs.unsigned_abs()))
        })
        .collect::<Result<Vec<_>, tokio_postgres::Error>>()
        .map_err(store)?;
    let open = with_room(types, &held);
    let row = match open.is_empty() {
        true => None,
        false => take(&tx, next(sql), &open, lease).await?,
    };
    tx.commit().await.map_err(store)?;
    let Some(row) = row else {
        return Ok(None);
    };
    read_claimed(client, sql, &row).await.map(Some)
}

/// The statement of [`claim_next_sql`] and its last parameter, for [`take`].
fn next(sql: &Statements) -> (&Statement, Option<&(dyn ToSql + Sync)>) {
    (&sql.claim_next, Some(&CANCELLED))
}

/// Runs `claim`, the statement of [`claim_next_sql`], [`claim_announced_sql`] or
/// [`claim_ready_sql`] with its sixth parameter if it has one, for `types` and `lease`: the
/// row of the run it leased, if any.
async fn take(
    client: &impl GenericClient,
    (statement, last): (&Statement, Option<&(dyn ToSql + Sync)>),
    types: &[WorkflowType],
    lease: &Lease,
) -> Result<Option<tokio_postgres::Row>, Error> {
    let (names, prints) = type_params(types);
    let ttl = lease_millis(lease);
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&lease.id, &lease.owner, &ttl, &names, &prints];
    params.extend(last);
    client.query_opt(statement, &params).await.map_err(store)
}

/// Cancels run `run`: at once if nobody holds it, by a request its holder sees otherwise.
pub(super) async fn cancel(client: &Client, sql: &Statements, run: RunId) -> Result<Cancel, Error> {
    let params: [&(dyn ToSql + Sync); 2] = [run.as_uuid(), &CANCELLED];
    let changed = client
        .query_opt(&sql.cancel, &params)
        .await
        .map_err(store)?;
    if let Some(row) = changed {
        let status: String = Reader::of(&row, run).get(0, "status")?;
        return Ok(match status.as_str() {
            "cancelled" => Cancel::Cancelled,
            _ => Cancel::Requested,
        });
    }
    let row = client
        .query_opt(&sql.status, &[run.as_uuid()])
        .await
        .map_err(store)?;
    match row {
        None => Err(Error::RunNotFound { run }),
        Some(row) => Ok(Cancel::Ended(Reader::of(&row, run).status(0)?)),
    }
}
