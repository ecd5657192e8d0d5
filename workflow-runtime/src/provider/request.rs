//! What is sent to a model: [`ChatRequest`], [`Message`], [`Tool`], [`ToolChoice`],
//! [`ResponseSchema`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ToolCall;

/// One call to a chat model: a system prompt, the conversation so far, sampling parameters,
/// the tools the model may call and the shape its answer must have.
///
/// Build it with its methods; fields left unset use the provider's defaults.
///
/// ```
/// use serde_json::json;
/// use workflow_runtime::provider::{ChatRequest, Message, ResponseSchema, Tool, ToolChoice};
///
/// let request = ChatRequest::new()
///     .system("You answer in one word.")
///     .user("What is the capital of France?")
///     .temperature(0.0)
///     .max_tokens(16)
///     .tool(Tool::new("lookup", "Looks a city up.", json!({"type": "object"})))
///     .tool_choice(ToolChoice::Auto)
///     .response_schema(ResponseSchema::new("answer", json!({"type": "object"})));
/// assert_eq!(request.messages, [Message::user("What is the capital of France?")]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChatRequest {
    /// The model to use instead of the provider's default.
    pub model: Option<String>,
    /// The system prompt.
    pub system: Option<String>,
    /// The conversation, oldest first.
    pub messages: Vec<Message>,
    /// Sampling temperature.
    pub temperature: Option<f32>,
    /// The most tokens the answer may have.
    pub max_tokens: Option<u32>,
    /// The tools the model may call.
    pub tools: Vec<Tool>,
    /// Whether and which tool the model must call; the provider's default (usually
    /// [`ToolChoice::Auto`]) if unset.
    pub tool_choice: Option<ToolChoice>,
    /// The JSON schema the answer must follow (structured output).
    pub response_schema: Option<ResponseSchema>,
}

impl ChatRequest {
    /// An empty request.
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses `model` instead of the provider's default model.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Sets the system prompt.
    pub fn system(mut self, system: impl Into<String>) -> Self {
        self.system = Some(system.into());
        self
    }

    /// Appends a user message.
    pub fn user(self, content: impl Into<String>) -> Self {
        self.message(Message::user(content))
    }

    /// Appends a message.
    pub fn message(mut self, message: Message) -> Self {
        self.messages.push(message);
        self
    }

    /// Appends messages.
    pub fn messages(mut self, messages: impl IntoIterator<Item = Message>) -> Self {
        self.messages.extend(messages);
        self
    }

    /// Sets the sampling temperature.
    pub fn temperature(mut self, temperature: f32) -> Self {
        self.temperature = Some(temperature);
        self
    }

    /// Sets the most tokens the answer may have.
    pub fn max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = Some(max_tokens);
        self
    }

    /// Offers a tool to the model.
    pub fn tool(mut self, tool: Tool) -> Self {
        self.tools.push(tool);
        self
    }

    /// Says whether and which tool the model must call.
    ///
    /// Some servers honour tools only when one is named: the llama.cpp server of
    /// `llama-cpp-python` ignores tools unless `tool_choice` is [`ToolChoice::Tool`].
    pub fn tool_choice(mut self, choice: ToolChoice) -> Self {
        self.tool_choice = Some(choice);
        self
    }

    /// Asks for an answer that follows a JSON schema.
    pub fn response_schema(mut self, schema: ResponseSchema) -> Self {
        self.response_schema = Some(schema);
        self
    }

    /// The content of the last user message, if any: what [`Scripted`](super::Scripted)
    /// matches on.
    pub fn last_user_message(&self) -> Option<&str> {
        self.messages
            .iter()
            .rev()
            .find_map(|message| match message {
                Message::User { content } => Some(content.as_str()),
                _ => None,
            })
    }
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Message {
    /// Said by the user.
    User {
        /// The text.
        content: String,
    },
    /// Said by the model: text, and the tools it called.
    Assistant {
        /// The text; may be empty when the model only called tools.
        content: String,
        /// The tools the model called.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<ToolCall>,
    },
    /// The result of a tool call, answering the call with id `call_id`.
    Tool {
        /// The [`ToolCall::id`] this answers.
        call_id: String,
        /// The result, usually JSON.
        content: String,
    },
}

impl Message {
    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Message::User {
            content: content.into(),
        }
    }

    /// An assistant message with text only.
    pub fn assistant(content: impl Into<String>) -> Self {
        Message::Assistant {
            content: content.into(),
            tool_calls: Vec::new(),
        }
    }

    /// An assistant message that calls tools.
    pub fn assistant_tool_calls(content: impl Into<String>, tool_calls: Vec<ToolCall>) -> Self {
        Message::Assistant {
            content: content.into(),
            tool_calls,
        }
    }

    /// The result of the tool call with id `call_id`.
    pub fn tool_result(call_id: impl Into<String>, content: impl Into<String>) -> Self {
        Message::Tool {
            call_id: call_id.into(),
            content: content.into(),
        }
    }
}

/// A tool the model may call: a name, what it does, and its parameters as a JSON schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Tool {
    /// The name the model calls it by.
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// The JSON schema of its arguments (an object schema).
    pub parameters: Value,
}

impl Tool {
    /// A tool named `name`.
    pub fn new(name: impl Into<String>, description: impl Into<String>, parameters: Value) -> Self {
        Tool {
            name: name.into(),
            description: description.into(),
            parameters,
        }
    }
}

/// Whether and which tool the model must call: the `tool_choice` of a [`ChatRequest`].
///
/// ```
/// use workflow_runtime::provider::{ChatRequest, ToolChoice};
///
/// let request = ChatRequest::new().user("Weather in Paris?").tool_choice(ToolChoice::tool("weather"));
/// assert_eq!(request.tool_choice, Some(ToolChoice::Tool("weather".into())));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ToolChoice {
    /// The model decides whether to call tools.
    Auto,
    /// The model must not call tools.
    None,
    /// The model must call at least one tool (Anthropic's `any`).
    Required,
    /// The model must call the tool with this name.
    Tool(String),
}

impl ToolChoice {
    /// The model must call the tool named `name`.
    pub fn tool(name: impl Into<String>) -> Self {
        ToolChoice::Tool(name.into())
    }
}

/// The JSON schema a model's answer must follow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ResponseSchema {
    /// A name for the schema, such as `verdict`.
    pub name: String,
    /// The JSON schema.
    pub schema: Value,
    /// Whether the provider must follow the schema exactly (OpenAI's `strict`), which needs a
    /// schema with every property required and `additionalProperties: false`. Off by default.
    pub strict: bool,
}

impl ResponseSchema {
    /// The schema `schema`, named `name`, not strict.
    pub fn new(name: impl Into<String>, schema: Value) -> Self {
        ResponseSchema {
            name: name.into(),
            schema,
            strict: false,
        }
    }

    /// Sets whether the provider must follow the schema exactly.
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }
}
