//! An agent with two typed tools: a trip planner looks up the weather at the destination and
//! the distance to it, each tool an async function whose arguments are a Rust type, then
//! answers. Prints each tool call (the tools print their arguments, the run's events how long
//! each took), the answer, and what each step spent. Run it with `cargo run --example tools` (the model: see
//! `examples/support/mod.rs`), or offline on a scripted model with
//! `cargo run --example tools -- --scripted`.

use std::sync::Arc;

use serde_json::json;
use workflow::event::EventKind;
use workflow::prelude::*;
use workflow::provider::{Scripted, ToolCall, ToolChoice, Usage};
use workflow::tool::{self, Tool, ToolError};

mod support;

/// The arguments of the weather tool.
#[derive(Deserialize, JsonSchema)]
struct City {
    /// The city's name, such as "Lyon".
    city: String,
}

/// The arguments of the distance tool.
#[derive(Deserialize, JsonSchema)]
struct Trip {
    /// Where the trip starts.
    from: String,
    /// Where it ends.
    to: String,
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

/// The road distance between two cities, from a table.
fn distance() -> impl Tool {
    tool::from_fn(
        "distance",
        "The road distance in kilometres between two cities.",
        |Trip { from, to }| async move {
            println!("  distance({from}, {to})");
            let km = match (from.to_lowercase().as_str(), to.to_lowercase().as_str()) {
                ("paris", "lyon") | ("lyon", "paris") => 465,
                ("paris", "brest") | ("brest", "paris") => 590,
                _ => return Err(ToolError::new(format!("no road data from {from} to {to}"))),
            };
            Ok(json!({"from": from, "to": to, "km": km}))
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

    /// Step 2: whether to go, knowing the weather and the distance from Paris.
    #[step(timeout = "300s")]
    async fn decide(&self, (city, forecast): (String, String)) -> Result<String> {
        let prompt = format!(
            "The forecast for {city}: {forecast}\nHow far is {city} from Paris, and is it worth \
             the drive tomorrow? Answer in two sentences."
        );
        let answer = self.ask(&prompt, "distance").await?;
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
            call("call_2", "distance", json!({"from": "Paris", "to": "Lyon"})),
            ChatResponse::new(
                "Lyon is 465 km from Paris. With sun and 24 °C, the drive is worth it.",
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
            .tool(distance())
            .max_turns(4)
            .build(),
    };

    let mut run = Run::new(&planner, "Lyon".to_owned());
    let mut events = run.events();
    let (report, ()) = tokio::join!(run.report(), async {
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
    support::print_usage(&report.usage);
    let answer = report.into_output()?;
    println!("\nresult: {answer}");
    Ok(())
}
