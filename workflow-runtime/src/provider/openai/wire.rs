//! The chat-completions responses we read, streamed or not.
//!
//! Every field is optional here, so that a missing field is reported as a
//! [`ProviderErrorKind::MalformedResponse`] naming it, or given a sensible default, rather than
//! failing the whole parse.

use serde::Deserialize;
use serde_json::Value;

use crate::provider::http::Caller;
use crate::provider::{
    ChatResponse, FinishReason, ProviderError, ProviderErrorKind, ToolCall, Usage,
};

/// A non-streamed response, or an error object sent with HTTP 200.
#[derive(Deserialize)]
pub(super) struct Completion {
    pub(super) model: Option<String>,
    pub(super) choices: Option<Vec<Choice>>,
    pub(super) usage: Option<InUsage>,
    pub(super) error: Option<Value>,
}

#[derive(Deserialize)]
pub(super) struct Choice {
    pub(super) message: Option<InMessage>,
    pub(super) finish_reason: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct InMessage {
    pub(super) content: Option<Value>,
    pub(super) tool_calls: Option<Vec<InToolCall>>,
}

#[derive(Deserialize)]
pub(super) struct InToolCall {
    pub(super) id: Option<String>,
    pub(super) function: Option<InFunction>,
}

#[derive(Deserialize)]
pub(super) struct InFunction {
    pub(super) name: Option<String>,
    /// A JSON string, or (some servers) the arguments object itself.
    pub(super) arguments: Option<Value>,
}

/// One chunk of a stream.
#[derive(Deserialize)]
pub(super) struct Chunk {
    pub(super) model: Option<String>,
    pub(super) choices: Option<Vec<ChunkChoice>>,
    pub(super) usage: Option<InUsage>,
}

#[derive(Deserialize)]
pub(super) struct ChunkChoice {
    pub(super) index: Option<u32>,
    pub(super) delta: Option<Delta>,
    pub(super) finish_reason: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Delta {
    pub(super) content: Option<String>,
    pub(super) tool_calls: Option<Vec<ToolCallDelta>>,
}

#[derive(Deserialize)]
pub(super) struct ToolCallDelta {
    pub(super) index: Option<u32>,
    pub(super) id: Option<String>,
    pub(super) function: Option<FunctionDelta>,
}

#[derive(Deserialize)]
pub(super) struct FunctionDelta {
    pub(super) name: Option<String>,
    pub(super) arguments: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct InUsage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    prompt_tokens_details: Option<PromptDetails>,
    completion_tokens_details: Option<CompletionDetails>,
}

#[derive(Deserialize)]
struct PromptDetails {
    cached_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct CompletionDetails {
    reasoning_tokens: Option<u64>,
}

impl From<InUsage> for Usage {
    fn from(usage: InUsage) -> Self {
        let cached = usage.prompt_tokens_details.and_then(|d| d.cached_tokens);
        let reasoning = usage
            .completion_tokens_details
            .and_then(|d| d.reasoning_tokens);
        Usage::new(
            usage.prompt_tokens.unwrap_or(0),
            usage.completion_tokens.unwrap_or(0),
        )
        .with_cached(cached.unwrap_or(0))
        .with_reasoning(reasoning.unwrap_or(0))
    }
}

/// A problem with a response: its kind and what was wrong.
pub(super) type Problem = (ProviderErrorKind, String);

pub(super) fn malformed(message: impl Into<String>) -> Problem {
    (ProviderErrorKind::MalformedResponse, message.into())
}

/// The text of a message's `content`: a string, or an array of `{"type": "text", "text"}` parts.
pub(super) fn content_text(content: Option<Value>) -> Result<String, Problem> {
    match content {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(text)) => Ok(text),
        Some(Value::Array(parts)) => Ok(parts
            .iter()
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .collect()),
        Some(_) => Err(malformed(
            "`content` is neither a string nor a list of parts",
        )),
    }
}

/// A tool call from its parts; an empty id is replaced by `call_{position}`, and arguments that
/// are not valid JSON are kept as a string.
pub(super) fn tool_call(
    position: usize,
    id: Option<String>,
    name: Option<String>,
    arguments: Option<Value>,
) -> Result<ToolCall, Problem> {
    let name = name
        .filter(|name| !name.is_empty())
        .ok_or_else(|| malformed(format!("tool call {position} has no function name")))?;
    let arguments = match arguments {
        None | Some(Value::Null) => Value::Object(Default::default()),
        Some(Value::String(text)) if text.trim().is_empty() => Value::Object(Default::default()),
        // Arguments that are not JSON stay as the model wrote them, a JSON string no tool's
        // object schema accepts: the tool loop tells the model, instead of failing the call.
        Some(Value::String(text)) => serde_json::from_str(&text).unwrap_or(Value::String(text)),
        Some(object) => object,
    };
    let id = id
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| format!("call_{position}"));
    Ok(ToolCall::new(id, name, arguments))
}

/// Reads a finish reason, ignoring an empty one.
pub(super) fn finish_reason(reason: Option<String>) -> Option<FinishReason> {
    reason
        .filter(|reason| !reason.is_empty())
        .map(|reason| FinishReason::from_name(&reason))
}

/// The response in a non-streamed `body`; `model` names the model if the body does not.
pub(super) fn parse_completion(
    body: &[u8],
    model: String,
    caller: &Caller,
) -> Result<ChatResponse, ProviderError> {
    let mut completion: Completion = serde_json::from_slice(body).map_err(|error| {
        let message = format!("the response is not the expected JSON: {error}");
        caller.error(ProviderErrorKind::MalformedResponse, &message)
    })?;
    // A response without an answer may still say what it cost: its error carries that.
    let usage = completion.usage.take().map(Usage::from);
    let spent = |error: ProviderError| match usage {
        Some(usage) => error.with_usage(usage),
        None => error,
    };
    if let Some(error) = completion.error.as_ref().filter(|error| !error.is_null()) {
        return Err(spent(caller.payload_error(error, ProviderErrorKind::Other)));
    }
    read_completion(completion, model, usage)
        .map_err(|(kind, message)| spent(caller.error(kind, &message)))
}

fn read_completion(
    completion: Completion,
    model: String,
    usage: Option<Usage>,
) -> Result<ChatResponse, Problem> {
    let choice = completion
        .choices
        .and_then(|choices| choices.into_iter().next())
        .ok_or_else(|| malformed("the response has no `choices`"))?;
    let message = choice
        .message
        .ok_or_else(|| malformed("the response's first choice has no `message`"))?;
    let tool_calls = message.tool_calls.unwrap_or_default().into_iter();
    let tool_calls = tool_calls.enumerate().map(|(position, call)| {
        let (name, arguments) = match call.function {
            Some(function) => (function.name, function.arguments),
            None => (None, None),
        };
        tool_call(position, call.id, name, arguments)
    });
    let mut response = ChatResponse::new(content_text(message.content)?);
    response.tool_calls = tool_calls.collect::<Result<_, _>>()?;
    response.usage = usage;
    response.finish_reason = finish_reason(choice.finish_reason);
    response.model = completion
        .model
        .filter(|name| !name.is_empty())
        .unwrap_or(model);
    Ok(response)
}
