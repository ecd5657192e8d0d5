//! [`SavedUsage`]: what a durable run had spent when one of its checkpoints was written, and
//! the JSON its stores keep it as.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Usage, UsageReport, UsageTotals};

/// What a durable run's model calls had spent, in total and per step, when one of its
/// checkpoints (or one of the finished branches saved with it) was written: the whole run's
/// usage up to that write, across every pause, crash and worker before it.
///
/// A [`Runner`](crate::Runner) that resumes a run, or answers its pause, starts the run's
/// [`Ledger`](super::Ledger) from it, so that [`Report::usage`](crate::Report::usage), the
/// `Completed` and `Failed` events and the [`Budget`](super::Budget) count the whole run.
/// A run that made no model call saves it empty ([`is_empty`](Self::is_empty)), which costs
/// its checkpoints nothing.
///
/// Stores keep it as JSON ([`to_json`](Self::to_json), [`from_json`](Self::from_json)): an
/// empty one as no value at all (SQL `NULL`).
///
/// ```
/// use workflow_runtime::usage::{SavedUsage, UsageTotals};
///
/// assert_eq!(SavedUsage::default().to_json(), None);
///
/// let mut spent = SavedUsage::default();
/// spent.total.calls = 2;
/// spent.steps.push(("draft".to_owned(), spent.total));
/// let json = spent.to_json().unwrap();
/// assert_eq!(json, r#"{"total":{"calls":2},"steps":[["draft",{"calls":2}]]}"#);
/// assert_eq!(SavedUsage::from_json(&json)?, spent);
/// assert!(SavedUsage::from_json("[1, 2]").is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct SavedUsage {
    /// All the run's calls so far.
    pub total: UsageTotals,
    /// The calls of each step that made any, by step name, in the workflow's declaration
    /// order.
    pub steps: Vec<(String, UsageTotals)>,
}

impl SavedUsage {
    /// Whether nothing was spent: no call made.
    pub fn is_empty(&self) -> bool {
        self.total == UsageTotals::default() && self.steps.is_empty()
    }

    /// The usage as stores keep it: JSON, `None` if [empty](Self::is_empty). A cost that is not
    /// a finite number (from a price that is not one) is written as 0.
    pub fn to_json(&self) -> Option<String> {
        if self.is_empty() {
            return None;
        }
        let stored = Stored {
            total: Totals::from(&self.total),
            steps: self
                .steps
                .iter()
                .map(|(step, totals)| (step.as_str(), Totals::from(totals)))
                .collect(),
        };
        // Numbers and strings only: it always serializes.
        serde_json::to_string(&stored).ok()
    }

    /// Reads usage written by [`to_json`](Self::to_json). A field it does not know is
    /// ignored, a missing one is 0.
    ///
    /// # Errors
    ///
    /// If `json` is not such usage. Stores report it as
    /// [`Error::CorruptCheckpoint`](crate::Error::CorruptCheckpoint).
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        let stored: Stored<String> = serde_json::from_str(json)?;
        Ok(SavedUsage {
            total: stored.total.into(),
            steps: stored
                .steps
                .into_iter()
                .map(|(step, totals)| (step, totals.into()))
                .collect(),
        })
    }

    /// Reads the usage a store kept as `json`: none (`NULL`, or a record written before
    /// usage was saved) is no usage.
    ///
    /// # Errors
    ///
    /// As [`from_json`](Self::from_json).
    pub fn from_stored(json: Option<&str>) -> Result<Self, serde_json::Error> {
        json.map_or_else(|| Ok(Self::default()), Self::from_json)
    }

    /// Keeps, for each count, the larger of this one and `other`'s: the later of two readings
    /// of the same run's usage (every count only grows).
    pub(crate) fn keep_latest(&mut self, other: &SavedUsage) {
        self.total = self.total.latest(&other.total);
        for (step, totals) in &other.steps {
            match self.steps.iter_mut().find(|(name, _)| name == step) {
                Some((_, mine)) => *mine = mine.latest(totals),
                None => self.steps.push((step.clone(), *totals)),
            }
        }
    }
}

impl From<&UsageReport> for SavedUsage {
    /// A run's report, as its checkpoints save it.
    fn from(report: &UsageReport) -> Self {
        SavedUsage {
            total: report.total,
            steps: report
                .steps
                .iter()
                .map(|step| (step.step.to_owned(), step.totals))
                .collect(),
        }
    }
}

impl UsageTotals {
    /// The larger of each count of `self` and `other`.
    fn latest(&self, other: &UsageTotals) -> UsageTotals {
        let (a, b) = (self.usage, other.usage);
        UsageTotals {
            usage: Usage {
                input_tokens: a.input_tokens.max(b.input_tokens),
                output_tokens: a.output_tokens.max(b.output_tokens),
                cached_tokens: a.cached_tokens.max(b.cached_tokens),
                reasoning_tokens: a.reasoning_tokens.max(b.reasoning_tokens),
            },
            calls: self.calls.max(other.calls),
            failed_calls: self.failed_calls.max(other.failed_calls),
            attempts: self.attempts.max(other.attempts),
            latency: self.latency.max(other.latency),
            cost_usd: self.cost_usd.max(other.cost_usd),
        }
    }
}

/// [`SavedUsage`] as JSON: `{"total": totals, "steps": [[step, totals], …]}`, with step names
/// of type `N`.
#[derive(Serialize, Deserialize)]
struct Stored<N> {
    total: Totals,
    #[serde(default = "Vec::new", skip_serializing_if = "Vec::is_empty")]
    steps: Vec<(N, Totals)>,
}

/// [`UsageTotals`] as JSON: an object of its counts, those that are 0 left out.
#[derive(Default, Serialize, Deserialize)]
#[serde(default)]
struct Totals {
    #[serde(skip_serializing_if = "is_zero")]
    input_tokens: u64,
    #[serde(skip_serializing_if = "is_zero")]
    output_tokens: u64,
    #[serde(skip_serializing_if = "is_zero")]
    cached_tokens: u64,
    #[serde(skip_serializing_if = "is_zero")]
    reasoning_tokens: u64,
    #[serde(skip_serializing_if = "is_zero")]
    calls: u64,
    #[serde(skip_serializing_if = "is_zero")]
    failed_calls: u64,
    #[serde(skip_serializing_if = "is_zero")]
    attempts: u64,
    /// In nanoseconds.
    #[serde(skip_serializing_if = "is_zero")]
    latency_ns: u64,
    #[serde(skip_serializing_if = "is_no_cost")]
    cost_usd: f64,
}

fn is_zero(count: &u64) -> bool {
    *count == 0
}

fn is_no_cost(cost: &f64) -> bool {
    *cost == 0.0
}

impl From<&UsageTotals> for Totals {
    fn from(totals: &UsageTotals) -> Self {
        let usage = totals.usage;
        Totals {
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            cached_tokens: usage.cached_tokens,
            reasoning_tokens: usage.reasoning_tokens,
            calls: totals.calls,
            failed_calls: totals.failed_calls,
            attempts: totals.attempts,
            latency_ns: u64::try_from(totals.latency.as_nanos()).unwrap_or(u64::MAX),
            cost_usd: if totals.cost_usd.is_finite() {
                totals.cost_usd
            } else {
                0.0
            },
        }
    }
}

impl From<Totals> for UsageTotals {
    fn from(totals: Totals) -> Self {
        UsageTotals {
            usage: Usage {
                input_tokens: totals.input_tokens,
                output_tokens: totals.output_tokens,
                cached_tokens: totals.cached_tokens,
                reasoning_tokens: totals.reasoning_tokens,
            },
            calls: totals.calls,
            failed_calls: totals.failed_calls,
            attempts: totals.attempts,
            latency: Duration::from_nanos(totals.latency_ns),
            cost_usd: totals.cost_usd,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spent(tokens: u64, calls: u64, cost_usd: f64) -> UsageTotals {
        UsageTotals {
            usage: Usage::new(tokens, 0),
            calls,
            failed_calls: 0,
            attempts: calls,
            latency: Duration::from_nanos(1_500),
            cost_usd,
        }
    }

    #[test]
    fn every_count_reads_back() {
        let usage = SavedUsage {
            total: UsageTotals {
                usage: Usage::new(10, 20).with_cached(3).with_reasoning(4),
                failed_calls: 1,
                ..spent(0, 2, 0.125)
            },
            steps: vec![("draft".into(), spent(7, 1, 0.5))],
        };
        let json = usage.to_json().expect("not empty");
        assert_eq!(SavedUsage::from_json(&json).expect("reads"), usage);
        assert_eq!(SavedUsage::from_stored(Some(&json)).expect("reads"), usage);
    }

    #[test]
    fn nothing_stored_is_nothing_spent() {
        assert!(SavedUsage::from_stored(None).expect("reads").is_empty());
        assert!(SavedUsage::from_json("{\"total\":{}}")
            .expect("reads")
            .is_empty());
        let odd = SavedUsage {
            total: UsageTotals {
                cost_usd: f64::NAN,
                ..UsageTotals::default()
            },
            steps: Vec::new(),
        };
        assert_eq!(odd.to_json().as_deref(), Some("{\"total\":{}}"));
    }

    #[test]
    fn malformed_usage_is_an_error() {
        for json in [
            "",
            "null",
            "[]",
            "{\"total\":7}",
            "{\"total\":{\"calls\":-1}}",
        ] {
            assert!(SavedUsage::from_json(json).is_err(), "{json}");
        }
        let json = "{\"total\":{},\"steps\":[[\"draft\"]]}";
        assert!(SavedUsage::from_json(json).is_err());
    }

    #[test]
    fn the_latest_of_two_readings_keeps_each_largest_count() {
        let mut early = SavedUsage {
            total: spent(10, 1, 0.1),
            steps: vec![("a".into(), spent(10, 1, 0.1))],
        };
        let late = SavedUsage {
            total: spent(30, 3, 0.3),
            steps: vec![
                ("a".into(), spent(10, 1, 0.1)),
                ("b".into(), spent(20, 2, 0.2)),
            ],
        };
        let mut merged = late.clone();
        merged.keep_latest(&early);
        assert_eq!(merged, late);
        early.keep_latest(&late);
        assert_eq!(early, late);
    }
}
