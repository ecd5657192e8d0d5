//! Tools an [`Agent`](crate::Agent) lets its model call: the [`Tool`] trait, [`ToolError`],
//! and [`from_fn`], which makes a typed tool of an async function.
//!
//! A tool has a definition (a name, a description for the model, and the JSON schema of its
//! arguments) and is called with the arguments the model wrote, as JSON. It answers with JSON,
//! or with a [`ToolError`] that goes back to the model as the call's result, so the model can
//! correct itself: a tool error never fails the step. See [`AgentBuilder::tool`] for the loop
//! that calls them.
//!
//! [`AgentBuilder::tool`]: crate::AgentBuilder::tool

use std::fmt;

use serde_json::Value;

use crate::future::BoxFuture;
use crate::provider;

mod function;
#[cfg(feature = "mcp")]
pub mod mcp;
mod toolbox;

pub use function::{from_fn, FnTool};
pub(crate) use toolbox::{content, Toolbox};

/// A tool a model may call: its [`definition`](Tool::definition), and [`call`](Tool::call).
///
/// The trait is dyn-compatible; agents hold tools as `Arc<dyn Tool>`. Most tools are made with
/// [`from_fn`], which derives the schema from a Rust type; implement the trait for a tool whose
/// schema is only known at run time (a tool of a remote server, say).
///
/// # Example
///
/// A tool that adds the numbers it is given, written by hand:
///
/// ```
/// use serde_json::{json, Value};
/// use workflow_runtime::provider;
/// use workflow_runtime::tool::{Tool, ToolError};
/// use workflow_runtime::BoxFuture;
///
/// struct Sum;
///
/// impl Tool for Sum {
///     fn definition(&self) -> provider::Tool {
///         let schema = json!({
///             "type": "object",
///             "properties": {"numbers": {"type": "array", "items": {"type": "number"}}},
///             "required": ["numbers"]
///         });
///         provider::Tool::new("sum", "Adds numbers.", schema)
///     }
///
///     fn call(&self, arguments: Value) -> BoxFuture<'_, Result<Value, ToolError>> {
///         Box::pin(async move {
///             let numbers = arguments["numbers"]
///                 .as_array()
///                 .ok_or_else(|| ToolError::new("`numbers` must be a list of numbers"))?;
///             let sum: f64 = numbers.iter().filter_map(Value::as_f64).sum();
///             Ok(json!(sum))
///         })
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// assert_eq!(Sum.call(json!({"numbers": [1, 2.5]})).await.unwrap(), json!(3.5));
/// let error = Sum.call(json!({})).await.unwrap_err();
/// assert_eq!(error.to_string(), "`numbers` must be a list of numbers");
/// # }
/// ```
pub trait Tool: Send + Sync + 'static {
    /// The tool's name, what it does, and the JSON schema of its arguments (an object
    /// schema), as the model sees them. Read once, when the tool is given to an agent.
    fn definition(&self) -> provider::Tool;

    /// Calls the tool with the `arguments` the model wrote.
    ///
    /// # Errors
    ///
    /// A [`ToolError`] when the call cannot be done: the model receives its message as the
    /// call's result.
    fn call(&self, arguments: Value) -> BoxFuture<'_, Result<Value, ToolError>>;
}

impl<T: Tool + ?Sized> Tool for std::sync::Arc<T> {
    fn definition(&self) -> provider::Tool {
        (**self).definition()
    }

    fn call(&self, arguments: Value) -> BoxFuture<'_, Result<Value, ToolError>> {
        (**self).call(arguments)
    }
}

/// Why a tool call failed, told to the model as the call's result.
///
/// Make one with [`ToolError::new`], or let `?` convert any error into one (its message is the
/// error's, followed by its sources). Write messages for the model: what was wrong, and what
/// to do instead.
///
/// ```
/// use workflow_runtime::tool::ToolError;
///
/// fn parse(text: &str) -> Result<u32, ToolError> {
///     Ok(text.parse::<u32>()?)
/// }
/// assert_eq!(parse("x").unwrap_err().message(), "invalid digit found in string");
/// assert_eq!(ToolError::new("no such city").to_string(), "no such city");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolError {
    message: String,
}

impl ToolError {
    /// An error with `message`, for the model.
    pub fn new(message: impl Into<String>) -> Self {
        ToolError {
            message: message.into(),
        }
    }

    /// The message the model receives.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl<E: std::error::Error + 'static> From<E> for ToolError {
    fn from(error: E) -> Self {
        ToolError {
            message: crate::error::describe(&error),
        }
    }
}
