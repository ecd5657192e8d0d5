//! Answers recorded for pauses by tools without the workflow's code, and the workflow
//! definitions those tools show.

use tokio_postgres::types::ToSql;
use tokio_postgres::Client;

use super::rows::{store, Reader};
use super::statements::RECORD_ANSWER;
use crate::definition::WorkflowDefinition;
use crate::error::Error;
use crate::store::answer::refusal;
use crate::store::RunId;

/// Records `value` for the pause of checkpoint `seq` of run `run`: one statement that checks
/// the run and inserts the answer if none is recorded.
pub(super) async fn record(
    client: &Client,
    run: RunId,
    seq: u64,
    value: &str,
) -> Result<(), Error> {
    let at = seq as i64;
    let params: [&(dyn ToSql + Sync); 3] = [run.as_uuid(), &at, &value];
    let Some(row) = client
        .query_opt(RECORD_ANSWER, &params)
        .await
        .map_err(store)?
    else {
        return Err(Error::RunNotFound { run });
    };
    let read = Reader::of(&row, run);
    let (status, version) = (read.status(0)?, read.get::<i64>(1, "version")?);
    if read.get::<i64>(2, "count")? == 1 {
        return Ok(());
    }
    let recorded: Option<String> = read.get(3, "value")?;
    let at = (status, u64::try_from(version).unwrap_or(0));
    // Not recorded: one of the refusals holds (or the answer was taken between the two).
    Err(
        refusal(run, at, seq, recorded.as_deref(), value).unwrap_or(Error::AlreadyAnswered {
            run,
            seq,
            repeated: false,
        }),
    )
}

/// The answer recorded for the pause of checkpoint `seq` of run `run`.
pub(super) async fn select(client: &Client, run: RunId, seq: u64) -> Result<Option<String>, Error> {
    let at = seq as i64;
    let row = client
        .query_opt(
            "SELECT value FROM workflow_answers WHERE run = $1 AND seq = $2",
            &[run.as_uuid(), &at],
        )
        .await
        .map_err(store)?;
    row.map(|row| Reader::of(&row, run).get(0, "value"))
        .transpose()
}

/// Forgets the answer recorded for the pause of checkpoint `seq` of run `run`.
pub(super) async fn discard(client: &Client, run: RunId, seq: u64) -> Result<(), Error> {
    let at = seq as i64;
    client
        .execute(
            "DELETE FROM workflow_answers WHERE run = $1 AND seq = $2",
            &[run.as_uuid(), &at],
        )
        .await
        .map_err(store)
        .map(drop)
}

/// Records `definition`, unless one with its name and fingerprint is recorded.
pub(super) async fn save_definition(
    client: &Client,
    definition: &WorkflowDefinition,
) -> Result<(), Error> {
    let print = definition.fingerprint as i64;
    let params: [&(dyn ToSql + Sync); 3] = [&definition.name, &print, &definition.to_stored()];
    client
        .execute(
            "INSERT INTO workflow_definitions (workflow, fingerprint, definition, created_at) \
             VALUES ($1, $2, $3, (extract(epoch from clock_timestamp()) * 1000)::bigint) \
             ON CONFLICT (workflow, fingerprint) DO NOTHING",
            &params,
        )
        .await
        .map_err(store)
        .map(drop)
}

/// The definition of workflow `name` with fingerprint `fingerprint`.
pub(super) async fn definition(
    client: &Client,
    name: &str,
    fingerprint: u64,
) -> Result<Option<WorkflowDefinition>, Error> {
    let print = fingerprint as i64;
    let row = client
        .query_opt(
            "SELECT definition FROM workflow_definitions WHERE workflow = $1 AND fingerprint = $2",
            &[&name, &print],
        )
        .await
        .map_err(store)?;
    let text: Option<String> = row.map(|row| row.try_get(0)).transpose().map_err(store)?;
    text.as_deref()
        .map(WorkflowDefinition::from_stored)
        .transpose()
}
