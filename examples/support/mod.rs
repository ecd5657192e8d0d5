//! What the agent examples share: the chat model they call, and how they print what it spent.
//!
//! The model, from the environment: Anthropic with `ANTHROPIC_API_KEY` (`ANTHROPIC_MODEL`,
//! `claude-haiku-4-5` by default); an OpenAI-compatible server with `OPENAI_API_KEY` and/or
//! `OPENAI_BASE_URL` (`OPENAI_MODEL`, `gpt-4o-mini` by default); otherwise the local model
//! `scripts/local-model.sh` starts on `127.0.0.1:8089`.

use std::sync::Arc;

use workflow::provider::{Anthropic, ChatModel, OpenAi};
use workflow::UsageReport;

/// The model the examples' agents call: see the module's docs.
pub(crate) async fn chat_model() -> Arc<dyn ChatModel> {
    let var = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    let built = if let Some(key) = var("ANTHROPIC_API_KEY") {
        let model = var("ANTHROPIC_MODEL").unwrap_or_else(|| "claude-haiku-4-5".into());
        Anthropic::builder(key, model)
            .build()
            .map(|m| Arc::new(m) as Arc<dyn ChatModel>)
    } else if var("OPENAI_API_KEY").is_some() || var("OPENAI_BASE_URL").is_some() {
        let url = var("OPENAI_BASE_URL").unwrap_or_else(|| "https://api.openai.com/v1".into());
        let model = var("OPENAI_MODEL").unwrap_or_else(|| "gpt-4o-mini".into());
        let mut builder = OpenAi::builder(url, model);
        if let Some(key) = var("OPENAI_API_KEY") {
            builder = builder.api_key(key);
        }
        builder.build().map(|m| Arc::new(m) as Arc<dyn ChatModel>)
    } else {
        let model = var("OPENAI_MODEL").unwrap_or_else(|| "local".into());
        OpenAi::builder("http://127.0.0.1:8089/v1", model)
            .name("local model (scripts/local-model.sh)")
            .build()
            .map(|m| Arc::new(m) as Arc<dyn ChatModel>)
    };
    built.unwrap_or_else(|error| {
        eprintln!("cannot set up the model: {error}");
        std::process::exit(2)
    })
}

/// Prints what the run's model calls spent, per step and in total.
pub(crate) fn print_usage(usage: &UsageReport) {
    for step in &usage.steps {
        let totals = &step.totals;
        println!(
            "[usage] {:<12} {} call(s), {} tokens in, {} out",
            step.step, totals.calls, totals.usage.input_tokens, totals.usage.output_tokens
        );
    }
    let total = &usage.total;
    println!(
        "[usage] total        {} call(s), {} tokens, ${:.6}",
        total.calls,
        total.usage.total_tokens(),
        total.cost_usd
    );
}
