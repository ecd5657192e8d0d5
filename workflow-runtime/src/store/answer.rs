//! Answers recorded for a pause by a tool without the workflow's code: the one rule every
//! store applies before it records one.

use super::record::{RunId, RunStatus};
use crate::error::Error;

/// Why an answer to the pause of checkpoint `seq` cannot be recorded for run `run`, whose
/// status is `status`, whose latest checkpoint is `version`, and which has `recorded` as the
/// answer recorded for that pause already, if any; `None` if it can.
pub(crate) fn refusal(
    run: RunId,
    (status, version): (RunStatus, u64),
    seq: u64,
    recorded: Option<&str>,
    value: &str,
) -> Option<Error> {
    if version > seq {
        return Some(Error::AlreadyAnswered {
            run,
            seq,
            repeated: false,
        });
    }
    if status != RunStatus::Suspended {
        let status = status.as_str();
        return Some(Error::RunNotSuspended { run, status });
    }
    if version < seq {
        return Some(Error::CheckpointNotFound { run, seq });
    }
    recorded.map(|recorded| Error::AlreadyAnswered {
        run,
        seq,
        repeated: same_json(recorded, value),
    })
}

/// Whether two JSON texts hold the same value (objects compare whatever their keys' order).
pub(crate) fn same_json(a: &str, b: &str) -> bool {
    let read = |text| serde_json::from_str::<serde_json::Value>(text).ok();
    matches!((read(a), read(b)), (Some(a), Some(b)) if a == b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_recorded_once_for_the_pause_the_run_waits_at() {
        let run = RunId::new();
        let at = (RunStatus::Suspended, 3);
        assert!(refusal(run, at, 3, None, "true").is_none());
        let twice = refusal(run, at, 3, Some("true"), " true ");
        assert!(matches!(
            twice,
            Some(Error::AlreadyAnswered { repeated: true, .. })
        ));
        let other = refusal(run, at, 3, Some("false"), "true");
        assert!(matches!(
            other,
            Some(Error::AlreadyAnswered {
                repeated: false,
                ..
            })
        ));
        let stale = refusal(run, at, 2, None, "true");
        assert!(matches!(stale, Some(Error::AlreadyAnswered { seq: 2, .. })));
        let running = refusal(run, (RunStatus::Running, 3), 3, None, "true");
        assert!(matches!(
            running,
            Some(Error::RunNotSuspended {
                status: "running",
                ..
            })
        ));
        let ahead = refusal(run, at, 4, None, "true");
        assert!(matches!(
            ahead,
            Some(Error::CheckpointNotFound { seq: 4, .. })
        ));
    }
}
