//! An agent with two typed tools, one needing a human's approval, in a durable run on
//! SQLite: a trip planner looks up the weather at the destination (`weather`, which runs
//! freely), then books a seat (`book`, which waits for a human). Each tool is an async
//! function whose arguments are a Rust type. The run suspends at the call to `book`, showing
//! it (the tool and its arguments); the example then gives the decision, and the step goes on
//! without asking the model again for the turns it had answered. Prints each tool call (the
//! tools print their arguments, the run's events how long each took), the pause, the answer,
//! and what the run spent.
//!
//! ```sh
//! cargo run --example tools                           # a real model: see examples/support/mod.rs
//! cargo run --example tools -- --scripted             # offline, on a scripted model
//! cargo run --example tools -- --scripted --deny "too far"
//! cargo run --example tools -- --scripted --edit '{"from": "Paris", "to": "Lyon", "class": "second"}'
//! ```
//!
//! The decision is allowed unless `--deny REASON` or `--edit JSON` says otherwise. Without
//! this code, `workflow show RUN` shows the pending call and `workflow answer RUN '"allow"'`
//! records the decision for a worker. The database is a new file under the system's
//! temporary directory.

use std::sync::Arc;

use serde_json::json;
use workflow::event::EventKind;
use workflow::prelude::*;
use workflow::provider::{Scripted, ToolCall, ToolChoice, Usage};
use workflow::tool::{self, Tool, ToolError};
use workflow::{Approval, SqliteStore};

mod support;

/// The arguments of the weather tool.
#[derive(Deserialize, JsonSchema)]
struct City {
    /// The city's name, such as "Lyon".
    city: String,
}

/// Tomorrow's weather, from a table (a real tool would call a weather service).
fn weather() -> impl Tool {
    tool::from_fn(
        "weather",
        "Tomorrow's weather in a city.",
        |City { city }| async move {
            println!("  weather({city})");
            let (sky, celsius) = match city.to_lowercase().as_str() {
                "lyon" => ("sunny", 24),
                "paris" => ("cloudy", 18),
                "brest" => ("rainy", 14),
                _ => return Err(ToolError::new(format!("no forecast for {city}; try Lyon"))),
            };
            Ok(json!({"city": city, "sky": sky, "celsius": celsius}))
        },
    )
}

/// The arguments of the booking tool.
#[derive(Deserialize, JsonSchema)]
struct Seat {
    /// Where the trip starts.
    from: String,
    /// Where it ends.
    to: String,
    /// `first` or `second`.
    class: String,
}

/// Books a seat on tomorrow's train (a real tool would call a booking service): a side effect
/// a human approves first.
fn book() -> impl Tool {
    tool::from_fn(
        "book",
        "Books a seat on tomorrow's train between two cities.",
        |Seat { from, to, class }| async move {
            println!("  book({from}, {to}, {class})");
            if class != "first" && class != "second" {
                return Err(ToolError::new("the class is `first` or `second`"));
            }
            Ok(json!({"from": from, "to": to, "class": class, "seat": "12A"}))
        },
    )
}

/// The workflow: one agent with both tools, asked twice.
struct Planner {
    agent: Agent,
}

#[workflow]
impl Planner {
    /// Step 1: what the weather will be at the destination.
    #[step(timeout = "300s")]
    async fn forecast(&self, city: String) -> Result<(String, String)> {
        let prompt = format!("What will the weather be like in {city} tomorrow?");
        let answer = self.ask(&prompt, "weather").await?;
        Ok((city, answer.trim().to_owned()))
    }

    /// Step 2: book a seat if the weather is worth the trip: the call waits for a human.
    #[step(timeout = "300s")]
    async fn decide(&self, (city, forecast): (String, String)) -> Result<String> {
        let prompt = format!(
            "The forecast for {city}: {forecast}\nIf it is worth a day trip from Paris, book a \
             second-class seat from Paris to {city}, then say what you did in one sentence."
        );
        let answer = self.ask(&prompt, "book").await?;
        Ok(answer.trim().to_owned())
    }

    flow! {
        start -> forecast -> decide -> end;
    }
}

impl Planner {
    /// Asks the agent, making its first turn call `tool`: the llama.cpp server of the local
    /// model calls tools only when one is named. Later turns are free to answer.
    async fn ask(&self, prompt: &str, tool: &str) -> Result<String> {
        let request = self
            .agent
            .request(prompt)
            .tool_choice(ToolChoice::tool(tool));
        Ok(self.agent.converse(request).await?.response.text)
    }
}

/// A model that answers like a capable one would, for `--scripted`.
fn scripted() -> Arc<dyn ChatModel> {
    let call = |id: &str, name: &str, arguments| {
        ChatResponse::new("")
            .with_tool_call(ToolCall::new(id, name, arguments))
            .with_usage(Usage::new(180, 20))
    };
    Arc::new(
        Scripted::new().replies([
            call("call_1", "weather", json!({"city": "Lyon"})),
            ChatResponse::new("Sunny and 24 °C in Lyon tomorrow.").with_usage(Usage::new(230, 12)),
            call(
                "call_2",
                "book",
                json!({"from": "Paris", "to": "Lyon", "class": "first"}),
            ),
            ChatResponse::new(
                "Sunny in Lyon tomorrow; the booking tool said how the booking went.",
            )
            .with_usage(Usage::new(260, 25)),
        ]),
    )
}

#[tokio::main]
async fn main() -> Result<()> {
    let model = match std::env::args().any(|arg| arg == "--scripted") {
        true => scripted(),
        false => support::chat_model().await,
    };
    let planner = Planner {
        agent: Agent::builder(model)
            .name("planner")
            .system("You plan day trips. Use the tools for facts; never invent them.")
            .temperature(0.2)
            .max_tokens(120)
            .tool(weather())
            .tool(book())
            .needs_approval("book")
            .max_turns(4)
            .build(),
    };

    let dir = std::env::temp_dir().join(format!("workflow-tools-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(Error::other)?;
    let runner = Runner::new(Arc::new(SqliteStore::open(dir.join("runs.sqlite3"))?));
    let mut events = runner.subscribe();
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            // Events name the tool and say how it went; the arguments and results are the
            // tools' own business (printed by them above), as prompts are the agent's.
            if let EventKind::ToolFinished {
                tool,
                elapsed,
                error,
                ..
            } = event.kind
            {
                match error {
                    Some(error) => println!("[{tool}] failed after {elapsed:?}: {error}"),
                    None => println!("[{tool}] answered in {elapsed:?}"),
                }
            }
        }
    });

    let mut report = runner.start(&planner, "Lyon".to_owned()).await?;
    while let Outcome::Suspended(pause) = &report.outcome {
        let token = pause.token().expect("a durable run's pause has a token");
        println!(
            "\n{} waits in step `{}` for a human: {}",
            report.id, pause.step, pause.payload
        );
        println!(
            "  (workflow show {} shows it; workflow answer {} '\"allow\"' answers it)",
            report.id, report.id
        );
        let decision = decision()?;
        println!("decision: {decision:?}\n");
        report = runner.approve(&planner, token, decision).await?;
    }
    support::print_usage(&report.usage);
    let answer = report.into_output()?;
    println!("\nresult: {answer}");
    Ok(())
}

/// The decision the command line gives: `--deny REASON`, `--edit JSON`, or allow.
fn decision() -> Result<Approval> {
    let args: Vec<String> = std::env::args().collect();
    let after = |flag: &str| {
        let at = args.iter().position(|arg| arg == flag)?;
        args.get(at + 1).cloned()
    };
    if let Some(reason) = after("--deny") {
        return Ok(Approval::Deny { reason });
    }
    if let Some(json) = after("--edit") {
        let arguments = serde_json::from_str(&json).map_err(Error::other)?;
        return Ok(Approval::Edit { arguments });
    }
    Ok(Approval::Allow)
}
