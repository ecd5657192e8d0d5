//! What workers ask of the database: the next run to pick up (`FOR UPDATE SKIP LOCKED`), and
//! cancelling a run by id.

use tokio_postgres::types::ToSql;
use tokio_postgres::Client;

use super::rows::{run_info, store, Reader};
use super::sql::read_claimed;
use super::statements::Statements;
use crate::error::Error;
use crate::store::queue::CANCELLED;
use crate::store::time::lease_millis;
use crate::store::{Cancel, Checkpoint, Lease, RunId, RunInfo, WorkflowType};

/// Leases the oldest run a worker of `types` may pick up to `lease`: one statement, which
/// skips the rows other workers are taking rather than wait for them, and which first
/// records as cancelled the runs asked to stop whose lease has expired.
pub(super) async fn claim_next(
    client: &Client,
    sql: &Statements,
    types: &[WorkflowType],
    lease: &Lease,
) -> Result<Option<(RunInfo, Checkpoint)>, Error> {
    let names: Vec<&str> = types.iter().map(|kind| kind.name.as_str()).collect();
    let prints: Vec<i64> = types.iter().map(|kind| kind.fingerprint as i64).collect();
    let ttl = lease_millis(lease);
    let params: [&(dyn ToSql + Sync); 6] =
        [&lease.id, &lease.owner, &ttl, &names, &prints, &CANCELLED];
    let Some(row) = client
        .query_opt(&sql.claim_next, &params)
        .await
        .map_err(store)?
    else {
        return Ok(None);
    };
    // The lease is kept even if the run does not read back: the caller records why.
    let run = run_info(&row)?.id;
    read_claimed(client, sql, run, &row).await.map(Some)
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
