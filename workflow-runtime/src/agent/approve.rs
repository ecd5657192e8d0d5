//! Tool calls that wait for a human's approval: what the model is told outside a durable
//! run, and, inside one, the request recorded and the decision applied.

use super::Agent;
use crate::approval::{Approval, ApprovalRequest, ASK, DECISION};
use crate::provider::{Message, ToolCall};
use crate::scope::Memo;
use crate::Error;

impl Agent {
    /// Whether a call of `tool` waits for a human's approval: a tool marked with
    /// [`needs_approval`](super::AgentBuilder::needs_approval), never a handoff.
    pub(super) fn needs_approval(&self, tool: &str) -> bool {
        self.inner.approvals.iter().any(|name| name == tool)
            && super::handoff::find(self, tool).is_none()
    }

    /// What the model is told of `call`, which needs approval, outside a durable run: there
    /// is no store to wait in, so the tool does not run.
    pub(super) fn unapproved(call: &ToolCall) -> Message {
        let content = format!(
            "error: tool `{}` needs a human's approval, which a run without a store cannot \
             wait for; do without it, or say what you would have done",
            call.name
        );
        Message::tool_result(call.id.clone(), content)
    }

    /// The result of `call`, which needs approval, recorded under `key` in `memo` once it has
    /// one: with the decision recorded for it, the tool runs (allowed, or with the edited
    /// arguments) or the model is told why not (denied); without one, the request is
    /// recorded and the run must wait.
    ///
    /// # Errors
    ///
    /// [`Error::ApprovalNeeded`] if no decision is recorded; the store's.
    pub(super) async fn decided_call(
        &self,
        call: &ToolCall,
        memo: &Memo,
        key: &str,
    ) -> Result<Message, Error> {
        let decision: Option<Approval> = memo.recall(&format!("{key}{DECISION}")).await?;
        match decision {
            Some(Approval::Allow) => Ok(self.run_call(call).await),
            Some(Approval::Deny { reason }) => {
                let content = format!("error: a human denied this call: {reason}");
                Ok(Message::tool_result(call.id.clone(), content))
            }
            Some(Approval::Edit { arguments }) => {
                let edited = ToolCall {
                    arguments,
                    ..call.clone()
                };
                Ok(self.run_call(&edited).await)
            }
            None => {
                let request = ApprovalRequest {
                    agent: self.inner.name.clone(),
                    tool: call.name.clone(),
                    call_id: call.id.clone(),
                    arguments: call.arguments.clone(),
                };
                memo.remember(format!("{key}{ASK}"), &request).await?;
                Err(Error::ApprovalNeeded {
                    agent: request.agent,
                    tool: request.tool,
                    call_id: request.call_id,
                    step: None,
                })
            }
        }
    }
}
