//! Handoffs: a triage agent reads a customer's message and hands the conversation to the
//! specialist it belongs to (billing or technical support), who answers with tools of its own.
//! Prints who handled each message and the answer. Run it with `cargo run --example handoff`
//! (the model: see `examples/support/mod.rs`), or offline on a scripted model with
//! `cargo run --example handoff -- --scripted`.
//!
//! A small local model may answer a message itself rather than hand it off: the triage agent
//! asks for a tool call on its first turn, which the llama.cpp server honours only when one
//! tool is named.

use std::sync::Arc;

use serde_json::json;
use workflow::event::EventKind;
use workflow::prelude::*;
use workflow::provider::{Scripted, ToolCall, ToolChoice};
use workflow::tool::{self, Tool, ToolError};

mod support;

/// The arguments of the invoice tool.
#[derive(Deserialize, JsonSchema)]
struct Invoice {
    /// The invoice number, such as "INV-7".
    number: String,
}

/// Looks an invoice up (a real tool would query the billing system).
fn invoice() -> impl Tool {
    tool::from_fn(
        "invoice",
        "An invoice's amount and status, by number.",
        |Invoice { number }| async move {
            match number.as_str() {
                "INV-7" => Ok(json!({"number": number, "amount_eur": 49, "charged": 2})),
                _ => Err(ToolError::new(format!("no invoice {number}"))),
            }
        },
    )
}

/// The workflow: each message goes to triage, which hands it on.
struct Desk {
    triage: Agent,
}

#[workflow]
impl Desk {
    /// The one step: the conversation, and who ended up answering it.
    #[step(timeout = "300s")]
    async fn handle(&self, message: String) -> Result<(String, String)> {
        let request = self.triage.request(&message);
        let conversation = self
            .triage
            .converse(request.tool_choice(ToolChoice::Required));
        let conversation = conversation.await?;
        let answer = conversation.response.text.trim().to_owned();
        Ok((conversation.agent, answer))
    }

    flow! {
        start -> handle -> end;
    }
}

/// A model that hands off and answers like a capable one would, for `--scripted`.
fn scripted() -> Arc<dyn ChatModel> {
    let call = |name: &str, arguments| {
        ChatResponse::new("").with_tool_call(ToolCall::new("call_1", name, arguments))
    };
    Arc::new(Scripted::new().replies([
        call("transfer_to_billing", json!({})),
        call("invoice", json!({"number": "INV-7"})),
        ChatResponse::new("INV-7 was charged twice; the second €49 is refunded."),
        call("transfer_to_support", json!({})),
        ChatResponse::new("Update to version 2.1, which fixes that crash."),
    ]))
}

#[tokio::main]
async fn main() -> Result<()> {
    let offline = std::env::args().any(|arg| arg == "--scripted");
    let model = match offline {
        true => scripted(),
        false => support::chat_model().await,
    };
    let agent = |name: &str| Agent::builder(model.clone()).name(name).max_tokens(120);
    let billing = agent("billing")
        .description("Handles payments, invoices and refunds.")
        .system("You are the billing specialist. Look invoices up before answering.")
        .tool(invoice())
        .build();
    let support = agent("support")
        .description("Handles crashes, bugs and how-to questions.")
        .system("You are the technical support specialist. Answer in one or two sentences.")
        .build();
    let triage = agent("triage")
        .system("You route each customer message to the right specialist; never answer it.")
        .handoff(billing)
        .handoff(support)
        .build();
    let desk = Desk { triage };

    let messages = [
        "I was charged twice for invoice INV-7.",
        "The app crashes when I open settings.",
    ];
    for message in messages {
        println!("customer: {message}");
        let mut run = Run::new(&desk, message.to_owned());
        let mut events = run.events();
        let (report, ()) = tokio::join!(run.report(), async {
            while let Some(event) = events.recv().await {
                if let EventKind::ToolCalled { agent, tool, .. } = event.kind {
                    println!("  {agent} calls {tool}");
                }
            }
        });
        support::print_usage(&report.usage);
        let (agent, answer) = report.into_output()?;
        println!("{agent}: {answer}\n");
    }
    Ok(())
}
