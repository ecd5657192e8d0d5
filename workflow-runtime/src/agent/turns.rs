//! The tool loop: model → tool calls (run concurrently) → results → model, until an answer or
//! the agent's bound on model turns.

use futures_util::future::join_all;
use futures_util::StreamExt;
use tokio::time::Instant;
use tracing::field::Empty;
use tracing::Instrument;

use super::handoff;
use super::replay::Replay;
use super::stream::{TextStream, Turn};
use super::Agent;
use crate::event::EventKind;
use crate::provider::{ChatRequest, ChatResponse, Message, ToolCall};
use crate::scope::Scope;
use crate::tool;
use crate::Error;

/// A finished tool loop: the answer, who gave it, and the conversation that led to it. From
/// [`Agent::converse`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Conversation {
    /// The final answer: the model's last response, which calls no tools.
    pub response: ChatResponse,
    /// The conversation, oldest first, without the system prompt: the request's messages, then
    /// each model turn and the results of the tools it called, then the final answer.
    pub messages: Vec<Message>,
    /// The name of the agent that answered: the one asked, or the last one it handed the
    /// conversation to.
    pub agent: String,
    /// How many model calls the loop made, over every agent the conversation went through.
    pub turns: u32,
}

impl Agent {
    /// The bound on model turns of an agent that does not set one: see
    /// [`AgentBuilder::max_turns`](super::AgentBuilder::max_turns).
    pub const DEFAULT_MAX_TURNS: u32 = 8;

    /// Sends `request` and runs the tool loop: while the model calls tools, runs the calls
    /// (those of one turn concurrently), gives it their results and asks it again, until it
    /// answers without calling a tool.
    ///
    /// The model is offered the agent's tools and handoffs next to those of `request`. A call
    /// of a tool that does not exist, with arguments that do not fit, or of a tool that fails
    /// is answered with an error message the model reads (`error: …`), never a failed step.
    /// A call of a handoff passes the conversation to that agent, which goes on with its own
    /// system prompt, tools and bound. The request's
    /// [`tool_choice`](ChatRequest::tool_choice) applies to the first turn only: a model made
    /// to call a tool (some servers, such as the llama.cpp server of `llama-cpp-python`, call
    /// tools only when one is named) is then free to answer. Each model call is accounted like one of
    /// [`chat`](Self::chat), in the step that makes it; each tool call is an
    /// [`EventKind::ToolCalled`] and an [`EventKind::ToolFinished`], and a `workflow.tool`
    /// span, with the tool's name, never its arguments or result.
    ///
    /// # In a durable run
    ///
    /// Inside a step of a durable run ([`Runner`](crate::Runner)), the loop records each model
    /// turn's response and each tool call's result in the run's store as soon as it has it.
    /// If the step runs again (its worker crashed, or an attempt failed and is retried, or
    /// the failed run is resumed), the same conversation in that step replays what was
    /// recorded, in order, without asking the model or running the tools, then goes on live:
    /// **only the tool calls in flight and the model turn in flight may run twice**. A replayed
    /// turn spends nothing and is not accounted again; a replayed tool call tells no
    /// `ToolCalled` or `ToolFinished` event (they told of the call when it ran). Handoffs
    /// replay with the turn that made them. A conversation is found by the agent's name and
    /// its `request`, and by how many identical conversations the step (or branch) had before
    /// it: a step that asks something else when it runs again starts afresh. Outside a durable
    /// run nothing is recorded.
    ///
    /// A call of a tool that [needs approval](super::AgentBuilder::needs_approval) waits for a
    /// human: in a durable run the loop stops with [`Error::ApprovalNeeded`], which suspends
    /// the run until the decision is given, then replays up to the call; outside one the model
    /// is told that nobody can approve it.
    ///
    /// # Errors
    ///
    /// [`Error::ToolLimit`] if the model still calls tools after
    /// [`max_turns`](super::AgentBuilder::max_turns) calls; [`Error::ApprovalNeeded`] in a
    /// durable run, for a call that waits for a human's approval; otherwise those of
    /// [`chat`](Self::chat).
    pub async fn converse(&self, request: ChatRequest) -> Result<Conversation, Error> {
        let replay = Replay::start(self.name(), &request);
        let mut agent = self.clone();
        let mut request = request;
        let mut turns = 0;
        loop {
            let offered = agent.offer(request.clone());
            turns += 1;
            let response = agent.take_turn(offered, replay.as_ref(), turns).await?;
            if response.tool_calls.is_empty() {
                request.messages.push(response.to_message());
                return Ok(Conversation {
                    response,
                    messages: request.messages,
                    agent: agent.inner.name.clone(),
                    turns,
                });
            }
            agent = agent
                .use_tools(&mut request, &response, turns, replay.as_ref())
                .await?;
        }
    }

    /// After turn `turns`, whose `response` called tools: fails if that was the last turn the
    /// bound allows; else adds the turn and the results of its calls to `request`, and
    /// returns the agent that takes the next turn (another one after a handoff).
    async fn use_tools(
        &self,
        request: &mut ChatRequest,
        response: &ChatResponse,
        turns: u32,
        replay: Option<&Replay>,
    ) -> Result<Agent, Error> {
        if turns >= self.inner.max_turns {
            let (agent, max) = (self.inner.name.clone(), self.inner.max_turns);
            return Err(Error::ToolLimit { agent, max });
        }
        request.messages.push(response.to_message());
        // A forced choice holds for the first turn only, or the model could never answer.
        request.tool_choice = None;
        let calls = response.tool_calls.iter().enumerate();
        let calls = calls.map(|(index, call)| self.replay_call(call, replay, (turns, index)));
        for result in join_all(calls).await {
            request.messages.push(result?);
        }
        match handoff::target(self, &response.tool_calls) {
            Some(next) => {
                *request = handoff::pass(std::mem::take(request));
                Ok(next)
            }
            None => Ok(self.clone()),
        }
    }

    /// The text of the tool loop of `request` as the model writes it: each turn streamed,
    /// the tools run between turns. In a durable run, turns and calls are recorded and
    /// replayed as in [`converse`](Self::converse); a replayed turn's text comes as one item.
    pub(super) fn stream_turns(&self, request: ChatRequest) -> TextStream {
        let replay = Replay::start(self.name(), &request);
        let state = (self.clone(), request, 0_u32, None::<Turn>, replay);
        let text = futures_util::stream::unfold(Some(state), |state| async move {
            let (mut agent, mut request, mut turns, mut turn, replay) = state?;
            loop {
                let current = match &mut turn {
                    Some(current) => current,
                    None => {
                        turns += 1;
                        let offered = agent.offer(request.clone());
                        match agent.stream_turn(offered, replay.as_ref(), turns).await {
                            Ok(started) => turn.insert(started),
                            Err(error) => return Some((Err(error), None)),
                        }
                    }
                };
                match current.next().await {
                    Some(Ok(text)) => {
                        return Some((Ok(text), Some((agent, request, turns, turn, replay))))
                    }
                    Some(Err(error)) => return Some((Err(error), None)),
                    None => {}
                }
                let replayed = current.is_replayed();
                let response = current.take_answer()?;
                turn = None;
                if let Some(replay) = replay.as_ref().filter(|_| !replayed) {
                    if let Err(error) = replay.record_turn(turns, &response).await {
                        return Some((Err(error), None));
                    }
                }
                if response.tool_calls.is_empty() {
                    return None;
                }
                let used = agent.use_tools(&mut request, &response, turns, replay.as_ref());
                agent = match used.await {
                    Ok(next) => next,
                    Err(error) => return Some((Err(error), None)),
                };
            }
        });
        TextStream::from_stream(text)
    }

    /// Whether the agent has tools or handoffs, and so answers through the tool loop.
    pub(super) fn has_tools(&self) -> bool {
        !self.inner.tools.is_empty() || !self.inner.handoffs.is_empty()
    }

    /// `request` with the agent's tools and handoffs offered.
    fn offer(&self, mut request: ChatRequest) -> ChatRequest {
        let tools = self.inner.tools.definitions().cloned();
        request
            .tools
            .extend(tools.chain(self.inner.handoffs.iter().map(handoff::definition)));
        request
    }

    /// Runs `call` and returns the message with its result, telling the run's subscribers.
    pub(super) async fn run_call(&self, call: &ToolCall) -> Message {
        let name = self.inner.name.as_str();
        Scope::tell(|step, branch| EventKind::ToolCalled {
            step,
            branch,
            agent: name.to_owned(),
            tool: call.name.clone(),
            call_id: call.id.clone(),
        });
        let span = tracing::info_span!(
            target: "workflow",
            "workflow.tool",
            agent = name,
            tool = call.name.as_str(),
            call_id = call.id.as_str(),
            ok = Empty,
        );
        let started = Instant::now();
        let result = match handoff::find(self, &call.name) {
            Some(target) => Ok(handoff::accepted(target)),
            None => self.inner.tools.call(call).instrument(span.clone()).await,
        };
        span.record("ok", result.is_ok());
        let content = tool::content(&result);
        let error = result.err().map(|error| error.to_string());
        Scope::tell(|step, branch| EventKind::ToolFinished {
            step,
            branch,
            agent: name.to_owned(),
            tool: call.name.clone(),
            call_id: call.id.clone(),
            elapsed: started.elapsed(),
            error,
        });
        Message::tool_result(call.id.clone(), content)
    }
}
