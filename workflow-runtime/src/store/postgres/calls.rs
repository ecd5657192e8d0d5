//! The calls a run's step in flight recorded (model turns, tool calls, `once` blocks), read
//! back when the step runs again. Not prepared with the others on every connection (a run
//! without agents makes none): each is sent with its parameters' types, in one round trip.

use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::Client;
use uuid::Uuid;

use super::rows::{store, Reader};
use super::sql::refused;
use super::statements::Statements;
use crate::error::Error;
use crate::store::{CallRecord, RunId};

/// Records call `$4` (JSON `$5`) at checkpoint `$3` of run `$1` if the run is leased to `$2`
/// and `$3` is its latest checkpoint, unless one with that key is there; returns whether the
/// run could be written.
const SAVE_CALL: &str = "WITH run AS (SELECT id FROM workflow_runs \
     WHERE id = $1 AND lease_id = $2 AND version = $3::bigint AND NOT cancel_requested), \
     ins AS (INSERT INTO workflow_calls (run, seq, key, value, created_at) \
     SELECT id, $3::bigint, $4::text, $5::text, \
     (extract(epoch from clock_timestamp()) * 1000)::bigint FROM run \
     ON CONFLICT (run, seq, key) DO NOTHING) \
     SELECT count(*) FROM run";

/// Records `call` at checkpoint `seq` of run `run`, under `lease`.
pub(super) async fn save(
    client: &Client,
    sql: &Statements,
    lease: Uuid,
    (run, seq): (RunId, u64),
    call: &CallRecord,
) -> Result<(), Error> {
    let at = seq as i64;
    let params: [(&(dyn ToSql + Sync), Type); 5] = [
        (run.as_uuid(), Type::UUID),
        (&lease, Type::UUID),
        (&at, Type::INT8),
        (&call.key, Type::TEXT),
        (&call.value, Type::TEXT),
    ];
    let rows = client
        .query_typed(SAVE_CALL, &params)
        .await
        .map_err(store)?;
    let row = rows
        .first()
        .ok_or_else(|| Error::other("recording a call returned no row"))?;
    match Reader::of(row, run).get::<i64>(0, "count")? {
        // `refused` reads a write of checkpoint `seq + 1` expected on top of `seq`.
        0 => Err(refused(client, sql, run, lease, Some(seq.wrapping_add(1))).await),
        _ => Ok(()),
    }
}

/// The calls recorded at checkpoint `seq` of run `run`.
pub(super) async fn select(
    client: &Client,
    run: RunId,
    seq: u64,
) -> Result<Vec<CallRecord>, Error> {
    let at = seq as i64;
    let rows = client
        .query_typed(
            "SELECT key, value FROM workflow_calls WHERE run = $1 AND seq = $2",
            &[(run.as_uuid(), Type::UUID), (&at, Type::INT8)],
        )
        .await
        .map_err(store)?;
    rows.iter()
        .map(|row| {
            let read = Reader::of(row, run);
            Ok(CallRecord {
                key: read.get(0, "key")?,
                value: read.get(1, "value")?,
            })
        })
        .collect()
}
