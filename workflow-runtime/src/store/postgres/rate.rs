//! Rate limits shared by every worker of the database: a sliding log of start times per key,
//! kept as an array in the key's row of `workflow_rate_limits`, checked and written in one
//! statement that holds the row's lock.

use std::time::Duration;

use tokio_postgres::types::ToSql;
use tokio_postgres::Client;

use super::rows::store;
use super::statements::Statements;
use crate::error::Error;
use crate::store::rate::full_for;
use crate::store::time::{duration_millis, from_millis};
use crate::store::RateSlot;

/// The statement of [`take`] (`$1` the key, `$2` the calls, `$3` the period in milliseconds).
/// The key's row is created with this call's start if it is new. Otherwise, holding the row's
/// lock (`r.starts` is the row as the previous holder left it), it reads the database's
/// clock, drops the starts that left the window, and adds this call's start if fewer than
/// `$2` are left. The clock is read once the lock is granted, so that a caller that waited for
/// it counts from then, and start times are written in the order they are taken. It returns
/// the starts kept (oldest first), the time it read, and whether it took the place.
pub(super) const TAKE: &str = "INSERT INTO workflow_rate_limits AS r (key, starts, tried, taken) \
     SELECT $1::text, ARRAY[c.n], c.n, true \
     FROM (SELECT (extract(epoch from clock_timestamp()) * 1000)::bigint AS n) c \
     ON CONFLICT (key) DO UPDATE SET (starts, tried, taken) = (\
     SELECT CASE WHEN cardinality(k.kept) < $2::bigint THEN k.kept || t.n ELSE k.kept END, \
     t.n, cardinality(k.kept) < $2::bigint \
     FROM (SELECT (extract(epoch from clock_timestamp()) * 1000)::bigint AS n) t, \
     LATERAL (SELECT ARRAY(SELECT s FROM unnest(r.starts) s WHERE s > t.n - $3::bigint \
     ORDER BY s) AS kept) k) \
     RETURNING starts, tried, taken";

/// Takes a place in limit `key` if fewer than `calls` calls started in the last `period`: one
/// statement on the store's shared connection.
pub(super) async fn take(
    client: &Client,
    sql: &Statements,
    key: &str,
    calls: u32,
    period: Duration,
) -> Result<RateSlot, Error> {
    let (calls_param, period) = (i64::from(calls.max(1)), duration_millis(period).max(1));
    let params: [&(dyn ToSql + Sync); 3] = [&key, &calls_param, &period];
    let row = client
        .query_one(&sql.take_rate_slot, &params)
        .await
        .map_err(store)?;
    let (starts, now, taken): (Vec<i64>, i64, bool) = (
        row.try_get(0).map_err(store)?,
        row.try_get(1).map_err(store)?,
        row.try_get(2).map_err(store)?,
    );
    if taken {
        return Ok(RateSlot::Taken {
            at: from_millis(now),
        });
    }
    // Not taken: the window is full, so there is a start to wait for.
    let retry_in = full_for(&starts, calls, period, now).unwrap_or(Duration::from_millis(1));
    Ok(RateSlot::Full { retry_in })
}
