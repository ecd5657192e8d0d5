//! The children's records as the parent reads them: each attempt of a step, each execution
//! of its effect, each lease a child lost.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};
use workflow::{Error, RunId};

use crate::ten::{effects_db, inputs, now_millis};

/// A child's start of a step: which step, when, and where in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Attempt {
    pub(crate) step: u64,
    pub(crate) at: i64,
    pub(crate) row: i64,
}

/// The attempts and effects the children recorded, as the parent reads them.
pub(crate) struct Effects(Connection);

impl Effects {
    pub(crate) fn open(path: &Path) -> Self {
        Effects(effects_db(path))
    }

    /// Records, from a child, that it lost its lease on run `run` with `error`.
    pub(crate) fn record_lost(path: &Path, run: RunId, error: &Error) {
        effects_db(path)
            .execute(
                "INSERT INTO lost (run, pid, at, error) VALUES (?1, ?2, ?3, ?4)",
                params![
                    run.to_string(),
                    std::process::id(),
                    now_millis(),
                    error.to_string()
                ],
            )
            .expect("records");
    }

    /// The last step child `pid` started on job `job` no later than `at`.
    pub(crate) fn last_attempt(&self, job: u64, pid: u32, at: i64) -> Option<Attempt> {
        self.0
            .query_row(
                "SELECT step, at, rowid FROM attempts WHERE job = ?1 AND pid = ?2 AND at <= ?3 \
                 ORDER BY rowid DESC LIMIT 1",
                params![job as i64, pid, at],
                |row| {
                    Ok(Attempt {
                        step: row.get::<_, i64>(0)? as u64,
                        at: row.get(1)?,
                        row: row.get(2)?,
                    })
                },
            )
            .optional()
            .expect("reads")
    }

    /// How many times each step of job `job` was attempted and how many times its effect was
    /// committed, and whether every effect was committed with its step's input.
    pub(crate) fn counts(&self, job: u64) -> Vec<(u64, u64, bool)> {
        let values = inputs(job);
        let mut counts = vec![(0, 0, true); values.len()];
        let rows = |sql: &str| -> Vec<(usize, u64)> {
            let mut stmt = self.0.prepare(sql).expect("prepares");
            let rows = stmt.query_map([job as i64], |row| {
                Ok((row.get::<_, i64>(0)? as usize, row.get::<_, i64>(1)? as u64))
            });
            rows.expect("reads")
                .collect::<Result<_, _>>()
                .expect("reads")
        };
        for (k, _) in rows("SELECT step, 0 FROM attempts WHERE job = ?1") {
            counts[k].0 += 1;
        }
        for (k, value) in rows("SELECT step, value FROM effects WHERE job = ?1") {
            counts[k].1 += 1;
            counts[k].2 &= values[k] == value;
        }
        counts
    }

    /// Whether a child other than `pid` started the step of `attempt` (of job `job`) again
    /// after it, at `since` or later. After: recorded later, or timed later (a child takes
    /// the time, then records it, and may stall in between).
    pub(crate) fn taken_over(&self, job: u64, pid: u32, attempt: Attempt, since: i64) -> bool {
        self.0
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM attempts WHERE job = ?1 AND step = ?2 \
                 AND pid != ?3 AND at >= ?4 AND (rowid > ?5 OR at > ?6))",
                params![
                    job as i64,
                    attempt.step as i64,
                    pid,
                    since,
                    attempt.row,
                    attempt.at
                ],
                |row| row.get(0),
            )
            .expect("reads")
    }

    /// Who started step `k` of job `job`, and when, in order.
    pub(crate) fn attempts_of(&self, job: u64, k: u64) -> Vec<(u32, i64)> {
        let mut stmt = self
            .0
            .prepare("SELECT pid, at FROM attempts WHERE job = ?1 AND step = ?2 ORDER BY rowid")
            .expect("prepares");
        let rows = stmt.query_map(params![job as i64, k as i64], |row| {
            Ok((row.get(0)?, row.get(1)?))
        });
        rows.expect("reads")
            .collect::<Result<_, _>>()
            .expect("reads")
    }

    /// The leases children lost on run `run`: by whom, when, and the error.
    pub(crate) fn losses(&self, run: RunId) -> Vec<(u32, i64, String)> {
        let mut stmt = self
            .0
            .prepare("SELECT pid, at, error FROM lost WHERE run = ?1 ORDER BY rowid")
            .expect("prepares");
        let rows = stmt.query_map([run.to_string()], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        });
        rows.expect("reads")
            .collect::<Result<_, _>>()
            .expect("reads")
    }
}
