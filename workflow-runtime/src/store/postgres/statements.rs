//! The SQL: the schema, and the statements prepared on each connection. Every value is a
//! bound parameter.

use tokio_postgres::{Client, Statement};

use super::rows::{store, CHECKPOINT_COLUMNS, CLAIMED_COLUMNS, RUN_COLUMNS};
use crate::Error;

/// The database's clock, in milliseconds since the Unix epoch: leases are timed by the one
/// clock all workers share.
macro_rules! now {
    () => {
        "(extract(epoch from clock_timestamp()) * 1000)::bigint"
    };
}

/// The child runs of the runs of CTE `$roots` (a name), theirs, and so on, as the CTE
/// `tree (id)`: the runs a statement on a run's whole tree of child runs reaches, by the index
/// of children. In a `WITH RECURSIVE`.
macro_rules! tree {
    ($roots:literal) => {
        concat!(
            "tree (id) AS (SELECT c.id FROM workflow_runs c WHERE c.parent IN (SELECT id FROM ",
            $roots,
            ") AND c.parent_step IS NOT NULL UNION ALL SELECT c.id FROM workflow_runs c \
             JOIN tree t ON c.parent = t.id AND c.parent_step IS NOT NULL)"
        )
    };
}
pub(super) use tree;

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
    updated_at bigint NOT NULL,
    cancel_requested boolean NOT NULL DEFAULT false
);
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
    usage text,
    PRIMARY KEY (run, seq)
);
CREATE TABLE IF NOT EXISTS workflow_branches (
    run uuid NOT NULL,
    seq bigint NOT NULL,
    idx integer NOT NULL,
    value text NOT NULL,
    created_at bigint NOT NULL,
    usage text,
    PRIMARY KEY (run, seq, idx)
);
CREATE TABLE IF NOT EXISTS workflow_events (
    run uuid NOT NULL,
    seq bigint NOT NULL,
    at bigint NOT NULL,
    event text NOT NULL,
    count integer NOT NULL DEFAULT 1,
    PRIMARY KEY (run, seq)
);
DO $$ BEGIN
    -- Versions 1 to 4, each statement only if its version is missing: `ALTER TABLE` and
    -- `CREATE INDEX` lock the table even when there is nothing to do, and a store that
    -- connects while others write would wait for them, and could deadlock with them.
    IF NOT EXISTS (SELECT 1 FROM workflow_schema WHERE version >= 3) THEN
        CREATE INDEX IF NOT EXISTS workflow_runs_by_status ON workflow_runs (workflow, status);
        ALTER TABLE workflow_checkpoints ADD COLUMN IF NOT EXISTS usage text;
        ALTER TABLE workflow_branches ADD COLUMN IF NOT EXISTS usage text;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM workflow_schema WHERE version >= 4) THEN
        ALTER TABLE workflow_runs ADD COLUMN IF NOT EXISTS cancel_requested boolean NOT NULL DEFAULT false;
        CREATE INDEX IF NOT EXISTS workflow_runs_runnable ON workflow_runs (id) WHERE status = 'running';
    END IF;
END $$;
INSERT INTO workflow_schema (version) SELECT 3
    WHERE NOT EXISTS (SELECT 1 FROM workflow_schema WHERE version >= 3);
INSERT INTO workflow_schema (version) SELECT 4
    WHERE NOT EXISTS (SELECT 1 FROM workflow_schema WHERE version >= 4);
INSERT INTO workflow_schema (version) SELECT 5
    WHERE NOT EXISTS (SELECT 1 FROM workflow_schema WHERE version >= 5);
DO $$ BEGIN
    -- Version 6: durable timers and signals. Only once: on every connection, these would
    -- lock two tables that running workers read together.
    IF NOT EXISTS (SELECT 1 FROM workflow_schema WHERE version >= 6) THEN
        ALTER TABLE workflow_runs ADD COLUMN IF NOT EXISTS wake_at bigint;
        ALTER TABLE workflow_runs ADD COLUMN IF NOT EXISTS awaiting text;
        CREATE INDEX IF NOT EXISTS workflow_runs_sleeping ON workflow_runs (wake_at)
            WHERE status = 'running' AND wake_at IS NOT NULL;
        CREATE INDEX IF NOT EXISTS workflow_runs_ready ON workflow_runs (id)
            WHERE status = 'running' AND wake_at IS NULL AND awaiting IS NULL;
        CREATE INDEX IF NOT EXISTS workflow_runs_awaiting ON workflow_runs (id)
            WHERE status = 'running' AND awaiting IS NOT NULL;
        -- What each claim sweeps first: the running runs asked to stop.
        CREATE INDEX IF NOT EXISTS workflow_runs_cancelling ON workflow_runs (id)
            WHERE status = 'running' AND cancel_requested;
        CREATE TABLE IF NOT EXISTS workflow_signals (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            run uuid NOT NULL,
            signal text NOT NULL,
            value text NOT NULL,
            created_at bigint NOT NULL
        );
        CREATE INDEX IF NOT EXISTS workflow_signals_by_run
            ON workflow_signals (run, signal, id);
    END IF;
END $$;
INSERT INTO workflow_schema (version) SELECT 6
    WHERE NOT EXISTS (SELECT 1 FROM workflow_schema WHERE version >= 6);
";

/// Schema version 7: the answers recorded for pauses by tools without the workflow's code,
/// and the workflow definitions those tools show. Two new tables, created if missing; run
/// after [`SCHEMA`].
pub(super) const ANSWERS_AND_DEFINITIONS: &str = "
CREATE TABLE IF NOT EXISTS workflow_answers (
    run uuid NOT NULL,
    seq bigint NOT NULL,
    value text NOT NULL,
    created_at bigint NOT NULL,
    PRIMARY KEY (run, seq)
);
CREATE TABLE IF NOT EXISTS workflow_definitions (
    workflow text NOT NULL,
    fingerprint bigint NOT NULL,
    definition text NOT NULL,
    created_at bigint NOT NULL,
    PRIMARY KEY (workflow, fingerprint)
);
INSERT INTO workflow_schema (version) SELECT 7
    WHERE NOT EXISTS (SELECT 1 FROM workflow_schema WHERE version >= 7);
";

/// Schema version 8: the calls the step in flight of a run made (model turns, tool calls,
/// `once` blocks), so that the step, run again after a crash, does not make them again. A new
/// table, created if missing; run after [`ANSWERS_AND_DEFINITIONS`].
pub(super) const CALLS: &str = "
CREATE TABLE IF NOT EXISTS workflow_calls (
    run uuid NOT NULL,
    seq bigint NOT NULL,
    key text NOT NULL,
    value text NOT NULL,
    created_at bigint NOT NULL,
    PRIMARY KEY (run, seq, key)
);
INSERT INTO workflow_schema (version) SELECT 8
    WHERE NOT EXISTS (SELECT 1 FROM workflow_schema WHERE version >= 8);
";

/// Schema version 9: shared rate limits
/// ([`CheckpointStore::take_rate_slot`](crate::store::CheckpointStore::take_rate_slot)), one
/// row per key: the start times of its calls of the last period, and what its last caller
/// read and did. A new table, created if missing; run after [`CALLS`].
pub(super) const RATE_LIMITS: &str = "
CREATE TABLE IF NOT EXISTS workflow_rate_limits (
    key text PRIMARY KEY,
    starts bigint[] NOT NULL,
    tried bigint NOT NULL,
    taken boolean NOT NULL
);
INSERT INTO workflow_schema (version) SELECT 9
    WHERE NOT EXISTS (SELECT 1 FROM workflow_schema WHERE version >= 9);
";

/// Schema version 10: child runs, a workflow that runs as a step of a durable parent, in
/// `workflow_runs`: `parent_step` (the parent's step; `NULL` for a run of its own), and the
/// index that finds a run's children. Once, as version 6 is; run after [`RATE_LIMITS`].
pub(super) const CHILDREN: &str = "
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM workflow_schema WHERE version >= 10) THEN
        ALTER TABLE workflow_runs ADD COLUMN IF NOT EXISTS parent_step text;
        CREATE INDEX IF NOT EXISTS workflow_runs_children ON workflow_runs (parent)
            WHERE parent_step IS NOT NULL;
    END IF;
END $$;
INSERT INTO workflow_schema (version) SELECT 10
    WHERE NOT EXISTS (SELECT 1 FROM workflow_schema WHERE version >= 10);
";

/// Schema version 11: the event log in batches. A row of `workflow_events` holds the events
/// of one write (`count` of them; rows written before hold one), and a run's row the number
/// its next event takes (`log_next`; `NULL` in rows written before, when the log's end is
/// looked up once). Once, as version 6 is; run after [`CHILDREN`].
pub(super) const BATCHES: &str = "
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM workflow_schema WHERE version >= 11) THEN
        ALTER TABLE workflow_events ADD COLUMN IF NOT EXISTS count integer NOT NULL DEFAULT 1;
        ALTER TABLE workflow_runs ADD COLUMN IF NOT EXISTS log_next bigint;
        ALTER TABLE workflow_runs ALTER COLUMN log_next SET DEFAULT 0;
    END IF;
END $$;
INSERT INTO workflow_schema (version) SELECT 11
    WHERE NOT EXISTS (SELECT 1 FROM workflow_schema WHERE version >= 11);
";

/// Schema version 12: `awaited` on a run's row, set by a run handle before it waits for the
/// run's end; only such a run's end is announced (`listen::NOTIFY_ENDED`). Once, as version 6
/// is; run after [`BATCHES`].
pub(super) const AWAITED: &str = "
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM workflow_schema WHERE version >= 12) THEN
        ALTER TABLE workflow_runs ADD COLUMN IF NOT EXISTS awaited boolean NOT NULL DEFAULT false;
    END IF;
END $$;
INSERT INTO workflow_schema (version) SELECT 12
    WHERE NOT EXISTS (SELECT 1 FROM workflow_schema WHERE version >= 12);
";

/// Schema version 13: a save's events in its checkpoint's row (`events`, `events_seq`,
/// `events_at`, `events_count`: the batch, its first event's number and time, how many),
/// rather than in a row of `workflow_events` of their own; that table keeps the events logged
/// without a checkpoint, those of the saves that write child runs or take a message, the
/// batches of pruned checkpoints, and the log as versions before 13 wrote it. Once, as
/// version 6 is; run after [`AWAITED`].
pub(super) const EVENTS_IN_CHECKPOINTS: &str = "
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM workflow_schema WHERE version >= 13) THEN
        ALTER TABLE workflow_checkpoints ADD COLUMN IF NOT EXISTS events text,
            ADD COLUMN IF NOT EXISTS events_seq bigint, ADD COLUMN IF NOT EXISTS events_at bigint,
            ADD COLUMN IF NOT EXISTS events_count integer;
    END IF;
END $$;
INSERT INTO workflow_schema (version) SELECT 13
    WHERE NOT EXISTS (SELECT 1 FROM workflow_schema WHERE version >= 13);
";

/// The schema version this code writes and reads: 2 added `workflow_branches`, 3 the `usage`
/// of checkpoints and branches (added to older tables, once, when a connection sets up), 4
/// the `cancel_requested` of runs and the index of running runs workers claim from, 5
/// `workflow_events` (a new table, created if missing), 6 the `wake_at` of runs and its index
/// (durable timers: a sleeping run is not claimed before it), their `awaiting` and
/// `workflow_signals` (signals: a run waiting for one is claimed once a message is queued), 7
/// `workflow_answers` and `workflow_definitions` ([`ANSWERS_AND_DEFINITIONS`]), 8
/// `workflow_calls` ([`CALLS`]), 9 `workflow_rate_limits` ([`RATE_LIMITS`]), 10 the
/// `parent_step` of runs ([`CHILDREN`]), 11 the log in batches ([`BATCHES`]), 12 the
/// `awaited` of runs ([`AWAITED`]), 13 a save's events in its checkpoint's row
/// ([`EVENTS_IN_CHECKPOINTS`]).
pub(super) const SCHEMA_VERSION: i32 = 13;

/// The statements of the frequent operations, prepared once per connection.
pub(super) struct Statements {
    pub(super) create: Statement,
    pub(super) claim: Statement,
    pub(super) owned: Statement,
    pub(super) renew: Statement,
    /// A save of a running checkpoint of a run whose row is `running`, the usual case
    /// ([`running`]).
    pub(super) save: Statement,
    pub(super) save_logged: Statement,
    /// The two above for any row: one that is not `running` has its waiting children go on
    /// with it ([`RESUME_CHILDREN`]). Also the saves of checkpoints that end or suspend
    /// the run, in one statement.
    pub(super) save_resuming: Statement,
    pub(super) save_logged_resuming: Statement,
    /// Saves of running or finished checkpoints of several runs ([`save_group`]).
    pub(super) save_group: Statement,
    pub(super) append_events: Statement,
    pub(super) events: Statement,
    pub(super) latest_events: Statement,
    pub(super) refused: Statement,
    pub(super) release: Statement,
    pub(super) run: Statement,
    pub(super) checkpoint: Statement,
    pub(super) save_branch: Statement,
    pub(super) save_usage: Statement,
    pub(super) branches: Statement,
    pub(super) history: Statement,
    pub(super) claim_next: Statement,
    pub(super) claim_announced: Statement,
    pub(super) claim_ready: Statement,
    pub(super) lock_workflow: Statement,
    pub(super) held: Statement,
    pub(super) cancel: Statement,
    pub(super) status: Statement,
    pub(super) save_received: Statement,
    pub(super) save_carried: Statement,
    /// The saves above, each also writing the child run its checkpoint carries.
    pub(super) save_child: Statement,
    pub(super) save_logged_child: Statement,
    pub(super) save_received_child: Statement,
    pub(super) save_carried_child: Statement,
    pub(super) suspend_at: Statement,
    pub(super) send_signal: Statement,
    pub(super) next_signal: Statement,
    pub(super) take_rate_slot: Statement,
    pub(super) notify_work: Statement,
    pub(super) notify_ended: Statement,
    pub(super) await_end: Statement,
}

impl Statements {
    pub(super) async fn prepare(client: &Client) -> Result<Self, Error> {
        let prepare = |sql: String| async move { client.prepare(&sql).await.map_err(store) };
        Ok(Statements {
            create: prepare(format!("{CREATE_RUN} {CREATE_CHECKPOINT}")).await?,
            claim: prepare(format!(
                "WITH claimed AS (UPDATE workflow_runs SET lease_id = $2, owner = $3, \
                 lease_expires = {} + $4::bigint \
                 WHERE id = $1 AND status <> 'cancelled' AND (lease_id IS NULL \
                 OR lease_expires IS NULL OR lease_expires <= {}) RETURNING {RUN_COLUMNS}) \
                 SELECT claimed.*, {CLAIMED_COLUMNS}",
                now!(),
                now!()
            ))
            .await?,
            owned: prepare(format!(
                "SELECT owner, lease_expires - {}, status FROM workflow_runs WHERE id = $1",
                now!()
            ))
            .await?,
            renew: prepare(format!(
                "UPDATE workflow_runs SET lease_expires = {} + $3::bigint \
                 WHERE id = $1 AND lease_id = $2 AND NOT cancel_requested",
                now!()
            ))
            .await?,
            save: prepare(format!("{} {SAVE_CHECKPOINT}", running(SAVE_RUN))).await?,
            save_logged: prepare(format!(
                "{} {SAVE_LOGGED_CHECKPOINT}",
                running(&logged(SAVE_RUN))
            ))
            .await?,
            save_resuming: prepare(format!("{SAVE_RUN}, {RESUME_CHILDREN} {SAVE_CHECKPOINT}"))
                .await?,
            save_logged_resuming: prepare(format!(
                "{}, {RESUME_CHILDREN} {SAVE_LOGGED_CHECKPOINT}",
                logged(SAVE_RUN)
            ))
            .await?,
            save_group: prepare(save_group()).await?,
            append_events: prepare(append_events()).await?,
            events: prepare(EVENTS.into()).await?,
            latest_events: prepare(LATEST_EVENTS.into()).await?,
            refused: prepare(
                "SELECT lease_id, version, cancel_requested FROM workflow_runs WHERE id = $1"
                    .into(),
            )
            .await?,
            release: prepare(RELEASE.into()).await?,
            run: prepare(format!(
                "SELECT {RUN_COLUMNS} FROM workflow_runs WHERE id = $1"
            ))
            .await?,
            checkpoint: prepare(format!(
                "SELECT {CHECKPOINT_COLUMNS} FROM workflow_checkpoints WHERE run = $1 AND seq = $2"
            ))
            .await?,
            save_branch: prepare(SAVE_BRANCH.into()).await?,
            save_usage: prepare(SAVE_USAGE.into()).await?,
            branches: prepare(
                "SELECT seq, idx, value, usage FROM workflow_branches \
                 WHERE run = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq, idx"
                    .into(),
            )
            .await?,
            history: prepare(format!(
                "SELECT {CHECKPOINT_COLUMNS} FROM workflow_checkpoints \
                 WHERE run = $1 AND seq >= $2 ORDER BY seq LIMIT $3"
            ))
            .await?,
            claim_next: prepare(super::queue::claim_next_sql()).await?,
            claim_announced: prepare(super::queue::claim_announced_sql()).await?,
            claim_ready: prepare(super::queue::claim_ready_sql()).await?,
            lock_workflow: prepare(super::queue::LOCK_WORKFLOW.into()).await?,
            held: prepare(format!(
                "SELECT workflow, count(*) FROM workflow_runs WHERE workflow = ANY($1::text[]) \
                 AND status = 'running' AND {LIVE} GROUP BY workflow"
            ))
            .await?,
            cancel: prepare(format!(
                "WITH RECURSIVE cancelled AS (UPDATE workflow_runs SET cancel_requested = true, \
                 status = CASE WHEN {LIVE} THEN status ELSE 'cancelled' END, \
                 error = CASE WHEN {LIVE} THEN error ELSE $2 END, \
                 updated_at = CASE WHEN {LIVE} THEN updated_at ELSE {} END, \
                 owner = CASE WHEN {LIVE} THEN owner END, \
                 lease_expires = CASE WHEN {LIVE} THEN lease_expires END, \
                 lease_id = CASE WHEN {LIVE} THEN lease_id END \
                 WHERE id = $1 AND status IN ('running', 'suspended') \
                 RETURNING id, status, error, updated_at), {}, \
                 ended AS (UPDATE workflow_runs c SET status = r.status, error = r.error, \
                 updated_at = r.updated_at FROM cancelled r WHERE c.id IN (SELECT id FROM tree) \
                 AND c.status IN ('running', 'suspended') AND r.status = 'cancelled') \
                 SELECT status FROM cancelled",
                now!(),
                tree!("cancelled"),
            ))
            .await?,
            status: prepare("SELECT status FROM workflow_runs WHERE id = $1".into()).await?,
            save_carried: prepare(format!(
                "{SAVE_RUN}, {CARRY_CALLS}, {RESUME_CHILDREN} {SAVE_CHECKPOINT}"
            ))
            .await?,
            suspend_at: prepare(format!("{SUSPEND_AT} SELECT 1 FROM run")).await?,
            save_received: prepare(format!("{} {SAVE_CHECKPOINT}", save_received_run())).await?,
            save_child: prepare(ChildSave::Plain.sql(1)).await?,
            save_logged_child: prepare(ChildSave::Logged.sql(1)).await?,
            save_received_child: prepare(ChildSave::Received.sql(1)).await?,
            save_carried_child: prepare(ChildSave::Carried.sql(1)).await?,
            send_signal: prepare(format!(
                "INSERT INTO workflow_signals (run, signal, value, created_at) \
                 SELECT id, $2, $3, {} FROM workflow_runs WHERE id = $1 RETURNING id",
                now!()
            ))
            .await?,
            next_signal: prepare(
                "SELECT id, value FROM workflow_signals WHERE run = $1 AND signal = $2 \
                 ORDER BY id LIMIT 1"
                    .into(),
            )
            .await?,
            take_rate_slot: prepare(super::rate::TAKE.into()).await?,
            notify_work: prepare(super::listen::NOTIFY_WORK.into()).await?,
            notify_ended: prepare(super::listen::NOTIFY_ENDED.into()).await?,
            await_end: prepare(super::listen::AWAIT_END.into()).await?,
        })
    }
}

/// Records answer `$3` for the pause of checkpoint `$2` of run `$1` if the run waits there
/// and none is recorded, and returns the run's status and version, whether it was recorded,
/// and the answer recorded before, if any.
pub(super) const RECORD_ANSWER: &str = concat!(
    "WITH r AS (SELECT status, version FROM workflow_runs WHERE id = $1 FOR UPDATE), \
     ins AS (INSERT INTO workflow_answers (run, seq, value, created_at) \
     SELECT $1, $2::bigint, $3::text, ",
    now!(),
    " FROM r WHERE r.status = 'suspended' AND r.version = $2::bigint \
     ON CONFLICT (run, seq) DO NOTHING RETURNING 1) \
     SELECT r.status, r.version, (SELECT count(*) FROM ins), \
     (SELECT value FROM workflow_answers WHERE run = $1 AND seq = $2::bigint) FROM r"
);

/// Whether a run's lease is held, and not expired.
const LIVE: &str = concat!("(lease_id IS NOT NULL AND lease_expires > ", now!(), ")");

/// A new run's row, inserted unless a run has its id (`RETURNING id` if it was): its first
/// checkpoint, [`CREATE_CHECKPOINT`], follows.
const CREATE_RUN: &str = concat!(
    "WITH run AS (INSERT INTO workflow_runs (id, workflow, fingerprint, status, step, version, \
     lease_id, owner, lease_expires, parent, parent_seq, created_at, updated_at) \
     VALUES ($1, $2::text, $3::bigint, $4::text, $5::text, $6::bigint, $7::uuid, $8, \
     CASE WHEN $7::uuid IS NULL THEN NULL ELSE ",
    now!(),
    " + $9::bigint END, $10, $11, $12::bigint, $12::bigint) \
     ON CONFLICT (id) DO NOTHING RETURNING id)",
);

/// A new run's first checkpoint, inserted if its row was ([`CREATE_RUN`]).
const CREATE_CHECKPOINT: &str =
    "INSERT INTO workflow_checkpoints (run, seq, workflow, fingerprint, format, step, status, \
     state, loops, created_at, usage) SELECT id, $6::bigint, $2::text, $3::bigint, $13::integer, \
     $5::text, $4::text, $14::text, $15::text, $12::bigint, $16::text FROM run";

/// The statement that creates a run whose first state holds a chain of `depth` child runs
/// that wait before any step of theirs (see [`with_children`]), their params from `$17`.
pub(super) fn create_with_children(depth: usize) -> String {
    let head = format!("{CREATE_RUN}, parent_checkpoint AS ({CREATE_CHECKPOINT})");
    with_children(head, 17, depth, "run")
}

/// A save's first half: the run's row, checked and updated (`RETURNING id` if it may be
/// written); [`SAVE_CHECKPOINT`] follows ([`SAVE_LOGGED_CHECKPOINT`] after [`logged`]'s
/// version of it, to log events too).
const SAVE_RUN: &str = concat!(
    "WITH RECURSIVE run AS (UPDATE workflow_runs SET version = $3::bigint, status = $4::text, wake_at = NULL, \
     step = $5::text, error = NULL, updated_at = ",
    now!(),
    ", lease_id = CASE WHEN $6::boolean THEN lease_id END, \
     owner = CASE WHEN $6::boolean THEN owner END, \
     lease_expires = CASE WHEN $6::boolean THEN ",
    now!(),
    " + $7::bigint END \
     WHERE id = $1 AND lease_id = $2 AND version = $3::bigint - 1 \
     AND NOT cancel_requested RETURNING id)",
);

/// [`SAVE_RUN`] (or [`logged`]) that writes the row only if it is `running`: a save that
/// needs no [`RESUME_CHILDREN`], whose recursive search and update the server would set up
/// on every save (about a tenth of a worker's runs per second, measured). A run taken up
/// at an answered pause may be `suspended` until its first save, which this refuses; the
/// caller then saves with [`RESUME_CHILDREN`].
fn running(save_run: &str) -> String {
    let (found, with) = (
        "AND NOT cancel_requested RETURNING",
        "AND NOT cancel_requested AND status = 'running' RETURNING",
    );
    debug_assert!(save_run.contains(found));
    save_run.replace(found, with)
}

/// Saves of checkpoints of several runs, each running or finished, one per element of the
/// arrays `$1`–`$16` (the run, its lease, the checkpoint's number, status, step, the lease's
/// extension, the workflow, its fingerprint, the format, state, loop counters, time and usage,
/// and the events to log as in [`LOG_EVENTS`]: the first's time, the batch and how many, 0
/// for none). Each is written as [`running`]'s save would write it alone, if its run's row
/// is running, under that lease, at the checkpoint before, and not asked to stop: a running
/// checkpoint extends the lease, a finished one gives it up, and announces the run's end if a
/// handle awaits it ([`NOTIFY_ENDED`](super::listen::NOTIFY_ENDED), here delivered when the
/// statement commits). A save with events whose run's row does not know where its log ends
/// (`log_next` is `NULL`: the run was created before version 11) is not written, and goes
/// again alone, whose [`LOG_END`] looks it up: the group's update then needs no subquery,
/// which the server would set up with every group. The rows written return what their
/// checkpoint and events need, so the inserts read them without joining the arrays again.
/// Returns the checkpoints written, by run and number, each row with a third column that
/// announces an end (`pg_notify` in the select list: no CTE or aggregate to set up for it).
/// (`group` makes them.)
fn save_group() -> String {
    format!(
        "WITH i AS (SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::text[], \
         $5::text[], $6::bigint[], $7::text[], $8::bigint[], $9::integer[], $10::text[], \
         $11::text[], $12::bigint[], $13::text[], $14::bigint[], $15::text[], $16::bigint[]) \
         AS i (id, lease, seq, status, step, ttl, workflow, fingerprint, format, state, loops, \
         created_at, usage, at, events, count)), \
         run AS (UPDATE workflow_runs SET version = i.seq, status = i.status, wake_at = NULL, \
         step = i.step, error = NULL, updated_at = {now}, \
         lease_id = CASE WHEN i.status = 'running' THEN lease_id END, \
         owner = CASE WHEN i.status = 'running' THEN owner END, \
         lease_expires = CASE WHEN i.status = 'running' THEN {now} + i.ttl END, \
         log_next = CASE WHEN i.count > 0 THEN log_next + i.count ELSE log_next END \
         FROM i WHERE workflow_runs.id = i.id AND workflow_runs.lease_id = i.lease \
         AND workflow_runs.version = i.seq - 1 AND NOT workflow_runs.cancel_requested \
         AND workflow_runs.status = 'running' \
         AND (i.count = 0 OR workflow_runs.log_next IS NOT NULL) \
         RETURNING workflow_runs.id, workflow_runs.version, workflow_runs.status, \
         workflow_runs.awaited, workflow_runs.log_next - i.count AS first, i.workflow, \
         i.fingerprint, i.format, i.step, i.state, i.loops, i.created_at, i.usage, i.at, \
         i.events, i.count), \
         saved AS (INSERT INTO workflow_checkpoints (run, seq, workflow, fingerprint, format, \
         step, status, state, loops, created_at, usage, events, events_seq, events_at, \
         events_count) SELECT id, version, workflow, fingerprint, format, step, status, state, \
         loops, created_at, usage, CASE WHEN count > 0 THEN events END, \
         CASE WHEN count > 0 THEN first END, CASE WHEN count > 0 THEN at END, \
         CASE WHEN count > 0 THEN count::integer END FROM run) \
         SELECT id, version, CASE WHEN awaited AND status <> 'running' \
         THEN pg_notify('workflow_ended', id::text) END FROM run",
        now = now!(),
    )
}

/// The calls recorded at checkpoint `$3 - 1` carried over to checkpoint `$3`, with call `$15`
/// (JSON `$16`) recorded there, if the run's row was written: between [`SAVE_RUN`] and
/// [`SAVE_CHECKPOINT`], whose params come first.
const CARRY_CALLS: &str = concat!(
    "carried AS (INSERT INTO workflow_calls (run, seq, key, value, created_at) \
     SELECT c.run, $3::bigint, c.key, c.value, c.created_at FROM workflow_calls c \
     JOIN run ON c.run = run.id WHERE c.seq = $3::bigint - 1 \
     UNION ALL SELECT id, $3::bigint, $15::text, $16::text, ",
    now!(),
    " FROM run ON CONFLICT (run, seq, key) DO NOTHING)",
);

/// The child runs of run `$1` waiting at a pause, and theirs at any depth, set running, if
/// its row was written running (`$4`) by a save that carries no child: the parent's pause was
/// answered, and its child goes on with it. Between [`SAVE_RUN`] and [`SAVE_CHECKPOINT`]; by
/// the index of children, which a run without any finds empty. A running checkpoint's save
/// runs it only if the row is not `running` (the first save after a pause, [`running`]).
/// The ids go in as an array (`= ANY`), not as `IN (SELECT …)`, whose hash aggregate cost
/// each save about a tenth of its server time even when the tree was empty.
const RESUME_CHILDREN: &str = concat!(
    "resume_tree (id) AS (SELECT c.id FROM workflow_runs c WHERE c.parent = $1 \
     AND c.parent_step IS NOT NULL AND $4::text = 'running' UNION ALL SELECT c.id \
     FROM workflow_runs c JOIN resume_tree t ON c.parent = t.id AND c.parent_step IS NOT NULL), \
     resumed AS (UPDATE workflow_runs SET status = 'running', updated_at = ",
    now!(),
    " WHERE id = ANY (ARRAY(SELECT id FROM resume_tree)) AND status = 'suspended' \
     AND EXISTS (SELECT 1 FROM run))",
);

/// Suspends run `$1` at checkpoint `$3`, its latest, if it is leased to `$2`, without a
/// checkpoint: gives up the lease (records it as cancelled, with error `$4`, if it was asked
/// to stop). Its child in flight, whose tool call waits for the approval, waits with it (or
/// ends cancelled with it), and so do the child runs of that child, at any depth. Its CTEs:
/// `SELECT 1 FROM run` follows (a row if the run was suspended), or the rows of child runs
/// to create ([`suspend_with_children`]).
const SUSPEND_AT: &str = concat!(
    "WITH RECURSIVE run AS (UPDATE workflow_runs SET \
     status = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'suspended' END, \
     error = CASE WHEN cancel_requested THEN $4::text END, wake_at = NULL, awaiting = NULL, \
     lease_id = NULL, owner = NULL, lease_expires = NULL, updated_at = ",
    now!(),
    " WHERE id = $1 AND lease_id = $2 AND version = $3::bigint \
     RETURNING id, status, error, updated_at), ",
    tree!("run"),
    ", children AS (UPDATE workflow_runs c SET status = r.status, error = r.error, \
     updated_at = r.updated_at FROM run r WHERE c.id IN (SELECT id FROM tree) \
     AND c.status IN ('running', 'suspended') AND c.status <> r.status)",
);

/// [`SUSPEND_AT`] that also creates the rows of a chain of `depth` child runs whose first
/// step waits (see [`with_children`]), their params from `$5`: suspended, or cancelled with
/// the run if it was asked to stop. With `under`, the chain hangs under the child run (of
/// the run, at any depth) in the param after the children's, not under the run.
pub(super) fn suspend_with_children(depth: usize, under: bool) -> String {
    let mut sql = match under {
        false => with_children(SUSPEND_AT.to_owned(), 5, depth, "run"),
        true => {
            let param = 5 + CHILD_PARAMS * depth.max(1);
            let head = format!("{SUSPEND_AT}, under AS (SELECT ${param}::uuid AS id FROM run)");
            with_children(head, 5, depth, "under")
        }
    };
    for level in 0..depth.max(1) {
        let status = format!(" ${}::text", 5 + CHILD_PARAMS * level + 3);
        let followed = format!(
            " (CASE (SELECT status FROM run) WHEN 'cancelled' THEN 'cancelled' \
             ELSE{status} END)"
        );
        sql = sql.replace(&status, &followed);
    }
    sql
}

/// Creates the rows of a chain of child runs in flight of run `$1` that have none, each with
/// its checkpoint, if the run is leased to `$2` at checkpoint `$3`, its latest (its row
/// locked until the statement commits, so that no claim slips in between): the chain's ids,
/// workflows, fingerprints, statuses, steps, checkpoint numbers, parents, the parents'
/// checkpoints they started from, the parents' steps, formats, states and loop counters,
/// as arrays from `$4`. Returns whether the run was leased so.
pub(super) const CREATE_CHILDREN: &str = concat!(
    "WITH leased AS (SELECT id FROM workflow_runs WHERE id = $1 AND lease_id = $2 \
     AND version = $3::bigint FOR SHARE), \
     c AS (SELECT * FROM unnest($4::uuid[], $5::text[], $6::bigint[], $7::text[], $8::text[], \
     $9::bigint[], $10::uuid[], $11::bigint[], $12::text[], $13::integer[], $14::text[], \
     $15::text[]) AS c (id, workflow, fingerprint, status, step, seq, parent, started, \
     parent_step, format, state, loops) WHERE EXISTS (SELECT 1 FROM leased)), \
     created AS (INSERT INTO workflow_runs (id, workflow, fingerprint, status, step, version, \
     parent, parent_seq, parent_step, created_at, updated_at) SELECT id, workflow, \
     fingerprint, status, step, seq, parent, started, parent_step, ",
    now!(),
    ", ",
    now!(),
    " FROM c ON CONFLICT (id) DO NOTHING RETURNING id), \
     checkpoints AS (INSERT INTO workflow_checkpoints (run, seq, workflow, fingerprint, format, \
     step, status, state, loops, created_at, usage) SELECT c.id, c.seq, c.workflow, \
     c.fingerprint, c.format, c.step, c.status, c.state, c.loops, ",
    now!(),
    ", NULL FROM c JOIN created ON created.id = c.id) \
     SELECT EXISTS (SELECT 1 FROM leased)"
);

/// A save's second half, the checkpoint, inserted if the run's row was written, with
/// `$columns` more, whose values are `$values` (each list led by a comma, or empty).
macro_rules! save_checkpoint {
    ($columns:literal, $values:literal) => {
        concat!(
            "INSERT INTO workflow_checkpoints (run, seq, workflow, fingerprint, format, step, \
             status, state, loops, created_at, usage",
            $columns,
            ") SELECT id, $3::bigint, $8::text, $9::bigint, $10::integer, $5::text, $4::text, \
             $11::text, $12::text, $13::bigint, $14::text",
            $values,
            " FROM run"
        )
    };
}

/// A save's second half: the checkpoint, inserted if the run's row was written.
const SAVE_CHECKPOINT: &str = save_checkpoint!("", "");

/// [`SAVE_CHECKPOINT`] for a save that logs `$17` events (first's time `$15`, batch `$16`;
/// see [`logged`]): the batch goes in the checkpoint's row, numbered from the log's end the
/// run's row gave.
const SAVE_LOGGED_CHECKPOINT: &str = save_checkpoint!(
    ", events, events_seq, events_at, events_count",
    ", CASE WHEN $17::bigint > 0 THEN $16::text END, CASE WHEN $17::bigint > 0 THEN first END, \
     CASE WHEN $17::bigint > 0 THEN $15::bigint END, \
     CASE WHEN $17::bigint > 0 THEN $17::integer END"
);

/// The first half of a save that delivers message `$18` (see [`SAVE_RUN`]), with the events
/// logged and the message taken: [`SAVE_CHECKPOINT`] follows.
fn save_received_run() -> String {
    format!(
        "{}, {LOG_EVENTS}, {TAKE_SIGNAL}",
        // The run has its message: it waits for no signal, even if its worker dies.
        logged(
            &SAVE_RUN
                .replace(
                    "SET version = $3::bigint,",
                    "SET awaiting = NULL, version = $3::bigint,"
                )
                .replace(
                    "AND NOT cancel_requested RETURNING id)",
                    "AND NOT cancel_requested AND EXISTS (SELECT 1 FROM workflow_signals \
                     WHERE id = $18 AND run = $1) RETURNING id)",
                )
        )
    )
}

/// A save of a checkpoint that carries a child run ([`Checkpoint::child`]), by what else it
/// writes: the statement for a chain of `depth` child runs (a child, its own child, ...).
///
/// [`Checkpoint::child`]: crate::store::Checkpoint::child
#[derive(Clone, Copy)]
pub(super) enum ChildSave {
    /// [`SAVE_RUN`]'s params, then the children's.
    Plain,
    /// With events logged.
    Logged,
    /// With events logged and a message taken.
    Received,
    /// With the calls carried over.
    Carried,
}

impl ChildSave {
    /// The statement that saves the checkpoint with a chain of `depth` (at least 1) child runs.
    pub(super) fn sql(self, depth: usize) -> String {
        let (run, n) = match self {
            ChildSave::Plain => (SAVE_RUN.to_owned(), 15),
            ChildSave::Logged => (format!("{}, {LOG_EVENTS}", logged(SAVE_RUN)), 18),
            ChildSave::Received => (save_received_run(), 19),
            ChildSave::Carried => (format!("{SAVE_RUN}, {CARRY_CALLS}"), 17),
        };
        with_children(
            format!("{run}, parent_checkpoint AS ({SAVE_CHECKPOINT})"),
            n,
            depth,
            "run",
        )
    }
}

/// How many params each child of a save that writes child runs binds ([`with_children`]).
pub(super) const CHILD_PARAMS: usize = 11;

/// A save (`head`: the CTEs that write the run's row and what goes with it, and its
/// checkpoint, `parent_checkpoint`) that also writes the child run the checkpoint carries,
/// and the chain of `depth - 1` child runs below it (each one's record in the one above's
/// checkpoint), their params from `$n`, [`CHILD_PARAMS`] per child: the child's id, workflow,
/// fingerprint, status, step, its parent's checkpoint it started from, its parent's step, the
/// format, state and loops of its checkpoint, and the number the run counts that checkpoint
/// as. Each child's row counts one more checkpoint, or is created on its first step with that
/// number (0, unless the run counts on from a run it was forked from). An update first,
/// rather than an upsert, whose speculative insert costs a dead row each step (only the top
/// parent's writer, under its lease, writes the child's row); all only if the parent's row
/// was written, in the same statement. The first child's parent is the CTE `top`'s `id`.
fn with_children(head: String, n: usize, depth: usize, top: &str) -> String {
    let depth = depth.max(1);
    let mut sql = head;
    let mut parent = top.to_owned();
    for level in 0..depth {
        let p = |i: usize| format!("${}", n + CHILD_PARAMS * level + i);
        let (id, workflow, fingerprint, status, step) = (p(0), p(1), p(2), p(3), p(4));
        let (started, parent_step, format, state, loops) = (p(5), p(6), p(7), p(8), p(9));
        let seq = p(10);
        // The first child's CTEs keep their plain names.
        let name = |cte: &str| match level {
            0 => cte.to_owned(),
            level => format!("{cte}_{level}"),
        };
        let (stepped, created, child) = (name("stepped"), name("created"), name("child"));
        sql.push_str(&format!(
            ", {stepped} AS (UPDATE workflow_runs SET version = version + 1, \
             status = {status}::text, step = {step}::text, error = NULL, updated_at = {now} \
             WHERE id = {id}::uuid AND EXISTS (SELECT 1 FROM {parent}) \
             RETURNING id, version, updated_at), \
             {created} AS (INSERT INTO workflow_runs (id, workflow, fingerprint, status, step, \
             version, parent, parent_seq, parent_step, created_at, updated_at) \
             SELECT {id}::uuid, {workflow}::text, {fingerprint}::bigint, {status}::text, \
             {step}::text, {seq}::bigint, {parent}.id, {started}::bigint, {parent_step}::text, \
             {now}, {now} \
             FROM {parent} WHERE NOT EXISTS (SELECT 1 FROM {stepped}) \
             RETURNING id, version, updated_at), \
             {child} AS (SELECT * FROM {stepped} UNION ALL SELECT * FROM {created})",
            now = now!(),
        ));
        let checkpoint = format!(
            "INSERT INTO workflow_checkpoints (run, seq, workflow, fingerprint, format, step, \
             status, state, loops, created_at, usage) SELECT id, version, {workflow}::text, \
             {fingerprint}::bigint, {format}::integer, {step}::text, {status}::text, \
             {state}::text, {loops}::text, updated_at, NULL FROM {child}"
        );
        if level + 1 == depth {
            sql.push(' ');
            sql.push_str(&checkpoint);
        } else {
            sql.push_str(&format!(", {} AS ({checkpoint})", name("child_checkpoint")));
        }
        parent = child;
    }
    sql
}

/// [`SAVE_RUN`] for a save that logs `$17` events: the run's row takes the log's new end, and
/// gives the number of the first (looked up in the log if the row does not know it).
fn logged(save_run: &str) -> String {
    save_run
        .replace(
            "UPDATE workflow_runs SET ",
            &format!("UPDATE workflow_runs SET log_next = {LOG_END} + $17::bigint, "),
        )
        .replace(
            "RETURNING id)",
            "RETURNING id, log_next - $17::bigint AS first)",
        )
}

/// Where run `$1`'s log ends, as its row says (0 for a run that logs nothing): what the
/// reads of its log look at before they look at its checkpoints.
macro_rules! log_end_of_run {
    () => {
        "(SELECT coalesce(log_next, 0) FROM workflow_runs WHERE id = $1)"
    };
}

/// The entries of run `$1`'s log from number `$2`, at most `$3` (each row holds at least
/// one, so `$3` rows of each kind hold the page): the rows of `workflow_events` and the
/// batches of checkpoints that hold an entry from `$2` on, merged in order, in one snapshot
/// (a prune that moves batches from the checkpoints to `workflow_events` is seen whole).
/// The first checkpoint that may hold one is found by a binary search on where the log ended
/// when each was saved (`events_seq + events_count`, which only grows from one checkpoint
/// to the next; `NULL` for one without a batch, and the search then goes on before it): a
/// few lookups by key however long the run, rather than a scan of its checkpoints. A run
/// whose log ends at or before `$2` (one that logs nothing) has none to look at.
const EVENTS: &str = concat!(
    "WITH RECURSIVE search (low, high) AS (\
     SELECT (SELECT seq FROM workflow_checkpoints WHERE run = $1 ORDER BY seq LIMIT 1), \
     (SELECT seq FROM workflow_checkpoints WHERE run = $1 ORDER BY seq DESC LIMIT 1) WHERE ",
    log_end_of_run!(),
    " > $2 \
     UNION ALL SELECT CASE WHEN p.next <= $2 THEN p.seq + 1 ELSE s.low END, \
     CASE WHEN p.next <= $2 THEN s.high ELSE s.low + (s.high - s.low) / 2 END \
     FROM search s LEFT JOIN LATERAL (SELECT c.seq, c.events_seq + c.events_count AS next \
     FROM workflow_checkpoints c WHERE c.run = $1 AND c.seq >= s.low + (s.high - s.low) / 2 \
     ORDER BY c.seq LIMIT 1) p ON true WHERE s.low < s.high) \
     (SELECT seq, count, at, event FROM workflow_events WHERE run = $1 \
     AND seq >= coalesce((SELECT seq FROM workflow_events WHERE run = $1 \
     AND seq <= $2 ORDER BY seq DESC LIMIT 1), 0) AND seq + count > $2 ORDER BY seq LIMIT $3) \
     UNION ALL (SELECT events_seq, events_count, events_at, events FROM workflow_checkpoints \
     WHERE run = $1 AND seq >= (SELECT max(low) FROM search) AND events IS NOT NULL \
     AND events_seq + events_count > $2 ORDER BY seq LIMIT $3) ORDER BY seq LIMIT $3"
);

/// The last `$2` entries of run `$1`'s log and more (each row holds at least one): the last
/// `$2` rows of `workflow_events` and the last `$2` batches of its checkpoints, in one
/// snapshot, for the caller to keep the last `$2` entries of. The checkpoints are looked at
/// only if the run's log has an entry (not for a run that logs nothing, whose checkpoints
/// would all be read to find no batch).
const LATEST_EVENTS: &str = concat!(
    "(SELECT seq, count, at, event FROM workflow_events WHERE run = $1 \
     ORDER BY seq DESC LIMIT $2) UNION ALL (SELECT events_seq, events_count, events_at, events \
     FROM workflow_checkpoints WHERE run = $1 AND events IS NOT NULL AND ",
    log_end_of_run!(),
    " > 0 ORDER BY seq DESC LIMIT $2)"
);

/// Where a run's log ends, in an `UPDATE` of its row: its `log_next`, or one past the last
/// entry of its log for a row written before version 11.
const LOG_END: &str = "coalesce(log_next, (SELECT e.seq + e.count FROM workflow_events e \
     WHERE e.run = workflow_runs.id ORDER BY e.seq DESC LIMIT 1), 0)";

/// The events of a save as one row of the run's log (first event's time `$15`, batch `$16`,
/// `$17` events), numbered from the run row's end of the log, if the run's row was written:
/// in the checkpoint's statement, for the saves that write child runs or take a message
/// (the others keep the batch in the checkpoint's row, [`SAVE_LOGGED_CHECKPOINT`]).
const LOG_EVENTS: &str = "events AS (INSERT INTO workflow_events (run, seq, at, event, count) \
     SELECT run.id, run.first, $15::bigint, $16::text, $17::bigint FROM run \
     WHERE $17::bigint > 0)";

/// The message `$18` taken off run `$1`'s queue, if the run's row was written: in the
/// statement of the checkpoint that delivers it.
const TAKE_SIGNAL: &str = "taken AS (DELETE FROM workflow_signals \
     WHERE id = $18 AND run IN (SELECT id FROM run))";

/// The events (first's time `$2`, batch `$3`, `$4` of them) appended to run `$1`'s log as one
/// row without a checkpoint, if the run exists; its row takes the log's new end.
fn append_events() -> String {
    format!(
        "WITH run AS (UPDATE workflow_runs SET log_next = {LOG_END} + $4::bigint WHERE id = $1 \
         RETURNING id, log_next - $4::bigint AS first) \
         INSERT INTO workflow_events (run, seq, at, event, count) \
         SELECT id, first, $2::bigint, $3::text, $4::bigint FROM run"
    )
}

const SAVE_BRANCH: &str = concat!(
    "WITH run AS (UPDATE workflow_runs SET lease_expires = ",
    now!(),
    " + $5::bigint, updated_at = ",
    now!(),
    " WHERE id = $1 AND lease_id = $2 AND version = $3::bigint AND NOT cancel_requested \
     RETURNING id) \
     INSERT INTO workflow_branches (run, seq, idx, value, created_at, usage) \
     SELECT id, $3::bigint, $4::integer, $6::text, ",
    now!(),
    ", $7::text FROM run"
);

const SAVE_USAGE: &str = "UPDATE workflow_checkpoints SET usage = $4::text \
     WHERE run = $1 AND seq = $3::bigint AND EXISTS (SELECT 1 FROM workflow_runs \
     WHERE id = $1 AND lease_id = $2 AND version = $3::bigint)";

/// Gives up the lease; a run that ends failed or cancelled ends its child runs in flight
/// (at any depth) the same way, in the same statement. Returns a row if the run was released.
const RELEASE: &str = concat!(
    "WITH RECURSIVE released AS (UPDATE workflow_runs SET lease_id = NULL, owner = NULL, \
     lease_expires = NULL, wake_at = $5::bigint, awaiting = $6::text, \
     status = CASE WHEN cancel_requested THEN 'cancelled' \
     WHEN $3::text IS NULL THEN status ELSE 'failed' END, \
     error = CASE WHEN cancel_requested THEN $4::text ELSE COALESCE($3::text, error) END, \
     updated_at = CASE WHEN $3::text IS NULL AND NOT cancel_requested THEN updated_at ELSE ",
    now!(),
    " END WHERE id = $1 AND lease_id = $2 RETURNING id, status, error, updated_at), ",
    tree!("released"),
    ", ended AS (UPDATE workflow_runs c SET status = r.status, error = r.error, \
     updated_at = r.updated_at FROM released r WHERE c.id IN (SELECT id FROM tree) \
     AND c.status IN ('running', 'suspended') AND r.status IN ('failed', 'cancelled')) \
     SELECT 1 FROM released"
);
