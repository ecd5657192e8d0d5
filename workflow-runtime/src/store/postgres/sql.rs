//! The store's writes as SQL. Every value is a bound parameter; each write is one
//! statement, so it is atomic without a transaction, and row locks order concurrent writers
//! of one run.

use std::time::Duration;

use tokio_postgres::types::ToSql;
use tokio_postgres::Client;
use uuid::Uuid;

use super::read::{branches, missing};
use super::rows::{checkpoint, claimed_checkpoint, run_info, store, Reader};
use super::statements::{ChildSave, Statements};
use crate::error::Error;
use crate::store::batch::pack;
use crate::store::queue::CANCELLED;
use crate::store::time::{lease_millis, to_millis};
use crate::store::{
    BranchRecord, CallRecord, Checkpoint, ChildRecord, NewEvent, NewRun, RunId, RunInfo, RunStatus,
};

/// Why a write guarded by `lease` on run `run` changed nothing: the run is gone, has another
/// lease, or (for a save of checkpoint `seq`) another latest checkpoint.
pub(super) async fn refused(
    client: &Client,
    sql: &Statements,
    run: RunId,
    lease: Uuid,
    seq: Option<u64>,
) -> Error {
    let row = match client.query_opt(&sql.refused, &[run.as_uuid()]).await {
        Err(error) => return store(error),
        Ok(None) => return Error::RunNotFound { run },
        Ok(Some(row)) => row,
    };
    let read = Reader::of(&row, run);
    match read.get::<Option<Uuid>>(0, "lease_id") {
        Err(error) => return error,
        Ok(holder) if holder != Some(lease) => return Error::LeaseLost { run },
        Ok(_) => {}
    }
    match read.get::<bool>(2, "cancel_requested") {
        Err(error) => return error,
        Ok(true) => return Error::RunCancelled { run },
        Ok(false) => {}
    }
    match read.count(1, "version") {
        Err(error) => error,
        Ok(found) => Error::VersionConflict {
            run,
            expected: seq.unwrap_or(0).wrapping_sub(1),
            found,
        },
    }
}

pub(super) async fn create(client: &Client, sql: &Statements, run: &NewRun) -> Result<(), Error> {
    let first = &run.first;
    let lease = run.lease.as_ref();
    let usage = first.usage.to_json();
    let params: [&(dyn ToSql + Sync); 16] = [
        first.run.as_uuid(),
        &first.workflow,
        &(first.fingerprint as i64),
        &first.status.as_str(),
        &first.step,
        &(first.seq as i64),
        &lease.map(|lease| lease.id),
        &lease.map(|lease| lease.owner.as_str()),
        &lease.map_or(0, lease_millis),
        &run.parent.map(|(parent, _)| *parent.as_uuid()),
        &run.parent.map(|(_, seq)| seq as i64),
        &to_millis(first.created_at),
        &(first.format as i32),
        &first.state,
        &first.loops,
        &usage,
    ];
    let created = match chain(first) {
        records if records.is_empty() => client.execute(&sql.create, &params).await,
        // A child its first state waits in, before any step of it: its row comes with the
        // run, in the same statement (rare: a statement of its own).
        records => {
            let bounds = ChildBound::all(&records);
            let params = ChildBound::params(&bounds, &records, &params);
            let statement = super::statements::create_with_children(records.len());
            client.execute(statement.as_str(), &params).await
        }
    };
    match created.map_err(store)? {
        0 => Err(Error::RunExists { run: first.run }),
        _ => Ok(()),
    }
}

/// Claims run `run` for `lease`, for `ttl` milliseconds.
pub(super) async fn claim(
    client: &Client,
    sql: &Statements,
    run: RunId,
    lease: Uuid,
    owner: &str,
    ttl: i64,
) -> Result<(RunInfo, Checkpoint), Error> {
    let params: [&(dyn ToSql + Sync); 4] = [run.as_uuid(), &lease, &owner, &ttl];
    let Some(row) = client.query_opt(&sql.claim, &params).await.map_err(store)? else {
        return Err(owned(client, sql, run).await);
    };
    let claimed = read_claimed(client, sql, &row).await;
    if claimed.is_err() {
        // The run is leased, but does not read back: give the lease up again (if that fails
        // too, the lease runs out in its time).
        let _ = release(client, sql, run, lease, None, (None, None)).await;
    }
    claimed
}

/// The run just claimed, from `row`, and its latest checkpoint with its branches: from the
/// same row ([`CLAIMED_COLUMNS`](super::rows::CLAIMED_COLUMNS)), or read again if the
/// claim's snapshot did not hold it.
pub(super) async fn read_claimed(
    client: &Client,
    sql: &Statements,
    row: &tokio_postgres::Row,
) -> Result<(RunInfo, Checkpoint), Error> {
    let info = run_info(row)?;
    if let Some(latest) = claimed_checkpoint(row, &info)? {
        return Ok((info, latest));
    }
    let run = info.id;
    let latest = client
        .query_opt(&sql.checkpoint, &[run.as_uuid(), &(info.version as i64)])
        .await
        .map_err(store)?;
    let Some(row) = latest else {
        return Err(missing(&info));
    };
    let mut latest = checkpoint(&row)?;
    latest.branches = branches(client, sql, run, info.version, info.version)
        .await?
        .pop()
        .map(|(_, records)| records)
        .unwrap_or_default();
    Ok((info, latest))
}

/// The error of a claim refused on run `run`.
async fn owned(client: &Client, sql: &Statements, run: RunId) -> Error {
    let row = match client.query_opt(&sql.owned, &[run.as_uuid()]).await {
        Err(error) => return store(error),
        Ok(None) => return Error::RunNotFound { run },
        Ok(Some(row)) => row,
    };
    let read = Reader::of(&row, run);
    if read
        .get::<String>(2, "status")
        .is_ok_and(|status| status == "cancelled")
    {
        return Error::RunCancelled { run };
    }
    let found = read.get::<Option<String>>(0, "owner").and_then(|owner| {
        let left: Option<i64> = read.get(1, "lease_expires")?;
        Ok((owner, left))
    });
    match found {
        Err(error) => error,
        Ok((owner, left)) => Error::RunOwned {
            run,
            owner: owner.unwrap_or_default(),
            expires_in: Duration::from_millis(left.unwrap_or(0).max(0) as u64),
        },
    }
}

/// Renews `lease` on run `run` for `ttl` milliseconds.
pub(super) async fn renew(
    client: &Client,
    sql: &Statements,
    run: RunId,
    lease: Uuid,
    ttl: i64,
) -> Result<(), Error> {
    let params: [&(dyn ToSql + Sync); 3] = [run.as_uuid(), &lease, &ttl];
    match client.execute(&sql.renew, &params).await.map_err(store)? {
        0 => Err(refused(client, sql, run, lease, None).await),
        _ => Ok(()),
    }
}

/// Saves `checkpoint` under `lease`, which a running checkpoint extends by `ttl` milliseconds,
/// and appends `events` to its run's log, in one statement.
pub(super) async fn save(
    client: &Client,
    sql: &Statements,
    lease: Uuid,
    ttl: i64,
    checkpoint: &Checkpoint,
    events: &[NewEvent],
    received: Option<u64>,
) -> Result<(), Error> {
    let message = received.map(|message| i64::try_from(message).unwrap_or(i64::MAX));
    let (at, text) = pack(events).unwrap_or_default();
    let count = events.len() as i64;
    let bound = Bound::of(checkpoint);
    let extra: [&(dyn ToSql + Sync); 4] = [&at, &text, &count, &message];
    let params = bound.params(checkpoint, &lease, &ttl, &extra);
    let records = chain(checkpoint);
    let bounds = ChildBound::all(&records);
    let write = async {
        if records.is_empty() {
            let (save, resuming, params) = match (message, events.is_empty()) {
                (Some(_), _) => return client.execute(&sql.save_received, &params).await,
                (None, true) => (&sql.save, &sql.save_resuming, &params[..14]),
                (None, false) => (&sql.save_logged, &sql.save_logged_resuming, &params[..17]),
            };
            if !bound.running {
                // One statement, so that the run's end is announced after it (below).
                return client.execute(resuming, params).await;
            }
            // Refused if the row is not `running` (or not ours: then refused again, below).
            return match client.execute(save, params).await {
                Ok(0) => client.execute(resuming, params).await,
                saved => saved,
            };
        }
        let (statement, kind, count) = match (message, events.is_empty()) {
            (Some(_), _) => (&sql.save_received_child, ChildSave::Received, 18),
            (None, true) => (&sql.save_child, ChildSave::Plain, 14),
            (None, false) => (&sql.save_logged_child, ChildSave::Logged, 17),
        };
        let params = ChildBound::params(&bounds, &records, &params[..count]);
        match records.len() {
            1 => client.execute(statement, &params).await,
            // A child's own child runs: rarer, a statement of their own.
            depth => client.execute(kind.sql(depth).as_str(), &params).await,
        }
    };
    let saved = if bound.running || checkpoint.status == RunStatus::Suspended {
        write.await
    } else {
        // The run ends: the notice goes in the same round trip, right behind the write
        // (pipelined, so delivered after it commits; harmless if the write is refused).
        let notify = super::listen::notify_ended(client, &sql.notify_ended, checkpoint.run);
        tokio::join!(write, notify).0
    };
    match saved.map_err(store)? {
        0 => Err(refused(client, sql, checkpoint.run, lease, Some(checkpoint.seq)).await),
        _ => Ok(()),
    }
}

/// Suspends run `run` at checkpoint `seq`, its latest, under `lease`, without a checkpoint;
/// creates the rows of `child`'s chain, whose first step waits, under the run it names
/// (`run`, or one of its child runs), in the same statement.
pub(super) async fn suspend_at(
    client: &Client,
    sql: &Statements,
    lease: Uuid,
    (run, seq): (RunId, u64),
    child: Option<&(RunId, ChildRecord)>,
) -> Result<(), Error> {
    let at = seq as i64;
    let params: [&(dyn ToSql + Sync); 4] = [run.as_uuid(), &lease, &at, &CANCELLED];
    let records = child
        .map(|(_, child)| chain_from(child))
        .unwrap_or_default();
    // The child run the chain hangs under, if not the run itself.
    let under = child
        .map(|(parent, _)| parent)
        .filter(|parent| **parent != run);
    let suspended = match records.is_empty() {
        true => client.execute(&sql.suspend_at, &params).await,
        // Rare: a statement of its own.
        false => {
            let bounds = ChildBound::all(&records);
            let mut params = ChildBound::params(&bounds, &records, &params);
            params.extend(under.map(|parent| parent.as_uuid() as &(dyn ToSql + Sync)));
            let statement =
                super::statements::suspend_with_children(records.len(), under.is_some());
            client.execute(statement.as_str(), &params).await
        }
    };
    match suspended.map_err(store)? {
        // `refused` reads a write of checkpoint `seq + 1` expected on top of `seq`.
        0 => Err(refused(client, sql, run, lease, Some(seq.wrapping_add(1))).await),
        _ => Ok(()),
    }
}

/// Creates the rows of `child`'s chain, child runs in flight of run `run`, that have none, if
/// `run` is leased to `lease` at checkpoint `seq`, its latest: one statement (rare: not
/// prepared).
pub(super) async fn create_children(
    client: &Client,
    sql: &Statements,
    lease: Uuid,
    (run, seq): (RunId, u64),
    child: &ChildRecord,
) -> Result<(), Error> {
    let records = chain_from(child);
    let bounds = ChildBound::all(&records);
    let column = |of: fn(&ChildRecord) -> &str| records.iter().map(|r| of(r)).collect::<Vec<_>>();
    let ids: Vec<Uuid> = records
        .iter()
        .map(|r| *r.checkpoint.run.as_uuid())
        .collect();
    // Each one's parent: the run, then the one before it.
    let parents: Vec<Uuid> = std::iter::once(*run.as_uuid())
        .chain(ids.iter().copied())
        .take(ids.len())
        .collect();
    let fingerprints: Vec<i64> = bounds.iter().map(|b| b.fingerprint).collect();
    let seqs: Vec<i64> = bounds.iter().map(|b| b.seq).collect();
    let started: Vec<i64> = bounds.iter().map(|b| b.started).collect();
    let formats: Vec<i32> = bounds.iter().map(|b| b.format).collect();
    let statuses: Vec<&str> = bounds.iter().map(|b| b.status).collect();
    let (workflows, steps) = (
        column(|r| &r.checkpoint.workflow),
        column(|r| &r.checkpoint.step),
    );
    let parent_steps = column(|r| &r.parent_step);
    let (states, loops) = (
        column(|r| &r.checkpoint.state),
        column(|r| &r.checkpoint.loops),
    );
    let at = seq as i64;
    let params: [&(dyn ToSql + Sync); 15] = [
        run.as_uuid(),
        &lease,
        &at,
        &ids,
        &workflows,
        &fingerprints,
        &statuses,
        &steps,
        &seqs,
        &parents,
        &started,
        &parent_steps,
        &formats,
        &states,
        &loops,
    ];
    let row = client
        .query_one(super::statements::CREATE_CHILDREN, &params)
        .await
        .map_err(store)?;
    match row.try_get::<_, bool>(0).map_err(store)? {
        true => Ok(()),
        // `refused` reads a write of checkpoint `seq + 1` expected on top of `seq`.
        false => Err(refused(client, sql, run, lease, Some(seq.wrapping_add(1))).await),
    }
}

/// Saves `checkpoint` under `lease` (extended by `ttl` milliseconds) with the calls recorded
/// at the checkpoint before it, and `call`, recorded at it: one statement.
pub(super) async fn save_carried(
    client: &Client,
    sql: &Statements,
    (lease, ttl): (Uuid, i64),
    checkpoint: &Checkpoint,
    call: &CallRecord,
) -> Result<(), Error> {
    let bound = Bound::of(checkpoint);
    let params = bound.params(checkpoint, &lease, &ttl, &[&call.key, &call.value]);
    let records = chain(checkpoint);
    let bounds = ChildBound::all(&records);
    let saved = match records.len() {
        0 => client.execute(&sql.save_carried, &params).await,
        1 => {
            let params = ChildBound::params(&bounds, &records, &params);
            client.execute(&sql.save_carried_child, &params).await
        }
        depth => {
            let params = ChildBound::params(&bounds, &records, &params);
            let statement = ChildSave::Carried.sql(depth);
            client.execute(statement.as_str(), &params).await
        }
    };
    match saved.map_err(store)? {
        0 => Err(refused(client, sql, checkpoint.run, lease, Some(checkpoint.seq)).await),
        _ => Ok(()),
    }
}

/// Records `usage` on checkpoint `seq` of run `run`, its latest, under `lease`.
pub(super) async fn save_usage(
    client: &Client,
    sql: &Statements,
    lease: Uuid,
    (run, seq): (RunId, u64),
    usage: Option<String>,
) -> Result<(), Error> {
    let params: [&(dyn ToSql + Sync); 4] = [run.as_uuid(), &lease, &(seq as i64), &usage];
    match client
        .execute(&sql.save_usage, &params)
        .await
        .map_err(store)?
    {
        // `refused` reads a write of checkpoint `seq + 1` expected on top of `seq`.
        0 => Err(refused(client, sql, run, lease, Some(seq.wrapping_add(1))).await),
        _ => Ok(()),
    }
}

pub(super) async fn save_branch(
    client: &Client,
    sql: &Statements,
    lease: Uuid,
    ttl: i64,
    (run, seq): (RunId, u64),
    branch: &BranchRecord,
) -> Result<(), Error> {
    let usage = branch.usage.to_json();
    let params: [&(dyn ToSql + Sync); 7] = [
        run.as_uuid(),
        &lease,
        &(seq as i64),
        &i32::try_from(branch.index).unwrap_or(i32::MAX),
        &ttl,
        &branch.value,
        &usage,
    ];
    match client
        .execute(&sql.save_branch, &params)
        .await
        .map_err(store)?
    {
        // `refused` reads a write of checkpoint `seq + 1` expected on top of `seq`.
        0 => Err(refused(client, sql, run, lease, Some(seq.wrapping_add(1))).await),
        _ => Ok(()),
    }
}

/// Gives up `lease` on run `run`, recording `error` if given; a run that sleeps until
/// `wake_at` (milliseconds), or waits for a message of signal `awaiting`, is not picked up
/// before.
pub(super) async fn release(
    client: &Client,
    sql: &Statements,
    run: RunId,
    lease: Uuid,
    error: Option<&str>,
    (wake_at, awaiting): (Option<i64>, Option<&str>),
) -> Result<(), Error> {
    let params: [&(dyn ToSql + Sync); 6] = [
        run.as_uuid(),
        &lease,
        &error,
        &CANCELLED,
        &wake_at,
        &awaiting,
    ];
    match client.execute(&sql.release, &params).await.map_err(store)? {
        0 => Err(refused(client, sql, run, lease, None).await),
        _ => Ok(()),
    }
}

/// What the save statements bind of a checkpoint, converted to the columns' types (also
/// what a save in a group keeps, `group::Row`).
pub(super) struct Bound {
    pub(super) seq: i64,
    pub(super) status: &'static str,
    running: bool,
    pub(super) fingerprint: i64,
    pub(super) format: i32,
    pub(super) created_at: i64,
    pub(super) usage: Option<String>,
}

impl Bound {
    pub(super) fn of(checkpoint: &Checkpoint) -> Self {
        Bound {
            seq: checkpoint.seq as i64,
            status: checkpoint.status.as_str(),
            running: checkpoint.status == RunStatus::Running,
            fingerprint: checkpoint.fingerprint as i64,
            format: checkpoint.format as i32,
            created_at: to_millis(checkpoint.created_at),
            usage: checkpoint.usage.to_json(),
        }
    }

    /// The params of a save of `checkpoint` under `lease`, extended by `ttl`: `$1`–`$14`
    /// (see `statements::SAVE_RUN` and `SAVE_CHECKPOINT`), then `extra` from `$15`.
    fn params<'a>(
        &'a self,
        checkpoint: &'a Checkpoint,
        lease: &'a Uuid,
        ttl: &'a i64,
        extra: &[&'a (dyn ToSql + Sync)],
    ) -> Vec<&'a (dyn ToSql + Sync)> {
        let params: [&(dyn ToSql + Sync); 14] = [
            checkpoint.run.as_uuid(),
            lease,
            &self.seq,
            &self.status,
            &checkpoint.step,
            &self.running,
            ttl,
            &checkpoint.workflow,
            &self.fingerprint,
            &self.format,
            &checkpoint.state,
            &checkpoint.loops,
            &self.created_at,
            &self.usage,
        ];
        params.iter().chain(extra).copied().collect()
    }
}

/// What the save statements that write a child run bind of its record, after the save's
/// own params (see `statements::with_child`).
struct ChildBound {
    fingerprint: i64,
    status: &'static str,
    started: i64,
    format: i32,
    seq: i64,
}

impl ChildBound {
    /// What each record of `children` binds, in order.
    fn all(children: &[&ChildRecord]) -> Vec<Self> {
        let of = |child: &&ChildRecord| ChildBound {
            fingerprint: child.checkpoint.fingerprint as i64,
            status: child.checkpoint.status.as_str(),
            started: i64::try_from(child.started).unwrap_or(i64::MAX),
            format: child.checkpoint.format as i32,
            seq: i64::try_from(child.checkpoint.seq).unwrap_or(i64::MAX),
        };
        children.iter().map(of).collect()
    }

    /// `save`, the params of the save, then those of each child of `children` (bound as
    /// `bounds`), from the top.
    fn params<'a>(
        bounds: &'a [ChildBound],
        children: &[&'a ChildRecord],
        save: &[&'a (dyn ToSql + Sync)],
    ) -> Vec<&'a (dyn ToSql + Sync)> {
        let mut params = save.to_vec();
        for (bound, child) in bounds.iter().zip(children) {
            let checkpoint = &child.checkpoint;
            params.extend([
                checkpoint.run.as_uuid() as &(dyn ToSql + Sync),
                &checkpoint.workflow,
                &bound.fingerprint,
                &bound.status,
                &checkpoint.step,
                &bound.started,
                &child.parent_step,
                &bound.format,
                &checkpoint.state,
                &checkpoint.loops,
                &bound.seq,
            ]);
        }
        params
    }
}

/// The child run `checkpoint` carries, its own child run, and so on: the chain of child
/// records a save writes, from the top.
fn chain(checkpoint: &Checkpoint) -> Vec<&ChildRecord> {
    checkpoint
        .child
        .as_deref()
        .map(chain_from)
        .unwrap_or_default()
}

/// `child`, then the child record its checkpoint carries, and so on: the chain from the top.
fn chain_from(child: &ChildRecord) -> Vec<&ChildRecord> {
    let mut records = Vec::new();
    let mut next = Some(child);
    while let Some(record) = next {
        records.push(record);
        next = record.checkpoint.child.as_deref();
    }
    records
}

/// Appends `events` to run `run`'s log, without a checkpoint.
pub(super) async fn append_events(
    client: &Client,
    sql: &Statements,
    run: RunId,
    events: &[NewEvent],
) -> Result<(), Error> {
    let Some((at, text)) = pack(events) else {
        return Ok(());
    };
    let count = events.len() as i64;
    let params: [&(dyn ToSql + Sync); 4] = [run.as_uuid(), &at, &text, &count];
    match client
        .execute(&sql.append_events, &params)
        .await
        .map_err(store)?
    {
        0 => Err(Error::RunNotFound { run }),
        _ => Ok(()),
    }
}

/// Queues `value` for run `run` under `signal`; returns its number.
pub(super) async fn send_signal(
    client: &Client,
    sql: &Statements,
    run: RunId,
    signal: &str,
    value: &str,
) -> Result<u64, Error> {
    let params: [&(dyn ToSql + Sync); 3] = [run.as_uuid(), &signal, &value];
    let row = client
        .query_opt(&sql.send_signal, &params)
        .await
        .map_err(store)?;
    let row = row.ok_or(Error::RunNotFound { run })?;
    let number: i64 = Reader::of(&row, run).get(0, "id")?;
    Ok(number.unsigned_abs())
}

/// The oldest message queued for run `run` under `signal`.
pub(super) async fn next_signal(
    client: &Client,
    sql: &Statements,
    run: RunId,
    signal: &str,
) -> Result<Option<(u64, String)>, Error> {
    let params: [&(dyn ToSql + Sync); 2] = [run.as_uuid(), &signal];
    let row = client
        .query_opt(&sql.next_signal, &params)
        .await
        .map_err(store)?;
    let Some(row) = row else {
        return Ok(None);
    };
    let read = Reader::of(&row, run);
    let number: i64 = read.get(0, "id")?;
    Ok(Some((number.unsigned_abs(), read.get(1, "value")?)))
}
