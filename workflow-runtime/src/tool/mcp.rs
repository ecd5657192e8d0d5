//! Tools from [MCP](https://modelcontextprotocol.io) servers (feature `mcp`), over the
//! official Rust SDK, `rmcp`: [`McpServer`] connects to a server, over stdio or streamable
//! HTTP, and lists its tools as [`Tool`]s an agent can be given.

use std::fmt;
use std::sync::Arc;

use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::Value;

use super::{Tool, ToolError};
use crate::error::BoxError;
use crate::future::BoxFuture;
use crate::provider;

/// A connection to an MCP server, whose tools agents can call.
///
/// Connect with [`stdio`](Self::stdio) or [`http`](Self::http), list the tools with [`tools`](Self::tools), and give
/// them to an agent with [`AgentBuilder::tools`](crate::AgentBuilder::tools). The tools keep
/// the connection open; it closes when the server and every tool from it are dropped (a server
/// started with [`stdio`](Self::stdio) is then stopped).
///
/// A call whose result the server marks as an error, or that fails on the way, is a
/// [`ToolError`] the model reads. A tool's result is its structured content if it has some,
/// else its text (the text of its content blocks, joined), else its content blocks as JSON.
///
/// ```no_run
/// use workflow_runtime::tool::mcp::McpServer;
/// use workflow_runtime::Agent;
/// # async fn demo(model: std::sync::Arc<dyn workflow_runtime::provider::ChatModel>)
/// # -> Result<(), Box<dyn std::error::Error>> {
///
/// let mut command = tokio::process::Command::new("uvx");
/// command.arg("mcp-server-time");
/// let server = McpServer::stdio(command).await?;
/// let agent = Agent::builder(model).tools(server.tools().await?).build();
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct McpServer {
    name: String,
    service: Arc<RunningService<RoleClient, ()>>,
}

impl McpServer {
    /// Starts `command` and speaks MCP with it over its standard input and output (its
    /// standard error is the parent's).
    ///
    /// # Errors
    ///
    /// [`McpError`] if the command does not start, or does not answer MCP's handshake.
    pub async fn stdio(command: tokio::process::Command) -> Result<Self, McpError> {
        let name = command
            .as_std()
            .get_program()
            .to_string_lossy()
            .into_owned();
        let fail = |what: &str, source: BoxError| McpError::new(&name, what, source);
        let transport = TokioChildProcess::new(command).map_err(|error| {
            fail(
                "could not start the command; check that it exists",
                error.into(),
            )
        })?;
        let service = ().serve(transport).await.map_err(|error| {
            fail(
                "did not answer the MCP handshake on its standard output",
                error.into(),
            )
        })?;
        Ok(McpServer {
            name,
            service: Arc::new(service),
        })
    }

    /// Connects to the MCP server at `url` over streamable HTTP (such as
    /// `http://127.0.0.1:8000/mcp`).
    ///
    /// For `https`, TLS is rustls with the `ring` provider, as for the HTTP chat models: if
    /// the process has no default rustls provider yet, this installs `ring` as the default.
    ///
    /// # Errors
    ///
    /// [`McpError`] if the server cannot be reached or does not answer MCP's handshake.
    pub async fn http(url: &str) -> Result<Self, McpError> {
        // The MCP client's HTTP stack takes the process's default provider; an error says one
        // is installed already, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let transport = StreamableHttpClientTransport::from_uri(url);
        let service = ().serve(transport).await.map_err(|error| {
            let what = "did not answer the MCP handshake; check the URL and that it serves MCP";
            McpError::new(url, what, error.into())
        })?;
        Ok(McpServer {
            name: url.to_owned(),
            service: Arc::new(service),
        })
    }

    /// The server's name: the command it was started with, or its URL.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The server's tools, as it lists them.
    ///
    /// # Errors
    ///
    /// [`McpError`] if the server does not answer the listing.
    pub async fn tools(&self) -> Result<Vec<Arc<dyn Tool>>, McpError> {
        let tools =
            self.service.list_all_tools().await.map_err(|error| {
                McpError::new(&self.name, "could not list its tools", error.into())
            })?;
        let tool = |tool: rmcp::model::Tool| -> Arc<dyn Tool> {
            let description = tool.description.as_deref().unwrap_or_default();
            let parameters = Value::Object((*tool.input_schema).clone());
            Arc::new(McpTool {
                definition: provider::Tool::new(tool.name.as_ref(), description, parameters),
                server: self.clone(),
            })
        };
        Ok(tools.into_iter().map(tool).collect())
    }
}

impl fmt::Debug for McpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpServer")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// One tool of an MCP server.
struct McpTool {
    definition: provider::Tool,
    server: McpServer,
}

impl Tool for McpTool {
    fn definition(&self) -> provider::Tool {
        self.definition.clone()
    }

    fn call(&self, arguments: Value) -> BoxFuture<'_, Result<Value, ToolError>> {
        Box::pin(async move {
            let mut params = CallToolRequestParams::new(self.definition.name.clone());
            match arguments {
                Value::Object(arguments) => params = params.with_arguments(arguments),
                Value::Null => {}
                _ => return Err(ToolError::new("the arguments must be a JSON object")),
            }
            let result = self
                .server
                .service
                .call_tool(params)
                .await
                .map_err(|error| {
                    ToolError::new(format!(
                        "MCP server `{}` failed to run the tool: {error}",
                        self.server.name
                    ))
                })?;
            result_value(result)
        })
    }
}

/// What a tool's `result` says: its structured content, else its text, else its content as
/// JSON; an error if the server marked it as one.
fn result_value(result: CallToolResult) -> Result<Value, ToolError> {
    let failed = result.is_error == Some(true);
    let content = serde_json::to_value(&result.content).unwrap_or(Value::Null);
    let blocks = content.as_array().map(Vec::as_slice).unwrap_or_default();
    let texts: Vec<&str> = blocks
        .iter()
        .filter_map(|block| block.get("text").and_then(Value::as_str))
        .collect();
    let value = match result.structured_content {
        Some(structured) if !failed => structured,
        _ if !texts.is_empty() && texts.len() == blocks.len() => Value::String(texts.join("\n")),
        _ => content,
    };
    match failed {
        false => Ok(value),
        true => Err(ToolError::new(match value {
            Value::String(text) => text,
            other => other.to_string(),
        })),
    }
}

/// An MCP server could not be reached, or did not answer as MCP says.
#[derive(Debug)]
pub struct McpError {
    message: String,
    source: BoxError,
}

impl McpError {
    fn new(server: &str, what: &str, source: BoxError) -> Self {
        McpError {
            message: format!("MCP server `{server}`: {what}"),
            source,
        }
    }
}

impl fmt::Display for McpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for McpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.source.as_ref())
    }
}
