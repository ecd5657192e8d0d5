//! [`Agent`]: a chat model with a name, a system prompt and parameters, whose calls are
//! accounted in the current run.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use crate::provider::{ChatModel, ChatRequest, ChatResponse, Usage};
use crate::scope::Call;
use crate::tool::Toolbox;
use crate::Error;

mod approve;
mod builder;
mod extract;
mod handoff;
mod replay;
mod stream;
mod turns;

pub use builder::AgentBuilder;
pub use stream::TextStream;
pub use turns::Conversation;

/// A chat model with a name, a system prompt and sampling parameters: what the steps of a
/// workflow call.
///
/// Build one with [`Agent::builder`]; clones are cheap and share everything. Ask it for text
/// with [`prompt`](Self::prompt), for a typed value with [`extract`](Self::extract), for text
/// as it is written with [`stream`](Self::stream), or send a whole [`ChatRequest`] with
/// [`chat`](Self::chat).
///
/// Inside a run, every call is recorded in the run's [`Ledger`](crate::usage::Ledger), in the step
/// that makes it, and checked against the run's [`Budget`](crate::usage::Budget); a failed call counts
/// the tokens its provider reported before it failed ([`ProviderError::usage`](crate::provider::ProviderError::usage)): see
/// [`usage`](crate::usage). Outside a run, calls are not recorded unless you open a ledger.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
///
/// use serde::Deserialize;
/// use workflow_runtime::provider::Scripted;
/// use workflow_runtime::schemars::{self, JsonSchema};
/// use workflow_runtime::{Agent, Error};
///
/// #[derive(Debug, PartialEq, Deserialize, JsonSchema)]
/// struct Verdict {
///     approved: bool,
///     feedback: String,
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Error> {
/// let model = Arc::new(
///     Scripted::new()
///         .when("Critique", r#"{"approved": false, "feedback": "too long"}"#)
///         .reply("Rust is a language that is fast, safe and, above all, very long-winded."),
/// );
/// let writer = Agent::builder(model.clone())
///     .name("writer")
///     .system("You write one-sentence drafts.")
///     .temperature(0.7)
///     .max_tokens(200)
///     .build();
/// let critic = Agent::builder(model.clone())
///     .name("critic")
///     .system("You critique drafts.")
///     .temperature(0.0)
///     .build();
///
/// let draft = writer.prompt("Write about Rust.").await?;
/// let verdict: Verdict = critic.extract(&format!("Critique: {draft}")).await?;
/// assert_eq!(verdict, Verdict { approved: false, feedback: "too long".into() });
///
/// // The critic sent its system prompt and the JSON schema derived from `Verdict`.
/// let sent = &model.requests()[1];
/// assert_eq!(sent.system.as_deref(), Some("You critique drafts."));
/// let schema = sent.response_schema.as_ref().expect("a response schema");
/// assert_eq!(schema.name, "Verdict");
/// assert_eq!(schema.schema["required"], serde_json::json!(["approved", "feedback"]));
///
/// // A reply that is not a `Verdict` is a typed error naming the agent and the type.
/// let model = Arc::new(Scripted::new().reply(r#"{"approved": "maybe"}"#));
/// let critic = Agent::builder(model).name("critic").build();
/// let error = critic.extract::<Verdict>("Critique: …").await.unwrap_err();
/// assert!(matches!(&error, Error::Extract { agent, .. } if agent == "critic"));
/// assert!(!error.is_transient());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Agent {
    inner: Arc<Inner>,
}

struct Inner {
    model: Arc<dyn ChatModel>,
    name: String,
    system: Option<String>,
    temperature: Option<f32>,
    max_tokens: Option<u32>,
    model_name: Option<String>,
    /// What the agent does, for agents that hand off to it or call it as a tool.
    description: Option<String>,
    tools: Toolbox,
    handoffs: Vec<Agent>,
    /// The tools whose calls wait for a human's approval.
    approvals: Vec<String>,
    /// The most model calls one tool loop makes.
    max_turns: u32,
}

impl Agent {
    /// Starts building an agent that calls `model`.
    pub fn builder(model: Arc<dyn ChatModel>) -> AgentBuilder {
        AgentBuilder::new(model)
    }

    /// The agent's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The system prompt, if any.
    pub fn system(&self) -> Option<&str> {
        self.inner.system.as_deref()
    }

    /// The model the agent calls.
    pub fn model(&self) -> &Arc<dyn ChatModel> {
        &self.inner.model
    }

    /// The request [`prompt`](Self::prompt) sends for `prompt`: the system prompt, `prompt` as
    /// the user message, and the agent's parameters. Add tools or messages to it and send it
    /// with [`chat`](Self::chat).
    pub fn request(&self, prompt: &str) -> ChatRequest {
        self.complete(ChatRequest::new().user(prompt))
    }

    /// Sends `prompt` and returns the text of the answer: if the agent has tools or handoffs,
    /// the answer at the end of its tool loop ([`converse`](Self::converse)).
    ///
    /// # Errors
    ///
    /// [`Error::Provider`] if a call fails; [`Error::BudgetExceeded`] if it would go, or went,
    /// past the run's budget; [`Error::ToolLimit`] if the tool loop reaches its bound.
    pub async fn prompt(&self, prompt: &str) -> Result<String, Error> {
        Ok(self.answer(self.request(prompt)).await?.text)
    }

    /// Sends `prompt` asking for an answer that follows the JSON schema derived from `T`, and
    /// reads the answer as a `T`.
    ///
    /// The schema goes in the request's [`response_schema`](ChatRequest::response_schema),
    /// named after `T`. The answer must be JSON that deserializes into `T`; a Markdown code
    /// fence around it, and raw line breaks and other control characters inside its strings
    /// (which small models write), are tolerated. If the agent has tools, the model may call
    /// them first: the value is read from the answer at the end of the tool loop.
    ///
    /// # Errors
    ///
    /// [`Error::Extract`] if the answer is not a valid `T` (not transient: the step is not
    /// retried); otherwise those of [`prompt`](Self::prompt).
    pub async fn extract<T: JsonSchema + DeserializeOwned>(
        &self,
        prompt: &str,
    ) -> Result<T, Error> {
        let request = self.request(prompt).response_schema(extract::schema::<T>());
        let response = self.answer(request).await?;
        extract::parse(&self.inner.name, &response.text)
    }

    /// Sends `prompt` and streams the text of the answer as it is written.
    ///
    /// If the agent has tools or handoffs, this is its tool loop (see
    /// [`converse`](Self::converse)) with every model turn streamed: the text of each turn
    /// (most models write none in a turn that calls tools), the tools running between turns.
    ///
    /// # Errors
    ///
    /// Those of [`prompt`](Self::prompt) when the call cannot start; errors after it started
    /// (a later turn's included, and [`Error::ToolLimit`]) are items of the stream.
    pub async fn stream(&self, prompt: &str) -> Result<TextStream, Error> {
        let request = self.request(prompt);
        if self.has_tools() {
            return Ok(self.stream_turns(request));
        }
        Ok(TextStream::new(self.start_stream(request).await?))
    }

    /// Starts streaming the answer to `request`, as sent: one accounted model call.
    async fn start_stream(&self, request: ChatRequest) -> Result<stream::Turn, Error> {
        let request = self.complete(request);
        let call = Call::begin(request.model.as_deref())?;
        match call.counting(self.inner.model.stream(request)).await {
            Ok(stream) => Ok(stream::Turn::new(stream, call)),
            Err(error) => {
                call.failed(spent(&error));
                Err(error)
            }
        }
    }

    /// Sends `request`, with the agent's system prompt, model and parameters filling in what it
    /// leaves unset, and returns the whole answer. This is one model call: the agent's tools
    /// are not added, and tool calls in the answer are not run (see
    /// [`converse`](Self::converse)).
    ///
    /// # Errors
    ///
    /// Those of [`prompt`](Self::prompt).
    pub async fn chat(&self, request: ChatRequest) -> Result<ChatResponse, Error> {
        let request = self.complete(request);
        let call = Call::begin(request.model.as_deref())?;
        match call.counting(self.inner.model.chat(request)).await {
            Ok(response) => {
                call.succeeded(&response.model, response.usage)?;
                Ok(response)
            }
            Err(error) => {
                call.failed(spent(&error));
                Err(error)
            }
        }
    }

    /// The answer to `request`: through the tool loop if the agent has tools, else from one
    /// call.
    async fn answer(&self, request: ChatRequest) -> Result<ChatResponse, Error> {
        match self.has_tools() {
            true => Ok(self.converse(request).await?.response),
            false => self.chat(request).await,
        }
    }

    fn complete(&self, mut request: ChatRequest) -> ChatRequest {
        let inner = &*self.inner;
        if request.system.is_none() {
            request.system.clone_from(&inner.system);
        }
        if request.model.is_none() {
            request.model.clone_from(&inner.model_name);
        }
        request.temperature = request.temperature.or(inner.temperature);
        request.max_tokens = request.max_tokens.or(inner.max_tokens);
        request
    }
}

/// The tokens a failed call had used, if its provider reported any: they count like those
/// of a call that succeeds.
fn spent(error: &Error) -> Option<Usage> {
    match error {
        Error::Provider(error) => error.usage(),
        _ => None,
    }
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = &*self.inner;
        f.debug_struct("Agent")
            .field("name", &inner.name)
            .field("model", &inner.model_name)
            .field("temperature", &inner.temperature)
            .field("max_tokens", &inner.max_tokens)
            .finish_non_exhaustive()
    }
}
