//! The children's records as the parent reads them: each attempt of a step, each execution
//! of its effect, each lease a child lost.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};
use workflow::{Error, RunId};

use crate::ten::{effects_db, inputs, now_millis};

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
    pub(crate) fn last_attempt(&self, job: u64, pid: u32, at: i64) -> Option<u64> {
        self.0
            .query_row(
                "SELECT step FROM attempts WHERE job = ?1 AND pid = ?2 AND at <= ?3 \
                 ORDER BY rowid DESC LIMIT 1",
                params![job as i64, pid, at],
                |row| row.get::<_, i64>(0),
            )
            .optional()
            .expect("reads")
            .map(|step| step as u64)
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

    /// Whether a child other than `pid` started step `k` of job `job` after `pid` last did,
    /// at `since` or later.
    pub(crate) fn taken_over(&self, job: u64, k: u64, pid: u32, since: i64) -> bool {
        self.0
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM attempts WHERE job = ?1 AND step = ?2 \
                 AND pid != ?3 AND at >= ?4 AND rowid > (SELECT max(rowid) FROM attempts \
                 WHERE job = ?1 AND step = ?2 AND pid = ?3))",
                params![job as i64, k as i64, pid, since],
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
