//! [`AgentBuilder`]: how an [`Agent`] is made.

use std::sync::Arc;

use super::{Agent, Inner};
use crate::provider::ChatModel;
use crate::tool::{Tool, Toolbox};

/// Builds an [`Agent`]: see [`Agent::builder`]. Every setting is optional.
#[must_use = "call `.build()` to get the agent"]
pub struct AgentBuilder {
    inner: Inner,
}

impl AgentBuilder {
    pub(super) fn new(model: Arc<dyn ChatModel>) -> Self {
        AgentBuilder {
            inner: Inner {
                model,
                name: "agent".to_owned(),
                system: None,
                temperature: None,
                max_tokens: None,
                model_name: None,
                description: None,
                tools: Toolbox::default(),
                handoffs: Vec::new(),
                approvals: Vec::new(),
                max_turns: Agent::DEFAULT_MAX_TURNS,
            },
        }
    }

    /// The agent's name, used in errors (`agent`, if unset).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.inner.name = name.into();
        self
    }

    /// The system prompt sent with every request.
    pub fn system(mut self, system: impl Into<String>) -> Self {
        self.inner.system = Some(system.into());
        self
    }

    /// The sampling temperature (the provider's default, if unset).
    pub fn temperature(mut self, temperature: f32) -> Self {
        self.inner.temperature = Some(temperature);
        self
    }

    /// The most tokens an answer may have (the provider's default, if unset).
    pub fn max_tokens(mut self, max_tokens: u32) -> Self {
        self.inner.max_tokens = Some(max_tokens);
        self
    }

    /// The model to ask for, instead of the provider's default model.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.inner.model_name = Some(model.into());
        self
    }

    /// What the agent does, in a sentence, for the model of another agent that may hand the
    /// conversation to it ([`handoff`](Self::handoff)) or call it as a tool.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.inner.description = Some(description.into());
        self
    }

    /// Gives the agent a tool its model may call: [`prompt`](Agent::prompt),
    /// [`extract`](Agent::extract) and [`converse`](Agent::converse) then run the tool loop
    /// (see [`converse`](Agent::converse)). A tool with the name of one given before replaces
    /// it. An [`Agent`] is a tool too: the supervisor pattern is an agent whose tools are its
    /// workers.
    ///
    /// # Example
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// use serde::Deserialize;
    /// use serde_json::json;
    /// use workflow_runtime::provider::{ChatResponse, Scripted, ToolCall};
    /// use workflow_runtime::schemars::{self, JsonSchema};
    /// use workflow_runtime::tool::{self, ToolError};
    /// use workflow_runtime::Agent;
    ///
    /// #[derive(Deserialize, JsonSchema)]
    /// struct City {
    ///     name: String,
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), workflow_runtime::Error> {
    /// let weather = tool::from_fn("weather", "The weather of a city.", |city: City| async move {
    ///     Ok::<_, ToolError>(format!("sunny in {}", city.name))
    /// });
    /// let model = Arc::new(Scripted::new().replies([
    ///     ChatResponse::new("")
    ///         .with_tool_call(ToolCall::new("c1", "weather", json!({"name": "Paris"}))),
    ///     ChatResponse::new("It is sunny in Paris."),
    /// ]));
    /// let agent = Agent::builder(model.clone()).tool(weather).max_turns(4).build();
    ///
    /// assert_eq!(agent.prompt("Weather in Paris?").await?, "It is sunny in Paris.");
    /// // The second call carried the tool's result.
    /// let sent = &model.requests()[1];
    /// assert_eq!(sent.tools[0].name, "weather");
    /// assert_eq!(sent.messages.last(), Some(&workflow_runtime::provider::Message::tool_result("c1", "sunny in Paris")));
    /// # Ok(())
    /// # }
    /// ```
    pub fn tool(mut self, tool: impl Tool) -> Self {
        self.inner.tools.add(std::sync::Arc::new(tool));
        self
    }

    /// Gives the agent tools: see [`tool`](Self::tool).
    pub fn tools(mut self, tools: impl IntoIterator<Item = std::sync::Arc<dyn Tool>>) -> Self {
        tools
            .into_iter()
            .for_each(|tool| self.inner.tools.add(tool));
        self
    }

    /// Makes every call of tool `tool` wait for a human's approval before it runs.
    ///
    /// In a step of a durable run ([`Runner`](crate::Runner)), a call of the tool suspends
    /// the run at its step: the runner's report is
    /// [`Outcome::Suspended`](crate::Outcome::Suspended) with a pause whose
    /// [`is_approval`](crate::Pause::is_approval) is true, showing the call (agent, tool,
    /// call id, arguments: an [`ApprovalRequest`](crate::ApprovalRequest)), and taking an
    /// [`Approval`](crate::Approval): [`Runner::approve`](crate::Runner::approve), or the same
    /// as JSON with [`Runner::answer_json`](crate::Runner::answer_json), `workflow answer` or
    /// the console. The step then runs again and replays everything it recorded before the
    /// call (model turns, other tool calls: none of them runs again), and the call is
    /// decided: [`Allow`](crate::Approval::Allow) runs the tool,
    /// [`Deny`](crate::Approval::Deny) gives the model the reason as the call's result (an
    /// error it reads), [`Edit`](crate::Approval::Edit) runs the tool with the edited
    /// arguments. The decision is recorded with the call: it is never asked twice.
    ///
    /// Outside a durable run (in memory, or outside any run) there is no store to wait in:
    /// the tool does not run, and the model gets the call's result `error: tool `…` needs a
    /// human's approval, which a run without a store cannot wait for; …`, as it would a tool
    /// error. The name of a handoff is not a tool: it never waits.
    ///
    /// # Example
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// use serde_json::json;
    /// use workflow_runtime::provider::{ChatResponse, Message, Scripted, ToolCall};
    /// use workflow_runtime::tool::{self, ToolError};
    /// use workflow_runtime::Agent;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), workflow_runtime::Error> {
    /// let pay = tool::from_fn("pay", "Pays an amount.", |amount: serde_json::Value| async move {
    ///     Ok::<_, ToolError>(format!("paid {amount}"))
    /// });
    /// let model = Arc::new(Scripted::new().replies([
    ///     ChatResponse::new("").with_tool_call(ToolCall::new("c1", "pay", json!({"cents": 500}))),
    ///     ChatResponse::new("I could not pay."),
    /// ]));
    /// let agent = Agent::builder(model.clone()).tool(pay).needs_approval("pay").build();
    ///
    /// // In memory, nobody can approve: the model is told so, and the tool does not run.
    /// assert_eq!(agent.prompt("Pay the bill.").await?, "I could not pay.");
    /// let Some(Message::Tool { content, .. }) = model.requests()[1].messages.last().cloned() else {
    ///     panic!("a tool result");
    /// };
    /// assert!(content.starts_with("error: tool `pay` needs a human's approval"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn needs_approval(mut self, tool: impl Into<String>) -> Self {
        let tool = tool.into();
        if !self.inner.approvals.contains(&tool) {
            self.inner.approvals.push(tool);
        }
        self
    }

    /// Lets the agent hand the conversation to `target`: its model is offered a tool
    /// `transfer_to_<target's name>` (described with the target's
    /// [`description`](Self::description)); when it calls it, `target` goes on with the
    /// conversation, under its own system prompt, tools and handoffs, and its answer is the
    /// answer. The triage pattern is an agent whose handoffs are the specialists.
    pub fn handoff(mut self, target: Agent) -> Self {
        self.inner.handoffs.push(target);
        self
    }

    /// The most model calls one tool loop of this agent makes
    /// ([`Agent::DEFAULT_MAX_TURNS`], 8, if
    /// unset; at least 1). If the model still calls tools in the last one, the loop fails with
    /// [`Error::ToolLimit`](crate::Error::ToolLimit) naming the bound. Turns made before a
    /// handoff to this agent count.
    pub fn max_turns(mut self, max_turns: u32) -> Self {
        self.inner.max_turns = max_turns.max(1);
        self
    }

    /// The agent.
    pub fn build(self) -> Agent {
        Agent {
            inner: Arc::new(self.inner),
        }
    }
}

impl std::fmt::Debug for AgentBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentBuilder")
            .field("name", &self.inner.name)
            .finish_non_exhaustive()
    }
}
