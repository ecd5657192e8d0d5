//! Opt-in: tools from an MCP server written with the official Python SDK (the PyPI package
//! `mcp`), `scripts/mcp/calculator.py`, over stdio and streamable HTTP, listed, called
//! directly and called by an agent's tool loop.
//!
//! The tests run only when `WORKFLOW_MCP_PYTHON` names a python that has `mcp`; without it
//! each returns at once, saying so. `scripts/local-model.sh mcp-test` installs the pinned
//! `mcp` into a venv under `.local-model/` and runs them; by hand:
//!
//! ```sh
//! export $(scripts/local-model.sh mcp)     # WORKFLOW_MCP_PYTHON
//! cargo test --features mcp --test mcp_python
//! ```
//!
//! Each test starts its own server and stops it before it ends: a stdio server is a child
//! process that dies with its [`McpServer`], an HTTP one is killed by a guard; both are
//! checked to be gone, by the environment variable each carries (read from `/proc`: Linux).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use workflow::prelude::*;
use workflow::provider::{Scripted, ToolCall};
use workflow::tool::mcp::McpServer;
use workflow::tool::{Tool, ToolError};

const PYTHON: &str = "WORKFLOW_MCP_PYTHON";
/// Set on each server this suite starts, to the test's name, to find it among processes.
const TAG: &str = "WORKFLOW_TEST_MCP_TAG";

/// The python that has `mcp`, or `None` (with a note) when the suite is not asked for.
fn python() -> Option<PathBuf> {
    match std::env::var_os(PYTHON).filter(|path| !path.is_empty()) {
        Some(path) => Some(PathBuf::from(path)),
        None => {
            eprintln!(
                "note: the Python MCP suite is opt-in: run `scripts/local-model.sh mcp-test`, or \
                 set {PYTHON} to a python that has the PyPI package `mcp`"
            );
            None
        }
    }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/mcp/calculator.py")
}

/// The calculator on stdio, started by `McpServer::stdio`.
async fn over_stdio(python: &Path, tag: &str) -> McpServer {
    let mut command = tokio::process::Command::new(python);
    command.arg(script()).env(TAG, tag).kill_on_drop(true);
    McpServer::stdio(command).await.expect("the server starts")
}

/// The calculator serving streamable HTTP on a loopback port; killed when dropped.
struct HttpCalculator {
    child: std::process::Child,
    url: String,
}

impl HttpCalculator {
    /// Starts it on a port that was free a moment ago, and waits (a bounded number of tries)
    /// until it accepts connections.
    async fn start(python: &Path, tag: &str) -> HttpCalculator {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let child = std::process::Command::new(python)
            .arg(script())
            .args(["--http", &port.to_string()])
            .env(TAG, tag)
            .stdin(Stdio::null())
            .spawn()
            .expect("python starts");
        let mut server = HttpCalculator {
            child,
            url: format!("http://127.0.0.1:{port}/mcp"),
        };
        for _ in 0..600 {
            if let Some(status) = server.child.try_wait().expect("its status") {
                panic!("the Python MCP server exited before it listened: {status}");
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the Python MCP server did not listen on port {port} within 60 s");
    }
}

impl Drop for HttpCalculator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The live processes (not zombies) that this suite started for the test `tag`.
fn servers_of(tag: &str) -> Vec<u32> {
    let marker = format!("{TAG}={tag}\0");
    let entries = std::fs::read_dir("/proc").expect("/proc");
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let state = stat.rsplit(") ").next().unwrap_or_default();
            !state.starts_with('Z')
                && environ
                    .windows(marker.len())
                    .any(|window| window == marker.as_bytes())
        })
        .collect()
}

/// Waits (a bounded number of tries) until no server of the test `tag` is left running.
async fn assert_stopped(tag: &str) {
    for _ in 0..300 {
        if servers_of(tag).is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("servers of `{tag}` still running: {:?}", servers_of(tag));
}

fn by_name(tools: &[Arc<dyn Tool>], name: &str) -> Arc<dyn Tool> {
    let tool = tools.iter().find(|tool| tool.definition().name == name);
    tool.expect("listed").clone()
}

/// The contents of the tool results the model got in its request number `turn`.
fn tool_results(model: &Scripted, turn: usize) -> Vec<String> {
    model.requests()[turn]
        .messages
        .iter()
        .filter_map(|message| match message {
            Message::Tool { content, .. } => Some(content.clone()),
            _ => None,
        })
        .collect()
}

async fn lists_the_tools_with_their_schemas(server: &McpServer) {
    let tools = server.tools().await.expect("listed");
    let definitions: Vec<_> = tools.iter().map(|tool| tool.definition()).collect();
    let names: Vec<&str> = definitions.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["add", "divide", "crash", "refuse"]);
    assert_eq!(definitions[0].description, "Adds two numbers.");
    assert_eq!(
        definitions[1].description,
        "Divides a by b, with the remainder."
    );
    let schema = &definitions[0].parameters;
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["required"], json!(["a", "b"]));
    assert_eq!(schema["properties"]["a"]["type"], "integer");
    assert_eq!(
        schema["properties"]["a"]["description"],
        "The first number."
    );
    assert_eq!(
        schema["properties"]["b"]["description"],
        "The second number."
    );
}

async fn calls_them_directly(server: &McpServer) {
    let tools = server.tools().await.expect("listed");
    let call = |name: &str, arguments: Value| {
        let tool = by_name(&tools, name);
        async move { tool.call(arguments).await }
    };
    // A tool without structured output: its text.
    assert_eq!(call("add", json!({"a": 2, "b": 40})).await, Ok(json!("42")));
    // A tool with structured output: that, not its text.
    assert_eq!(
        call("divide", json!({"a": 7, "b": 2})).await,
        Ok(json!({"quotient": 3, "remainder": 1}))
    );
    // A `ToolError` raised by the tool: a result marked as an error, with its message.
    assert_eq!(
        call("divide", json!({"a": 1, "b": 0})).await,
        Err(ToolError::new(
            "Error executing tool divide: cannot divide by zero"
        ))
    );
    // Any other exception: an error result that does not leak the exception's text.
    let crashed = call("crash", Value::Null).await.expect_err("fails");
    assert_eq!(crashed.message(), "Error executing tool crash");
    // A protocol error (JSON-RPC): a tool error naming the server.
    let refused = call("refuse", json!({})).await.expect_err("refused");
    assert!(
        refused.message().starts_with(&format!(
            "MCP server `{}` failed to run the tool",
            server.name()
        )) && refused.message().contains("refused on purpose"),
        "{refused}"
    );
    // Arguments that do not fit: the server's validation error, as a tool error.
    let invalid = call("add", json!({"a": "two"})).await.expect_err("invalid");
    assert!(
        invalid
            .message()
            .starts_with("Error executing tool add: 2 validation errors"),
        "{invalid}"
    );
    // Arguments that are not an object never reach the server.
    assert_eq!(
        call("add", json!([2, 40])).await,
        Err(ToolError::new("the arguments must be a JSON object"))
    );
}

async fn an_agent_calls_them_in_its_tool_loop(server: &McpServer) {
    let model = Arc::new(
        Scripted::new().replies([
            ChatResponse::new("")
                .with_tool_call(ToolCall::new("c1", "add", json!({"a": 2, "b": 40})))
                .with_tool_call(ToolCall::new("c2", "divide", json!({"a": 7, "b": 2})))
                .with_tool_call(ToolCall::new("c3", "divide", json!({"a": 1, "b": 0})))
                .with_tool_call(ToolCall::new("c4", "crash", json!({})))
                .with_tool_call(ToolCall::new("c5", "refuse", json!({})))
                .with_tool_call(ToolCall::new("c6", "add", json!({"a": "two"})))
                .with_tool_call(ToolCall::new("c7", "multiply", json!({"a": 6, "b": 7}))),
            ChatResponse::new("42, and 7 / 2 = 3 r 1."),
        ]),
    );
    let agent = Agent::builder(model.clone())
        .tools(server.tools().await.expect("listed"))
        .build();
    let answer = agent.prompt("Compute.").await.expect("answers");
    assert_eq!(answer, "42, and 7 / 2 = 3 r 1.");

    // The model was offered the server's tools.
    let offered: Vec<String> = model.requests()[0]
        .tools
        .iter()
        .map(|tool| tool.name.clone())
        .collect();
    assert_eq!(offered, ["add", "divide", "crash", "refuse"]);

    let results = tool_results(&model, 1);
    assert_eq!(results.len(), 7);
    assert_eq!(results[0], "42");
    assert_eq!(
        serde_json::from_str::<Value>(&results[1]).expect("JSON"),
        json!({"quotient": 3, "remainder": 1})
    );
    assert_eq!(
        results[2],
        "error: Error executing tool divide: cannot divide by zero"
    );
    assert_eq!(results[3], "error: Error executing tool crash");
    assert!(
        results[4].starts_with("error: MCP server `")
            && results[4].contains("failed to run the tool")
            && results[4].contains("refused on purpose"),
        "{}",
        results[4]
    );
    assert!(
        results[5].starts_with("error: Error executing tool add: 2 validation errors"),
        "{}",
        results[5]
    );
    // A tool the server does not have: the agent answers it, the server is not asked.
    assert!(
        results[6].starts_with("error: ") && results[6].contains("multiply"),
        "{}",
        results[6]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_stdio_lists_and_calls_the_tools() {
    let Some(python) = python() else { return };
    let tag = "over_stdio_lists_and_calls_the_tools";
    let server = over_stdio(&python, tag).await;
    assert_eq!(server.name(), python.to_string_lossy());
    lists_the_tools_with_their_schemas(&server).await;
    calls_them_directly(&server).await;
    assert_eq!(servers_of(tag).len(), 1, "one server runs");
    drop(server);
    assert_stopped(tag).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_stdio_an_agent_calls_them() {
    let Some(python) = python() else { return };
    let tag = "over_stdio_an_agent_calls_them";
    let server = over_stdio(&python, tag).await;
    an_agent_calls_them_in_its_tool_loop(&server).await;
    drop(server);
    assert_stopped(tag).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http_lists_and_calls_the_tools() {
    let Some(python) = python() else { return };
    let tag = "over_http_lists_and_calls_the_tools";
    let calculator = HttpCalculator::start(&python, tag).await;
    let server = McpServer::http(&calculator.url).await.expect("connects");
    assert_eq!(server.name(), calculator.url);
    lists_the_tools_with_their_schemas(&server).await;
    calls_them_directly(&server).await;
    drop(server);
    drop(calculator);
    assert_stopped(tag).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http_an_agent_calls_them() {
    let Some(python) = python() else { return };
    let tag = "over_http_an_agent_calls_them";
    let calculator = HttpCalculator::start(&python, tag).await;
    let server = McpServer::http(&calculator.url).await.expect("connects");
    an_agent_calls_them_in_its_tool_loop(&server).await;
    drop(server);
    drop(calculator);
    assert_stopped(tag).await;
}
