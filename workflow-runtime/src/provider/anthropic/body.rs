//! The Messages API request body.

use serde::Serialize;
use serde_json::Value;

use crate::provider::ToolChoice as Choice;
use crate::provider::{ChatRequest, Message, ProviderErrorKind, ResponseSchema};

/// What the answer tool of structured output says to the model.
const ANSWER_DESCRIPTION: &str =
    "Give your final answer by calling this tool: its input is the answer.";

/// The JSON body for `request`, sent to `model` with at most `max_tokens` unless the request
/// says otherwise, and the name of its answer tool if it asks for structured output. Fails if
/// the answer tool would have the name of one of the request's tools.
pub(super) fn encode(
    model: &str,
    max_tokens: u32,
    request: &ChatRequest,
    stream: bool,
) -> Result<(Vec<u8>, Option<String>), (ProviderErrorKind, String)> {
    let schema = request.response_schema.as_ref();
    let answer_tool = schema.map(|schema| answer_tool_name(&schema.name));
    if let Some(name) = &answer_tool {
        if request.tools.iter().any(|tool| tool.name == *name) {
            let message =
                format!("the response schema `{name}` has the name of a tool; rename one of them");
            return Err((ProviderErrorKind::BadRequest, message));
        }
    }
    let body = Body::new(model, max_tokens, request, answer_tool.as_deref(), stream);
    let body = serde_json::to_vec(&body).map_err(|error| {
        let message = format!("could not encode the request: {error}");
        (ProviderErrorKind::BadRequest, message)
    })?;
    Ok((body, answer_tool))
}

/// The request body.
#[derive(Serialize)]
struct Body<'a> {
    model: &'a str,
    max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<&'a str>,
    messages: Vec<OutMessage<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<OutTool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<ToolChoice<'a>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
}

#[derive(Serialize)]
struct OutMessage<'a> {
    role: &'static str,
    content: Content<'a>,
}

/// A plain string, or content blocks.
#[derive(Serialize)]
#[serde(untagged)]
enum Content<'a> {
    Text(&'a str),
    Blocks(Vec<Block<'a>>),
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block<'a> {
    Text {
        text: &'a str,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: &'a Value,
    },
    ToolResult {
        tool_use_id: &'a str,
        content: &'a str,
    },
}

#[derive(Serialize)]
struct OutTool<'a> {
    name: &'a str,
    description: &'a str,
    input_schema: &'a Value,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ToolChoice<'a> {
    /// The model decides.
    Auto,
    /// The model must not call tools.
    None,
    /// The model must call one of the tools.
    Any,
    /// The model must call the tool `name`.
    Tool { name: &'a str },
}

impl<'a> Body<'a> {
    /// The body for `request`, sent to `model` with at most `max_tokens` unless the request
    /// says otherwise. `answer_tool` names the tool that carries a structured answer, if the
    /// request has a response schema.
    fn new(
        model: &'a str,
        max_tokens: u32,
        request: &'a ChatRequest,
        answer_tool: Option<&'a str>,
        stream: bool,
    ) -> Self {
        let mut tools: Vec<OutTool<'a>> = request
            .tools
            .iter()
            .map(|tool| OutTool {
                name: &tool.name,
                description: &tool.description,
                input_schema: &tool.parameters,
            })
            .collect();
        let schema = request.response_schema.as_ref();
        let tool_choice = match (schema, answer_tool) {
            (Some(ResponseSchema { schema, .. }), Some(name)) => {
                let choice = answer_choice(request.tool_choice.as_ref(), tools.is_empty(), name);
                tools.push(OutTool {
                    name,
                    description: ANSWER_DESCRIPTION,
                    input_schema: schema,
                });
                Some(choice)
            }
            _ => request.tool_choice.as_ref().map(|choice| match choice {
                Choice::Auto => ToolChoice::Auto,
                Choice::None => ToolChoice::None,
                Choice::Required => ToolChoice::Any,
                Choice::Tool(name) => ToolChoice::Tool { name },
            }),
        };
        Body {
            model: request.model.as_deref().unwrap_or(model),
            max_tokens: request.max_tokens.unwrap_or(max_tokens),
            system: request.system.as_deref(),
            messages: out_messages(&request.messages),
            temperature: request.temperature,
            tools,
            tool_choice,
            stream,
        }
    }
}

/// The `tool_choice` of a request with a response schema, whose answer tool is `answer`: the
/// model must call a tool, since its answer is a tool call. It must call the answer tool
/// when there is no other tool or the request says [`Choice::None`]; the tool the request names
/// with [`Choice::Tool`]; otherwise any tool.
fn answer_choice<'a>(
    choice: Option<&'a Choice>,
    no_tools: bool,
    answer: &'a str,
) -> ToolChoice<'a> {
    match choice {
        Some(Choice::Tool(name)) => ToolChoice::Tool { name },
        Some(Choice::None) => ToolChoice::Tool { name: answer },
        _ if no_tools => ToolChoice::Tool { name: answer },
        _ => ToolChoice::Any,
    }
}

/// The conversation in Anthropic's shape: tool calls as `tool_use` blocks of the assistant's
/// message, and tool results as `tool_result` blocks of a user message, consecutive results in
/// one message as the API wants them.
fn out_messages(messages: &[Message]) -> Vec<OutMessage<'_>> {
    let mut out: Vec<OutMessage<'_>> = Vec::with_capacity(messages.len());
    for message in messages {
        match message {
            Message::User { content } => out.push(OutMessage {
                role: "user",
                content: Content::Text(content),
            }),
            Message::Assistant {
                content,
                tool_calls,
            } if tool_calls.is_empty() => out.push(OutMessage {
                role: "assistant",
                content: Content::Text(content),
            }),
            Message::Assistant {
                content,
                tool_calls,
            } => {
                // The API rejects an empty text block.
                let text = Some(content.as_str()).filter(|text| !text.is_empty());
                let text = text.map(|text| Block::Text { text });
                let calls = tool_calls.iter().map(|call| Block::ToolUse {
                    id: &call.id,
                    name: &call.name,
                    input: &call.arguments,
                });
                out.push(OutMessage {
                    role: "assistant",
                    content: Content::Blocks(text.into_iter().chain(calls).collect()),
                });
            }
            Message::Tool { call_id, content } => {
                let result = Block::ToolResult {
                    tool_use_id: call_id,
                    content,
                };
                match out.last_mut() {
                    Some(OutMessage {
                        role: "user",
                        content: Content::Blocks(blocks),
                    }) => blocks.push(result),
                    _ => out.push(OutMessage {
                        role: "user",
                        content: Content::Blocks(vec![result]),
                    }),
                }
            }
        }
    }
    out
}

/// The name of the answer tool for a response schema named `name`: tool names may only have
/// ASCII letters, digits, `_` and `-`, at most 64 of them.
fn answer_tool_name(name: &str) -> String {
    let name: String = name
        .chars()
        .map(|c| match c.is_ascii_alphanumeric() || c == '-' {
            true => c,
            false => '_',
        })
        .take(64)
        .collect();
    match name.is_empty() {
        true => "answer".to_owned(),
        false => name,
    }
}
