//! Saves of checkpoints that come while another is on its way to the server, written
//! together in one statement: a worker that drives many runs over one connection pays the
//! server's cost of a statement (its set-up, its transaction, its commit) once for all of
//! them rather than once each.
//!
//! A save that finds the connection's group idle is written at once, by its caller, as it
//! always was; nothing waits for company. Saves that come while it is in flight queue, and
//! the first to finish hands the queue to a task that writes it in one statement
//! (`statements::save_group`), then writes what queued meanwhile, until nothing is left.
//! Each row is checked as a save alone is (its lease, its version, its run `running` and not
//! asked to stop); a save the group statement did not write, or a group that failed, is made
//! again alone by its caller, which then gets the error a save alone gets. A run's end
//! written in a group is announced by the same statement, when it commits.

use std::borrow::Cow;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::rows::store;
use super::sql::{self, Bound};
use super::Connection;
use crate::error::Error;
use crate::store::batch::pack;
use crate::store::{Checkpoint, NewEvent, RunStatus};

/// At most this many saves go in one statement; more wait for the next.
const MOST: usize = 128;

/// Nor more than about this many bytes of states and events (a save larger than that goes
/// alone): one statement's message stays a few megabytes however large the states.
const MOST_BYTES: usize = 8 << 20;

/// The saves of one connection that wait for the one in flight.
#[derive(Default)]
pub(super) struct Group {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// A save is on its way: its caller's, or a group's.
    busy: bool,
    queued: Vec<Queued>,
}

/// A save that waits, and where to say whether the group wrote it.
struct Queued {
    row: Row,
    saved: oneshot::Sender<bool>,
}

/// What a queued save binds, its own copy: the task that writes it outlives its caller's
/// borrow.
struct Row {
    run: Uuid,
    lease: Uuid,
    ttl: i64,
    bound: Bound,
    step: Cow<'static, str>,
    workflow: Cow<'static, str>,
    state: String,
    loops: Cow<'static, str>,
    /// The events as one row of the log: the first's time, the batch, how many.
    at: i64,
    events: String,
    count: i64,
}

impl Row {
    fn of(lease: Uuid, ttl: i64, checkpoint: &Checkpoint, events: &[NewEvent]) -> Self {
        let (at, batch) = pack(events).unwrap_or_default();
        Row {
            run: *checkpoint.run.as_uuid(),
            lease,
            ttl,
            bound: Bound::of(checkpoint),
            step: checkpoint.step.clone(),
            workflow: checkpoint.workflow.clone(),
            state: checkpoint.state.clone(),
            loops: checkpoint.loops.clone(),
            at,
            events: batch,
            count: events.len() as i64,
        }
    }
}

impl Group {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Saves `checkpoint` with `events` under `lease` (extended by `ttl` milliseconds) on `conn`:
/// with the saves of other runs if one is in flight, alone otherwise.
pub(super) async fn save(
    conn: &Arc<Connection>,
    lease: Uuid,
    ttl: i64,
    checkpoint: &Checkpoint,
    events: &[NewEvent],
) -> Result<(), Error> {
    // Only the usual saves go in a group: a checkpoint without a child run that goes on or
    // finishes the run. One that suspends it, or fails, is written alone.
    let usual = matches!(checkpoint.status, RunStatus::Running | RunStatus::Finished);
    if !usual || checkpoint.child.is_some() {
        return sql_save(conn, lease, ttl, checkpoint, events).await;
    }
    let written = match take_turn(&conn.group) {
        true => None,
        false => {
            let row = Row::of(lease, ttl, checkpoint, events);
            queue(&conn.group, row)
        }
    };
    match written {
        None => {
            let _turn = Turn(Arc::clone(conn));
            sql_save(conn, lease, ttl, checkpoint, events).await
        }
        // Written with the group; or not, and then alone, for the reason.
        Some(written) => match written.await {
            Ok(true) => Ok(()),
            Ok(false) | Err(_) => sql_save(conn, lease, ttl, checkpoint, events).await,
        },
    }
}

/// Whether the connection's group was idle: then the caller's save goes now, alone, and the
/// group is busy until it is written.
fn take_turn(group: &Group) -> bool {
    let mut state = group.lock();
    !std::mem::replace(&mut state.busy, true)
}

/// Queues `row` behind the save in flight: where the group says whether it wrote it. `None`
/// if that save ended while the row was copied: the caller's turn then.
fn queue(group: &Group, row: Row) -> Option<oneshot::Receiver<bool>> {
    let mut state = group.lock();
    if !std::mem::replace(&mut state.busy, true) {
        return None;
    }
    let (saved, written) = oneshot::channel();
    state.queued.push(Queued { row, saved });
    Some(written)
}

async fn sql_save(
    conn: &Connection,
    lease: Uuid,
    ttl: i64,
    checkpoint: &Checkpoint,
    events: &[NewEvent],
) -> Result<(), Error> {
    sql::save(
        &conn.client,
        &conn.sql,
        lease,
        ttl,
        checkpoint,
        events,
        None,
    )
    .await
}

/// A save alone in flight: when it ends (or its caller gives up on it), the saves that
/// queued behind it are written by a task of their own.
struct Turn(Arc<Connection>);

impl Drop for Turn {
    fn drop(&mut self) {
        hand_on(&self.0);
    }
}

/// The group's turn ends: the queue goes to a task that writes it, or the group is idle.
fn hand_on(conn: &Arc<Connection>) {
    let mut state = conn.group.lock();
    if state.queued.is_empty() {
        state.busy = false;
        return;
    }
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            drop(state);
            runtime.spawn(flush(Arc::clone(conn)));
        }
        // No runtime to write them on (it is shutting down): each caller, told nothing,
        // tries alone.
        Err(_) => {
            state.queued.clear();
            state.busy = false;
        }
    }
}

/// Writes the queue in groups until it is empty, then leaves the group idle.
async fn flush(conn: Arc<Connection>) {
    let mut flushing = Flushing {
        conn: &conn,
        done: false,
    };
    loop {
        let group = {
            let mut state = conn.group.lock();
            if state.queued.is_empty() {
                state.busy = false;
                flushing.done = true;
                return;
            }
            let most = taken(&state.queued);
            let rest = state.queued.split_off(most);
            std::mem::replace(&mut state.queued, rest)
        };
        let written = write(&conn, &group).await;
        for queued in group {
            let key = (queued.row.run, queued.row.bound.seq);
            let saved = written.as_ref().is_ok_and(|saved| saved.contains(&key));
            // A caller that gave up has nobody to tell.
            let _ = queued.saved.send(saved);
        }
    }
}

/// How many of the saves at the head of `queued` go in the next statement: at least one, at
/// most [`MOST`], and no more than [`MOST_BYTES`] of states and events.
fn taken(queued: &[Queued]) -> usize {
    let mut bytes = 0;
    let fits = |queued: &&Queued| {
        bytes += queued.row.state.len() + queued.row.events.len();
        bytes <= MOST_BYTES
    };
    queued
        .iter()
        .take(MOST)
        .take_while(fits)
        .count()
        .max(1)
        .min(queued.len())
}

/// A flush under way: if its task is dropped before the queue is empty, the callers still
/// waiting try alone, and the group is idle again.
struct Flushing<'a> {
    conn: &'a Connection,
    /// The queue was found empty, and the group left idle (or since taken by another save).
    done: bool,
}

impl Drop for Flushing<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut state = self.conn.group.lock();
        state.queued.clear();
        state.busy = false;
    }
}

/// One statement that saves `group`: the checkpoints it wrote, by run and number.
async fn write(conn: &Connection, group: &[Queued]) -> Result<Vec<(Uuid, i64)>, Error> {
    let runs: Vec<Uuid> = group.iter().map(|q| q.row.run).collect();
    let leases: Vec<Uuid> = group.iter().map(|q| q.row.lease).collect();
    let seqs: Vec<i64> = group.iter().map(|q| q.row.bound.seq).collect();
    let statuses: Vec<&str> = group.iter().map(|q| q.row.bound.status).collect();
    let steps: Vec<&str> = group.iter().map(|q| &*q.row.step).collect();
    let ttls: Vec<i64> = group.iter().map(|q| q.row.ttl).collect();
    let workflows: Vec<&str> = group.iter().map(|q| &*q.row.workflow).collect();
    let prints: Vec<i64> = group.iter().map(|q| q.row.bound.fingerprint).collect();
    let formats: Vec<i32> = group.iter().map(|q| q.row.bound.format).collect();
    let states: Vec<&str> = group.iter().map(|q| q.row.state.as_str()).collect();
    let loops: Vec<&str> = group.iter().map(|q| &*q.row.loops).collect();
    let created: Vec<i64> = group.iter().map(|q| q.row.bound.created_at).collect();
    let usage: Vec<Option<&str>> = group.iter().map(|q| q.row.bound.usage.as_deref()).collect();
    let ats: Vec<i64> = group.iter().map(|q| q.row.at).collect();
    let events: Vec<&str> = group.iter().map(|q| q.row.events.as_str()).collect();
    let counts: Vec<i64> = group.iter().map(|q| q.row.count).collect();
    let params: [&(dyn ToSql + Sync); 16] = [
        &runs, &leases, &seqs, &statuses, &steps, &ttls, &workflows, &prints, &formats, &states,
        &loops, &created, &usage, &ats, &events, &counts,
    ];
    let rows = conn
        .client
        .query(&conn.sql.save_group, &params)
        .await
        .map_err(store)?;
    rows.iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect::<Result<_, tokio_postgres::Error>>()
        .map_err(store)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A queued save whose state is `bytes` long.
    fn queued(bytes: usize) -> Queued {
        let (saved, _) = oneshot::channel();
        let checkpoint = Checkpoint {
            run: crate::store::RunId::new(),
            seq: 1,
            workflow: "Workflow".into(),
            fingerprint: 0,
            format: 1,
            step: "step".into(),
            status: RunStatus::Running,
            state: "x".repeat(bytes),
            loops: "[]".into(),
            created_at: std::time::SystemTime::now(),
            usage: Default::default(),
            branches: Vec::new(),
            child: None,
        };
        let row = Row::of(Uuid::nil(), 0, &checkpoint, &[]);
        Queued { row, saved }
    }

    #[test]
    fn a_group_holds_at_most_so_many_saves_and_bytes() {
        let small: Vec<Queued> = (0..200).map(|_| queued(10)).collect();
        assert_eq!(taken(&small), MOST);
        assert_eq!(taken(&small[..5]), 5);
        let large: Vec<Queued> = (0..4).map(|_| queued(3 << 20)).collect();
        assert_eq!(taken(&large), 2);
        // A save larger than a group's bytes goes alone.
        assert_eq!(taken(&[queued(20 << 20), queued(10)]), 1);
        assert_eq!(taken(&[]), 0);
    }
}
