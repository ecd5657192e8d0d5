//! Approval per tool call: the decision a human gives a call of a tool that needs one
//! ([`Approval`]), what the run shows while it waits ([`ApprovalRequest`]), and where both are
//! recorded among the calls of the step in flight.
//!
//! A tool marked with [`AgentBuilder::needs_approval`](crate::AgentBuilder::needs_approval)
//! does not run in a durable run until a decision is recorded for the call: the request is
//! recorded under the call's key with [`ASK`] after it, the run is suspended at its step, and
//! the decision is recorded under the key with [`DECISION`] after it when the pause is
//! answered.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::store::CallRecord;

/// What the key of a call's approval request ends with.
pub(crate) const ASK: &str = "/ask";

/// What the key of a call's decision ends with.
pub(crate) const DECISION: &str = "/approval";

/// A human's decision on a tool call that needs approval: the value an approval pause takes
/// ([`Runner::approve`](crate::Runner::approve), or as JSON
/// [`Runner::answer_json`](crate::Runner::answer_json), `workflow answer`, the console).
///
/// As JSON: `"allow"`, `{"deny": {"reason": "…"}}` or `{"edit": {"arguments": {…}}}`.
///
/// ```
/// use serde_json::json;
/// use workflow_runtime::Approval;
///
/// let allow: Approval = serde_json::from_value(json!("allow")).unwrap();
/// assert_eq!(allow, Approval::Allow);
/// let deny: Approval = serde_json::from_value(json!({"deny": {"reason": "too expensive"}})).unwrap();
/// assert_eq!(deny, Approval::Deny { reason: "too expensive".into() });
/// let edit = Approval::Edit { arguments: json!({"amount": 10}) };
/// assert_eq!(serde_json::to_value(&edit).unwrap(), json!({"edit": {"arguments": {"amount": 10}}}));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Approval {
    /// The call runs as the model wrote it.
    Allow,
    /// The call does not run: the model gets `reason` as the call's result (an error it
    /// reads: `error: a human denied this call: …`).
    Deny {
        /// Why, for the model.
        reason: String,
    },
    /// The call runs with `arguments` instead of the model's, checked like any arguments:
    /// arguments the tool does not take are a tool error the model reads.
    Edit {
        /// The arguments the tool runs with, as JSON.
        arguments: serde_json::Value,
    },
}

impl Approval {
    /// The JSON Schema of an [`Approval`], which tools check an answer against before they
    /// record it.
    pub fn schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(Approval)).unwrap_or_default()
    }
}

/// A tool call waiting for a human's [`Approval`]: what an approval pause shows
/// ([`Pause::payload`](crate::Pause::payload)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ApprovalRequest {
    /// The agent whose model made the call.
    pub agent: String,
    /// The tool called.
    pub tool: String,
    /// The call's id, as the model gave it.
    pub call_id: String,
    /// The arguments the model wrote, as JSON.
    pub arguments: serde_json::Value,
}

impl ApprovalRequest {
    /// The first call among `calls` (those recorded at one checkpoint of a run,
    /// [`CheckpointStore::calls`](crate::store::CheckpointStore::calls)) that asks for
    /// approval and has no decision, with its key: what a run suspended there waits for.
    /// Tools without the workflow's code (`workflow show`) read it this way.
    pub fn pending(calls: &[CallRecord]) -> Option<(String, ApprovalRequest)> {
        let decided = |call: &str| {
            let key = format!("{call}{DECISION}");
            calls.iter().any(|record| record.key == key)
        };
        let mut asks: Vec<(&str, &CallRecord)> = calls
            .iter()
            .filter_map(|record| Some((record.key.strip_suffix(ASK)?, record)))
            .filter(|(call, _)| !decided(call))
            .collect();
        asks.sort_by_key(|(call, _)| *call);
        asks.into_iter().find_map(|(call, record)| {
            let request = serde_json::from_str(&record.value).ok()?;
            Some((call.to_owned(), request))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: &str, value: &str) -> CallRecord {
        CallRecord {
            key: key.to_owned(),
            value: value.to_owned(),
        }
    }

    #[test]
    fn the_first_ask_without_a_decision_is_pending() {
        let ask = |tool: &str| {
            let request = ApprovalRequest {
                agent: "a".into(),
                tool: tool.into(),
                call_id: "c".into(),
                arguments: serde_json::json!({}),
            };
            serde_json::to_string(&request).expect("serializes")
        };
        let calls = [
            record("s/a/turn1/call0:c", "{}"),
            record("s/a/turn1/call0:c/ask", &ask("pay")),
            record("s/a/turn1/call0:c/approval", "\"allow\""),
            record("s/a/turn1/call1:d/ask", &ask("mail")),
        ];
        let (key, request) = ApprovalRequest::pending(&calls).expect("a pending ask");
        assert_eq!(
            (key.as_str(), request.tool.as_str()),
            ("s/a/turn1/call1:d", "mail")
        );
        assert!(ApprovalRequest::pending(&calls[..3]).is_none());
        let schema = Approval::schema();
        assert!(schema.to_string().contains("deny"), "{schema}");
    }
}
