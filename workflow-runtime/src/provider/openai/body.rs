//! The chat-completions request body.

use serde::Serialize;
use serde_json::Value;

use super::StructuredOutput;
use crate::provider::{ChatRequest, Message, ResponseSchema, ToolCall, ToolChoice};

/// How the server wants what varies between OpenAI-compatible servers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Dialect {
    /// The shape of `response_format`.
    pub(super) structured_output: StructuredOutput,
    /// Send the token limit as `max_completion_tokens` instead of `max_tokens`.
    pub(super) max_completion_tokens: bool,
}

/// The request body.
#[derive(Serialize)]
pub(super) struct Body<'a> {
    model: &'a str,
    messages: Vec<OutMessage<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_completion_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<OutTool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<OutToolChoice<'a>>,
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

/// `"auto"`, `"none"`, `"required"`, or `{"type": "function", "function": {"name": …}}`.
#[derive(Serialize)]
#[serde(untagged)]
enum OutToolChoice<'a> {
    Mode(&'static str),
    Function {
        r#type: &'static str,
        function: OutName<'a>,
    },
}

#[derive(Serialize)]
struct OutName<'a> {
    name: &'a str,
}

/// `response_format`, in the shape of the [`StructuredOutput`] dialect.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ResponseFormat<'a> {
    /// `{"type": "json_schema", "json_schema": {"name", "schema", "strict"}}`: OpenAI's.
    JsonSchema { json_schema: JsonSchema<'a> },
    /// `{"type": "json_object", "schema": …}`: llama-cpp-python's.
    JsonObject { schema: &'a Value },
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
    /// The body for `request` in `dialect`, sent to `model` unless the request names another.
    pub(super) fn new(
        model: &'a str,
        request: &'a ChatRequest,
        dialect: Dialect,
        stream: bool,
    ) -> Self {
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
            max_tokens: request
                .max_tokens
                .filter(|_| !dialect.max_completion_tokens),
            max_completion_tokens: request.max_tokens.filter(|_| dialect.max_completion_tokens),
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
            tool_choice: request.tool_choice.as_ref().map(out_tool_choice),
            response_format: request
                .response_schema
                .as_ref()
                .map(|schema| response_format(schema, dialect.structured_output)),
            stream,
            stream_options: stream.then_some(StreamOptions {
                include_usage: true,
            }),
        }
    }
}

fn out_tool_choice(choice: &ToolChoice) -> OutToolChoice<'_> {
    match choice {
        ToolChoice::Auto => OutToolChoice::Mode("auto"),
        ToolChoice::None => OutToolChoice::Mode("none"),
        ToolChoice::Required => OutToolChoice::Mode("required"),
        ToolChoice::Tool(name) => OutToolChoice::Function {
            r#type: "function",
            function: OutName { name },
        },
    }
}

fn response_format(schema: &ResponseSchema, dialect: StructuredOutput) -> ResponseFormat<'_> {
    match dialect {
        StructuredOutput::JsonSchema => ResponseFormat::JsonSchema {
            json_schema: JsonSchema {
                name: &schema.name,
                schema: &schema.schema,
                strict: schema.strict,
            },
        },
        StructuredOutput::JsonObjectSchema => ResponseFormat::JsonObject {
            schema: &schema.schema,
        },
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
            arguments: match &call.arguments {
                // Arguments the model wrote that were not JSON go back as it wrote them.
                Value::String(raw) => raw.clone(),
                arguments => arguments.to_string(),
            },
        },
    }
}
