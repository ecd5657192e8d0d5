//! The chat-completions request body.

use serde::Serialize;
use serde_json::Value;

use crate::provider::{ChatRequest, Message, ToolCall};

/// The request body.
#[derive(Serialize)]
pub(super) struct Body<'a> {
    model: &'a str,
    messages: Vec<OutMessage<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<OutTool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<ResponseFormat<'a>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
}

#[derive(Serialize)]
#[serde(tag = "role", rename_all = "lowercase")]
enum OutMessage<'a> {
    System {
        content: &'a str,
    },
    User {
        content: &'a str,
    },
    /// `content` is always a string: llama.cpp server rejects `null` next to tool calls.
    Assistant {
        content: &'a str,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<OutToolCall<'a>>,
    },
    Tool {
        tool_call_id: &'a str,
        content: &'a str,
    },
}

#[derive(Serialize)]
struct OutToolCall<'a> {
    id: &'a str,
    r#type: &'static str,
    function: OutFunction<'a>,
}

#[derive(Serialize)]
struct OutFunction<'a> {
    name: &'a str,
    /// The arguments as a JSON string, as the API wants them.
    arguments: String,
}

#[derive(Serialize)]
struct OutTool<'a> {
    r#type: &'static str,
    function: OutToolDefinition<'a>,
}

#[derive(Serialize)]
struct OutToolDefinition<'a> {
    name: &'a str,
    description: &'a str,
    parameters: &'a Value,
}

#[derive(Serialize)]
struct ResponseFormat<'a> {
    r#type: &'static str,
    json_schema: JsonSchema<'a>,
}

#[derive(Serialize)]
struct JsonSchema<'a> {
    name: &'a str,
    schema: &'a Value,
    strict: bool,
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

impl<'a> Body<'a> {
    /// The body for `request`, sent to `model` unless the request names another.
    pub(super) fn new(model: &'a str, request: &'a ChatRequest, stream: bool) -> Self {
        let system = request
            .system
            .as_deref()
            .map(|content| OutMessage::System { content });
        let messages = system
            .into_iter()
            .chain(request.messages.iter().map(out_message));
        Body {
            model: request.model.as_deref().unwrap_or(model),
            messages: messages.collect(),
            temperature: request.temperature,
            max_tokens: request.max_tokens,
            tools: request
                .tools
                .iter()
                .map(|tool| OutTool {
                    r#type: "function",
                    function: OutToolDefinition {
                        name: &tool.name,
                        description: &tool.description,
                        parameters: &tool.parameters,
                    },
                })
                .collect(),
            response_format: request
                .response_schema
                .as_ref()
                .map(|schema| ResponseFormat {
                    r#type: "json_schema",
                    json_schema: JsonSchema {
                        name: &schema.name,
                        schema: &schema.schema,
                        strict: schema.strict,
                    },
                }),
            stream,
            stream_options: stream.then_some(StreamOptions {
                include_usage: true,
            }),
        }
    }
}

fn out_message(message: &Message) -> OutMessage<'_> {
    match message {
        Message::User { content } => OutMessage::User { content },
        Message::Assistant {
            content,
            tool_calls,
        } => OutMessage::Assistant {
            content,
            tool_calls: tool_calls.iter().map(out_tool_call).collect(),
        },
        Message::Tool { call_id, content } => OutMessage::Tool {
            tool_call_id: call_id,
            content,
        },
    }
}

fn out_tool_call(call: &ToolCall) -> OutToolCall<'_> {
    OutToolCall {
        id: &call.id,
        r#type: "function",
        function: OutFunction {
            name: &call.name,
            arguments: call.arguments.to_string(),
        },
    }
}
