//! The Messages API responses we read, streamed or not.
//!
//! Fields are optional here, so that a missing field is reported as a
//! [`ProviderErrorKind::MalformedResponse`] naming it, or given a sensible default, rather than
//! failing the whole parse.

use serde::Deserialize;
use serde_json::Value;

use crate::provider::http::Caller;
use crate::provider::{
    ChatResponse, FinishReason, ProviderError, ProviderErrorKind, ToolCall, Usage,
};

/// A non-streamed response (`"type": "message"`), or an error (`"type": "error"`).
#[derive(Deserialize)]
struct InMessage {
    r#type: Option<String>,
    model: Option<String>,
    content: Option<Vec<InBlock>>,
    stop_reason: Option<String>,
    usage: Option<InUsage>,
    error: Option<Value>,
}

/// A content block. Kinds we do not read (`thinking`, server tools, …) are skipped.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum InBlock {
    Text {
        text: Option<String>,
    },
    ToolUse {
        id: Option<String>,
        name: Option<String>,
        input: Option<Value>,
    },
    #[serde(other)]
    Other,
}

/// The `usage` object. The counts are cumulative: in a stream, the ones a `message_delta`
/// carries replace those of `message_start`.
#[derive(Deserialize, Default, Clone, Copy)]
pub(super) struct InUsage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
}

impl InUsage {
    /// Takes the counts `newer` has.
    pub(super) fn update(&mut self, newer: InUsage) {
        let counts = [
            (&mut self.input_tokens, newer.input_tokens),
            (&mut self.output_tokens, newer.output_tokens),
            (
                &mut self.cache_creation_input_tokens,
                newer.cache_creation_input_tokens,
            ),
            (
                &mut self.cache_read_input_tokens,
                newer.cache_read_input_tokens,
            ),
        ];
        for (count, newer) in counts {
            if newer.is_some() {
                *count = newer;
            }
        }
    }
}

/// Anthropic's `input_tokens` leaves out the tokens read from and written to the cache: ours
/// counts all three, and `cached_tokens` the ones read.
impl From<InUsage> for Usage {
    fn from(usage: InUsage) -> Self {
        let read = usage.cache_read_input_tokens.unwrap_or(0);
        let written = usage.cache_creation_input_tokens.unwrap_or(0);
        let input = usage.input_tokens.unwrap_or(0);
        let input = input.saturating_add(read).saturating_add(written);
        Usage::new(input, usage.output_tokens.unwrap_or(0)).with_cached(read)
    }
}

/// One event of a stream, by its `type`.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum Event {
    MessageStart {
        message: Option<StartMessage>,
    },
    ContentBlockStart {
        index: u32,
        content_block: InBlock,
    },
    ContentBlockDelta {
        index: u32,
        delta: Delta,
    },
    ContentBlockStop {
        index: u32,
    },
    MessageDelta {
        delta: Option<MessageChange>,
        usage: Option<InUsage>,
    },
    MessageStop,
    /// `ping`, and event types added after this was written.
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
pub(super) struct StartMessage {
    pub(super) model: Option<String>,
    pub(super) usage: Option<InUsage>,
}

/// A `delta`, by its `type`: `text_delta`, `input_json_delta`, …
#[derive(Deserialize)]
#[serde(tag = "type")]
pub(super) enum Delta {
    #[serde(rename = "text_delta")]
    Text { text: String },
    #[serde(rename = "input_json_delta")]
    InputJson { partial_json: String },
    /// `thinking_delta`, `signature_delta`, `citations_delta`, and later kinds.
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
pub(super) struct MessageChange {
    pub(super) stop_reason: Option<String>,
}

/// A problem with a response: its kind and what was wrong.
pub(super) type Problem = (ProviderErrorKind, String);

pub(super) fn malformed(message: impl Into<String>) -> Problem {
    (ProviderErrorKind::MalformedResponse, message.into())
}

/// Why the model stopped, from a `stop_reason`.
pub(super) fn finish_reason(reason: Option<String>) -> Option<FinishReason> {
    let reason = reason.filter(|reason| !reason.is_empty())?;
    Some(match reason.as_str() {
        "end_turn" | "stop_sequence" => FinishReason::Stop,
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "refusal" => FinishReason::ContentFilter,
        _ => FinishReason::Other(reason),
    })
}

/// A tool call from a `tool_use` block at `position`; a missing id is replaced by
/// `toolu_{position}`, a missing input by `{}`.
pub(super) fn tool_call(
    position: usize,
    id: Option<String>,
    name: Option<String>,
    input: Option<Value>,
) -> Result<ToolCall, Problem> {
    let name = name
        .filter(|name| !name.is_empty())
        .ok_or_else(|| malformed(format!("tool call {position} has no `name`")))?;
    let input = input
        .filter(|input| !input.is_null())
        .unwrap_or_else(|| Value::Object(Default::default()));
    let id = id
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| format!("toolu_{position}"));
    Ok(ToolCall::new(id, name, input))
}

/// The response in a non-streamed `body`; `model` names the model if the body does not.
/// `answer_tool` is the tool carrying a structured answer: its input becomes the text.
pub(super) fn parse_message(
    body: &[u8],
    model: String,
    answer_tool: Option<&str>,
    caller: &Caller,
) -> Result<ChatResponse, ProviderError> {
    let message: InMessage = serde_json::from_slice(body).map_err(|error| {
        let message = format!("the response is not the expected JSON: {error}");
        caller.error(ProviderErrorKind::MalformedResponse, &message)
    })?;
    // A response without an answer may still say what it cost: its error carries that.
    let usage = message.usage.map(Usage::from);
    let spent = |error: ProviderError| match usage {
        Some(usage) => error.with_usage(usage),
        None => error,
    };
    if let Some(error) = message.error.as_ref().filter(|error| !error.is_null()) {
        return Err(spent(caller.payload_error(error, ProviderErrorKind::Other)));
    }
    read_message(message, model, answer_tool)
        .map_err(|(kind, text)| spent(caller.error(kind, &text)))
}

fn read_message(
    message: InMessage,
    model: String,
    answer_tool: Option<&str>,
) -> Result<ChatResponse, Problem> {
    if message.r#type.as_deref() == Some("error") {
        return Err((ProviderErrorKind::Other, "the response is an error".into()));
    }
    let blocks = message
        .content
        .ok_or_else(|| malformed("the response has no `content`"))?;
    let mut response = ChatResponse::new("");
    let mut answered = false;
    for (position, block) in blocks.into_iter().enumerate() {
        match block {
            InBlock::Text { text: None } => {
                return Err(malformed(format!("text block {position} has no `text`")));
            }
            // A structured answer is the answer tool's input only.
            InBlock::Text { text: Some(text) } if answer_tool.is_none() => {
                response.text.push_str(&text);
            }
            InBlock::ToolUse { id, name, input } => {
                let call = tool_call(position, id, name, input)?;
                if answer_tool == Some(call.name.as_str()) {
                    response.text.push_str(&call.arguments.to_string());
                    answered = true;
                } else {
                    response.tool_calls.push(call);
                }
            }
            InBlock::Text { .. } | InBlock::Other => {}
        }
    }
    response.finish_reason = finish_reason(message.stop_reason);
    if answered && response.tool_calls.is_empty() {
        response.finish_reason = Some(FinishReason::Stop);
    }
    response.usage = message.usage.map(Usage::from);
    response.model = message
        .model
        .filter(|name| !name.is_empty())
        .unwrap_or(model);
    Ok(response)
}
