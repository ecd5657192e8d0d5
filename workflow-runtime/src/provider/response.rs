//! What a model answers: [`ChatResponse`], [`ToolCall`], [`Usage`], [`FinishReason`] and the
//! [`StreamEvent`]s of a streamed answer.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Message;
use crate::usage::Usage;

/// A model's answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChatResponse {
    /// The text; empty if the model only called tools.
    pub text: String,
    /// The tools the model called, in order.
    pub tool_calls: Vec<ToolCall>,
    /// The tokens the call used, if the provider reported them (some servers do not while
    /// streaming).
    pub usage: Option<Usage>,
    /// Why the model stopped, if the provider said.
    pub finish_reason: Option<FinishReason>,
    /// The model that answered, as the provider names it.
    pub model: String,
    /// How long the call took, retries included.
    pub latency: Duration,
}

impl ChatResponse {
    /// A response with text `text` and nothing else: for tests and [`Scripted`](super::Scripted).
    pub fn new(text: impl Into<String>) -> Self {
        ChatResponse {
            text: text.into(),
            ..Self::default()
        }
    }

    /// Adds a tool call.
    pub fn with_tool_call(mut self, call: ToolCall) -> Self {
        self.tool_calls.push(call);
        self
    }

    /// Sets the usage.
    pub fn with_usage(mut self, usage: Usage) -> Self {
        self.usage = Some(usage);
        self
    }

    /// Sets the finish reason.
    pub fn with_finish_reason(mut self, reason: FinishReason) -> Self {
        self.finish_reason = Some(reason);
        self
    }

    /// Sets the model name.
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = model.into();
        self
    }

    /// The answer as an assistant [`Message`], to append to the conversation.
    pub fn to_message(&self) -> Message {
        Message::assistant_tool_calls(self.text.clone(), self.tool_calls.clone())
    }
}

impl From<&str> for ChatResponse {
    fn from(text: &str) -> Self {
        ChatResponse::new(text)
    }
}

impl From<String> for ChatResponse {
    fn from(text: String) -> Self {
        ChatResponse::new(text)
    }
}

/// A tool call made by the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolCall {
    /// The call's id, to answer with [`Message::tool_result`].
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments, parsed from the model's JSON: an object for a well-formed call. When
    /// the model wrote arguments that are not JSON, they are kept here as a JSON string, as it
    /// wrote them (the OpenAI-compatible provider does this), which no tool's object schema
    /// accepts: an [`Agent`](crate::Agent)'s tool loop tells the model so instead of failing.
    pub arguments: Value,
}

impl ToolCall {
    /// A call with id `id` of tool `name`.
    pub fn new(id: impl Into<String>, name: impl Into<String>, arguments: Value) -> Self {
        ToolCall {
            id: id.into(),
            name: name.into(),
            arguments,
        }
    }
}

/// Why a model stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FinishReason {
    /// It finished its answer.
    Stop,
    /// It reached `max_tokens`.
    Length,
    /// It called tools and waits for their results.
    ToolCalls,
    /// The provider's content filter stopped it.
    ContentFilter,
    /// Another reason, as the provider named it.
    Other(String),
}

impl FinishReason {
    /// The reason named `name` in OpenAI's vocabulary.
    pub fn from_name(name: &str) -> Self {
        match name {
            "stop" => FinishReason::Stop,
            "length" => FinishReason::Length,
            "tool_calls" | "function_call" => FinishReason::ToolCalls,
            "content_filter" => FinishReason::ContentFilter,
            other => FinishReason::Other(other.to_owned()),
        }
    }
}

/// One event of a streamed answer ([`ChatModel::stream`](super::ChatModel::stream)).
///
/// Text arrives as deltas while the model writes; each tool call arrives whole once its
/// arguments are complete; then the usage, if the provider reports it; [`StreamEvent::Done`]
/// comes last and holds the whole answer.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum StreamEvent {
    /// The next piece of the text.
    TextDelta(String),
    /// A complete tool call.
    ToolCall(ToolCall),
    /// The tokens the call used.
    Usage(Usage),
    /// The end of the stream: the whole answer, as [`ChatModel::chat`](super::ChatModel::chat)
    /// would have returned it.
    Done(ChatResponse),
}
