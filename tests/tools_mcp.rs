//! Tools from a real MCP server, over stdio and streamable HTTP: this test binary is also the
//! server. Started with `WORKFLOW_TEST_MCP_SERVE=1`, it serves on stdio, with the official SDK
//! `rmcp`, a calculator whose tools add numbers, answer with structured content, fail, and
//! reject a call with a protocol error; otherwise it runs the tests, which start it as a child
//! process, or serve it over HTTP on loopback.
//!
//! The binary has no libtest harness (`harness = false`): libtest would write to standard
//! output, which is the MCP channel of the server.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::model::{ServerCapabilities, ServerConfig};
use rmcp::{tool, tool_handler, tool_router, ErrorData, ServerHandler, ServiceExt};
use serde_json::json;
use workflow::prelude::*;
use workflow::provider::{Scripted, ToolCall, Usage};
use workflow::tool::mcp::McpServer;

const SERVE: &str = "WORKFLOW_TEST_MCP_SERVE";

#[derive(Debug, Deserialize, JsonSchema)]
struct Pair {
    /// The first number.
    a: i64,
    /// The second number.
    b: i64,
}

#[derive(Debug, Serialize, JsonSchema)]
struct Quotient {
    quotient: i64,
    remainder: i64,
}

#[derive(Clone)]
struct Calculator;

#[tool_router]
impl Calculator {
    #[tool(description = "Adds two numbers.")]
    fn add(&self, Parameters(Pair { a, b }): Parameters<Pair>) -> String {
        (a + b).to_string()
    }

    #[tool(description = "Divides a by b, with the remainder.")]
    fn divide(
        &self,
        Parameters(Pair { a, b }): Parameters<Pair>,
    ) -> Result<Json<Quotient>, String> {
        match b {
            0 => Err("cannot divide by zero".to_owned()),
            b => Ok(Json(Quotient {
                quotient: a / b,
                remainder: a % b,
            })),
        }
    }

    #[tool(description = "Always refuses, with a protocol error.")]
    fn refuse(&self) -> Result<String, ErrorData> {
        Err(ErrorData::invalid_params("refused on purpose", None))
    }
}

#[tool_handler]
impl ServerHandler for Calculator {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

async fn serve() {
    let server = Calculator
        .serve(rmcp::transport::stdio())
        .await
        .expect("the client connects");
    let _ = server.waiting().await;
}

/// The calculator, served over streamable HTTP on loopback by `rmcp` and `hyper`: its URL.
async fn calculator_over_http() -> String {
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
    use rmcp::transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService,
    };

    let service = StreamableHttpService::new(
        || Ok(Calculator),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = service.clone();
            let handle = hyper::service::service_fn(move |request| {
                let service = service.clone();
                async move { Ok::<_, std::convert::Infallible>(service.handle(request).await) }
            });
            tokio::spawn(async move {
                let io = hyper_util::rt::TokioIo::new(stream);
                let connection = hyper::server::conn::http1::Builder::new();
                let _ = connection.serve_connection(io, handle).await;
            });
        }
    });
    format!("http://{address}/mcp")
}

async fn tools_over_http() {
    let url = calculator_over_http().await;
    let server = McpServer::http(&url).await.expect("connects");
    assert_eq!(server.name(), url);
    let tools = server.tools().await.expect("listed");
    assert_eq!(tools.len(), 3);
    let model = Arc::new(
        Scripted::new().replies([
            ChatResponse::new("")
                .with_tool_call(ToolCall::new("c1", "add", json!({"a": 20, "b": 22})))
                .with_tool_call(ToolCall::new("c2", "divide", json!({"a": 1, "b": 0}))),
            ChatResponse::new("42."),
        ]),
    );
    let agent = Agent::builder(model.clone()).tools(tools).build();
    assert_eq!(agent.prompt("Add.").await.expect("answers"), "42.");
    let results: Vec<Message> = model.requests()[1].messages[2..].to_vec();
    assert_eq!(
        results,
        [
            Message::tool_result("c1", "42"),
            Message::tool_result("c2", "error: cannot divide by zero")
        ]
    );
}

async fn a_url_that_does_not_serve_mcp_is_a_typed_error() {
    // A port that was free a moment ago: nothing answers there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/mcp", listener.local_addr().expect("address"));
    drop(listener);
    let error = McpServer::http(&url).await.expect_err("nothing there");
    assert_eq!(
        error.to_string(),
        format!(
            "MCP server `{url}`: did not answer the MCP handshake; check the URL and that it \
             serves MCP"
        )
    );
}

/// An `https` URL gets a TLS client (rustls with the `ring` provider the HTTP providers use,
/// not a second one): a server that drops the handshake is a typed error, never a panic.
async fn an_https_url_gets_tls() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("https://{}/mcp", listener.local_addr().expect("address"));
    let accepted = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.expect("a connection");
        drop(socket);
    });
    let error = McpServer::http(&url).await.expect_err("no TLS there");
    assert!(
        error
            .to_string()
            .starts_with(&format!("MCP server `{url}`")),
        "{error}"
    );
    accepted.await.expect("the client connected");
}

/// This binary, as an MCP server on stdio.
async fn calculator() -> McpServer {
    let mut command = tokio::process::Command::new(std::env::current_exe().expect("exe"));
    command.env(SERVE, "1");
    McpServer::stdio(command).await.expect("the server starts")
}

async fn lists_the_tools_with_their_schemas() {
    let server = calculator().await;
    let tools = server.tools().await.expect("listed");
    let definitions: Vec<_> = tools.iter().map(|tool| tool.definition()).collect();
    let names: Vec<&str> = definitions.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["add", "divide", "refuse"]);
    assert_eq!(definitions[0].description, "Adds two numbers.");
    let schema = &definitions[0].parameters;
    assert_eq!(schema["type"], "object");
    assert_eq!(
        schema["properties"]["a"]["description"],
        "The first number."
    );
}

async fn an_agent_calls_them_in_its_tool_loop() {
    let server = calculator().await;
    let model = Arc::new(
        Scripted::new().replies([
            ChatResponse::new("")
                .with_tool_call(ToolCall::new("c1", "add", json!({"a": 2, "b": 40})))
                .with_tool_call(ToolCall::new("c2", "divide", json!({"a": 7, "b": 2})))
                .with_tool_call(ToolCall::new("c3", "divide", json!({"a": 1, "b": 0})))
                .with_tool_call(ToolCall::new("c4", "refuse", json!({})))
                .with_tool_call(ToolCall::new("c5", "add", json!({"a": "two"})))
                .with_usage(Usage::new(1, 1)),
            ChatResponse::new("42, and 7 / 2 = 3 r 1."),
        ]),
    );
    let agent = Agent::builder(model.clone())
        .tools(server.tools().await.expect("listed"))
        .build();
    let answer = agent.prompt("Compute.").await.expect("answers");
    assert_eq!(answer, "42, and 7 / 2 = 3 r 1.");

    let results: Vec<String> = model.requests()[1]
        .messages
        .iter()
        .filter_map(|message| match message {
            Message::Tool { content, .. } => Some(content.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(results[0], "42");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&results[1]).expect("JSON"),
        json!({"quotient": 3, "remainder": 1})
    );
    assert_eq!(results[2], "error: cannot divide by zero");
    assert!(
        results[3].starts_with("error: MCP server `")
            && results[3].contains("failed to run the tool")
            && results[3].contains("refused on purpose"),
        "{}",
        results[3]
    );
    // The server rejects arguments that do not fit, as a tool error the model reads.
    assert!(
        results[4].starts_with("error: ") && results[4].contains("expected i64"),
        "{}",
        results[4]
    );
}

async fn a_command_that_is_not_there_is_a_typed_error() {
    let command = tokio::process::Command::new("/nonexistent/mcp-server");
    let error = McpServer::stdio(command)
        .await
        .expect_err("no such command");
    assert_eq!(
        error.to_string(),
        "MCP server `/nonexistent/mcp-server`: could not start the command; check that it exists"
    );
    assert!(std::error::Error::source(&error).is_some());
}

async fn a_command_that_does_not_speak_mcp_is_a_typed_error() {
    let mut command = tokio::process::Command::new("sh");
    command.args(["-c", "echo not json; exit 0"]);
    let error = McpServer::stdio(command).await.expect_err("not MCP");
    assert!(
        error
            .to_string()
            .ends_with("did not answer the MCP handshake on its standard output"),
        "{error}"
    );
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

type Test = (&'static str, fn() -> Pin<Box<dyn Future<Output = ()>>>);

fn main() {
    if std::env::var_os(SERVE).is_some() {
        runtime().block_on(serve());
        return;
    }
    let tests: [Test; 7] = [
        (
            "an_https_url_gets_tls",
            || Box::pin(an_https_url_gets_tls()),
        ),
        ("tools_over_http", || Box::pin(tools_over_http())),
        ("a_url_that_does_not_serve_mcp_is_a_typed_error", || {
            Box::pin(a_url_that_does_not_serve_mcp_is_a_typed_error())
        }),
        ("lists_the_tools_with_their_schemas", || {
            Box::pin(lists_the_tools_with_their_schemas())
        }),
        ("an_agent_calls_them_in_its_tool_loop", || {
            Box::pin(an_agent_calls_them_in_its_tool_loop())
        }),
        ("a_command_that_is_not_there_is_a_typed_error", || {
            Box::pin(a_command_that_is_not_there_is_a_typed_error())
        }),
        ("a_command_that_does_not_speak_mcp_is_a_typed_error", || {
            Box::pin(a_command_that_does_not_speak_mcp_is_a_typed_error())
        }),
    ];
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let (mut passed, mut failed) = (0, 0);
    for (name, test) in tests {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let outcome = std::panic::catch_unwind(|| {
            let limit = std::time::Duration::from_secs(60);
            runtime().block_on(async { tokio::time::timeout(limit, test()).await })
        });
        match outcome {
            Ok(Ok(())) => {
                passed += 1;
                println!("test {name} ... ok");
            }
            Ok(Err(_)) => {
                failed += 1;
                println!("test {name} ... FAILED (timed out)");
            }
            Err(_) => {
                failed += 1;
                println!("test {name} ... FAILED");
            }
        }
    }
    println!("\n{passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}
