//! Answers recorded for pauses by tools without the workflow's code, and the workflow
//! definitions those tools show.

use rusqlite::{params, Connection, OptionalExtension};

use super::id::Id;
use super::read::select_run;
use super::rows::store;
use super::sql::now;
use super::tx::write;
use crate::definition::WorkflowDefinition;
use crate::error::Error;
use crate::store::answer::refusal;
use crate::store::RunId;

/// Records `value` for the pause of checkpoint `seq` of run `run`, in one write transaction.
pub(super) fn record(
    conn: &mut Connection,
    run: RunId,
    seq: u64,
    value: &str,
) -> Result<(), Error> {
    let tx = write(conn)?;
    let info = select_run(&tx, run)?;
    let recorded = select(&tx, run, seq)?;
    let at = (info.status, info.version);
    if let Some(error) = refusal(run, at, seq, recorded.as_deref(), value) {
        return Err(error);
    }
    tx.prepare_cached(
        "INSERT INTO workflow_answers (run, seq, value, created_at) VALUES (?1, ?2, ?3, ?4)",
    )
    .and_then(|mut stmt| stmt.execute(params![Id::run(run), seq as i64, value, now()]))
    .map_err(store)?;
    tx.commit()
}

/// The answer recorded for the pause of checkpoint `seq` of run `run`.
pub(super) fn select(conn: &Connection, run: RunId, seq: u64) -> Result<Option<String>, Error> {
    conn.prepare_cached("SELECT value FROM workflow_answers WHERE run = ?1 AND seq = ?2")
        .and_then(|mut stmt| {
            stmt.query_row(params![Id::run(run), seq as i64], |row| row.get(0))
                .optional()
        })
        .map_err(store)
}

/// Forgets the answer recorded for the pause of checkpoint `seq` of run `run`.
pub(super) fn discard(conn: &mut Connection, run: RunId, seq: u64) -> Result<(), Error> {
    conn.prepare_cached("DELETE FROM workflow_answers WHERE run = ?1 AND seq = ?2")
        .and_then(|mut stmt| stmt.execute(params![Id::run(run), seq as i64]))
        .map_err(store)
        .map(drop)
}

/// Records `definition`, unless one with its name and fingerprint is recorded.
pub(super) fn save_definition(
    conn: &mut Connection,
    definition: &WorkflowDefinition,
) -> Result<(), Error> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO workflow_definitions (workflow, fingerprint, definition, \
         created_at) VALUES (?1, ?2, ?3, ?4)",
    )
    .and_then(|mut stmt| {
        let (name, print) = (&definition.name, definition.fingerprint as i64);
        stmt.execute(params![name, print, definition.to_stored(), now()])
    })
    .map_err(store)
    .map(drop)
}

/// The definition of workflow `name` with fingerprint `fingerprint`.
pub(super) fn definition(
    conn: &Connection,
    name: &str,
    fingerprint: u64,
) -> Result<Option<WorkflowDefinition>, Error> {
    let text: Option<String> = conn
        .prepare_cached(
            "SELECT definition FROM workflow_definitions WHERE workflow = ?1 AND fingerprint = ?2",
        )
        .and_then(|mut stmt| {
            stmt.query_row(params![name, fingerprint as i64], |row| row.get(0))
                .optional()
        })
        .map_err(store)?;
    text.as_deref()
        .map(WorkflowDefinition::from_stored)
        .transpose()
}
