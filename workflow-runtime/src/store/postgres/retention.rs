//! Keeping history small: pruning a run's checkpoints, deleting old ended runs. Every value
//! is a bound parameter; leases are timed by the database's clock.

use tokio_postgres::Client;

use super::read;
use super::rows::store;
use super::statements::Statements;
use crate::store::time::to_millis;
use crate::store::{Retention, RunId, RunStatus};
use crate::Error;

/// Deletes the checkpoints of run `run` but its last `keep` (at least 1), and the calls
/// recorded by its steps that are over. The events the checkpoints hold stay in the run's
/// log (in `workflow_events`).
pub(super) async fn prune(
    client: &Client,
    sql: &Statements,
    run: RunId,
    keep: u64,
) -> Result<u64, Error> {
    let info = read::run(client, sql, run).await?;
    // The calls of the steps that are over are never read again.
    let version = i64::try_from(info.version).unwrap_or(i64::MAX);
    client
        .execute(
            "DELETE FROM workflow_calls WHERE run = $1 AND seq < $2",
            &[run.as_uuid(), &version],
        )
        .await
        .map_err(store)?;
    // Checkpoints `version - keep + 1 ..= version` stay.
    let last_gone = info.version.checked_sub(keep.max(1));
    let Some(last_gone) = last_gone.and_then(|seq| i64::try_from(seq).ok()) else {
        return Ok(0);
    };
    // The branches saved at the checkpoints that go, go with them, and the batches of
    // events they hold move to the log's own rows (a run's log is never pruned), in the
    // same statement: a read of the log sees them in one table or the other.
    let delete = "WITH moved AS (INSERT INTO workflow_events (run, seq, at, event, count) \
                  SELECT run, events_seq, events_at, events, events_count \
                  FROM workflow_checkpoints WHERE run = $1 AND seq <= $2 AND events IS NOT NULL), \
                  branches AS (DELETE FROM workflow_branches WHERE run = $1 AND seq <= $2) \
                  DELETE FROM workflow_checkpoints WHERE run = $1 AND seq <= $2";
    client
        .execute(delete, &[run.as_uuid(), &last_gone])
        .await
        .map_err(store)
}

/// Deletes the runs `retention` selects, with their child runs, checkpoints, event logs,
/// messages, answers and recorded calls, in one statement.
pub(super) async fn delete_runs(client: &Client, retention: &Retention) -> Result<u64, Error> {
    // Child runs go with their parent only, at any depth.
    const DELETE: &str = "WITH RECURSIVE parents AS (DELETE FROM workflow_runs \
         WHERE parent_step IS NULL AND status = ANY($1) AND updated_at < $2 AND (lease_id IS NULL \
         OR lease_expires IS NULL \
         OR lease_expires <= (extract(epoch from clock_timestamp()) * 1000)::bigint) \
         RETURNING id), \
         tree (id) AS (SELECT c.id FROM workflow_runs c WHERE c.parent IN \
         (SELECT id FROM parents) AND c.parent_step IS NOT NULL UNION ALL SELECT c.id \
         FROM workflow_runs c JOIN tree t ON c.parent = t.id AND c.parent_step IS NOT NULL), \
         children AS (DELETE FROM workflow_runs WHERE id IN (SELECT id FROM tree) \
         RETURNING id), \
         gone AS (SELECT id FROM parents UNION ALL SELECT id FROM children), \
         checkpoints AS (DELETE FROM workflow_checkpoints WHERE run IN (SELECT id FROM gone)), \
         branches AS (DELETE FROM workflow_branches WHERE run IN (SELECT id FROM gone)), \
         events AS (DELETE FROM workflow_events WHERE run IN (SELECT id FROM gone)), \
         signals AS (DELETE FROM workflow_signals WHERE run IN (SELECT id FROM gone)), \
         answers AS (DELETE FROM workflow_answers WHERE run IN (SELECT id FROM gone)), \
         calls AS (DELETE FROM workflow_calls WHERE run IN (SELECT id FROM gone)) \
         SELECT count(*) FROM gone";
    let statuses: Vec<&str> = retention
        .statuses()
        .iter()
        .map(|s| RunStatus::as_str(*s))
        .collect();
    let row = client
        .query_one(DELETE, &[&statuses, &to_millis(retention.before)])
        .await
        .map_err(store)?;
    let gone: i64 = row.try_get(0).map_err(store)?;
    Ok(u64::try_from(gone).unwrap_or(0))
}
