//! Agents as tools of other agents: a handoff passes the conversation on, and an agent given
//! as a tool answers a request of another (a supervisor delegating).

use serde_json::{json, Value};

use super::Agent;
use crate::future::BoxFuture;
use crate::provider::{self, ChatRequest, ToolCall};
use crate::tool::{Tool, ToolError};

/// The name of the tool that hands the conversation to `agent`: `transfer_to_` and its name,
/// as providers accept tool names.
fn tool_name(agent: &Agent) -> String {
    let mut name = format!("transfer_to_{}", super::extract::schema_name(agent.name()));
    // Providers take names of at most 64 characters; these are ASCII.
    name.truncate(64);
    name
}

/// The definition of the tool that hands the conversation to `target`.
pub(super) fn definition(target: &Agent) -> provider::Tool {
    let mut description = format!(
        "Hands the conversation over to agent `{}`, which answers from then on.",
        target.name()
    );
    if let Some(what) = &target.inner.description {
        description.push(' ');
        description.push_str(what);
    }
    let parameters = json!({"type": "object", "properties": {}});
    provider::Tool::new(tool_name(target), description, parameters)
}

/// The handoff of `agent` called `name`, if it has one.
pub(super) fn find<'a>(agent: &'a Agent, name: &str) -> Option<&'a Agent> {
    let handoffs = agent.inner.handoffs.iter();
    handoffs
        .into_iter()
        .find(|target| tool_name(target) == name)
}

/// The agent the first handoff among `calls` goes to, if any.
pub(super) fn target(agent: &Agent, calls: &[ToolCall]) -> Option<Agent> {
    calls
        .iter()
        .find_map(|call| find(agent, &call.name).cloned())
}

/// What the model is told of a handoff to `target`.
pub(super) fn accepted(target: &Agent) -> Value {
    Value::String(format!("agent `{}` takes over", target.name()))
}

/// The request the next agent goes on with: the conversation, and the answer's shape; the
/// system prompt, model and parameters become the next agent's.
pub(super) fn pass(request: ChatRequest) -> ChatRequest {
    let mut next = ChatRequest::new().messages(request.messages);
    next.response_schema = request.response_schema;
    next
}

/// An agent is a tool of another: called with a `request`, it answers it through its own tool
/// loop ([`Agent::converse`]), and its answer is the result. This is how a supervisor
/// delegates: give it its workers with [`AgentBuilder::tool`](super::AgentBuilder::tool).
/// The tool's name is the agent's, its description the agent's
/// [`description`](super::AgentBuilder::description).
impl Tool for Agent {
    fn definition(&self) -> provider::Tool {
        let description = match &self.inner.description {
            Some(description) => description.clone(),
            None => format!("Asks agent `{}`.", self.name()),
        };
        let parameters = json!({
            "type": "object",
            "properties": {"request": {
                "type": "string",
                "description": "What to ask, with everything needed to answer it."
            }},
            "required": ["request"]
        });
        provider::Tool::new(self.name(), description, parameters)
    }

    fn call(&self, arguments: Value) -> BoxFuture<'_, Result<Value, ToolError>> {
        Box::pin(async move {
            let Some(request) = arguments.get("request").and_then(Value::as_str) else {
                let message = "the arguments need a `request`: the text to ask";
                return Err(ToolError::new(message));
            };
            let conversation = self.converse(self.request(request)).await;
            let conversation = conversation.map_err(ToolError::from)?;
            Ok(Value::String(conversation.response.text))
        })
    }
}
