//! What the examples share: the chat model they call, and how they print what a run spent.
//!
//! The model is the one the environment configures (`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`, or
//! `OPENAI_BASE_URL` and `OPENAI_MODEL`: see `workflow::provider::ModelConfig`). With nothing
//! configured, it is the local llama.cpp server that `scripts/local-model.sh` starts, if it
//! answers; otherwise the example says in one line how to start it, and exits with status 2.

use std::sync::Arc;
use std::time::Duration;

use workflow::provider::{ChatModel, ConfigError, ModelConfig, OpenAi};
use workflow::usage::{UsageReport, UsageTotals};

/// The port of `scripts/local-model.sh`, unless `WORKFLOW_LOCAL_MODEL_PORT` says another.
const LOCAL_PORT: &str = "8089";

/// The chat model to use, or the process exits with a one-line message saying what to do.
pub(crate) async fn chat_model() -> Arc<dyn ChatModel> {
    let config = match ModelConfig::from_env() {
        Ok(config) => config,
        Err(ConfigError::NotConfigured) => local_model().await,
        Err(error) => exit(&error.to_string()),
    };
    eprintln!("model: {config}");
    config
        .build()
        .unwrap_or_else(|error| exit(&error.to_string()))
}

/// The llama.cpp server of `scripts/local-model.sh`, if it answers `GET /v1/models`.
async fn local_model() -> ModelConfig {
    let port = std::env::var("WORKFLOW_LOCAL_MODEL_PORT").unwrap_or_else(|_| LOCAL_PORT.into());
    let base_url = format!("http://127.0.0.1:{port}/v1");
    let probe = OpenAi::builder(&base_url, "")
        .timeout(Duration::from_secs(3))
        .retries(0)
        .build();
    let served = match probe {
        Ok(probe) => probe.models().await.ok(),
        Err(_) => None,
    };
    match served.as_deref().and_then(<[String]>::first) {
        Some(model) => ModelConfig::llama_cpp(base_url, model),
        None => exit(&format!(
            "no model configured and no local model at {base_url}: run `scripts/local-model.sh`, \
             then re-run (or set OPENAI_API_KEY or ANTHROPIC_API_KEY)"
        )),
    }
}

/// Prints `message` on one line of stderr and exits with status 2.
fn exit(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(2)
}

/// Prints what a run's model calls spent, per step and in total.
pub(crate) fn print_usage(report: &UsageReport) {
    println!("usage of `{}`:", report.workflow);
    for step in &report.steps {
        print_totals(step.step, &step.totals);
    }
    print_totals("total", &report.total);
}

fn print_totals(name: &str, totals: &UsageTotals) {
    let failed = match totals.failed_calls {
        0 => String::new(),
        failed => format!(" ({failed} failed)"),
    };
    let cost = match totals.cost_usd {
        cost if cost > 0.0 => format!(", ~${cost:.5}"),
        _ => String::new(),
    };
    println!(
        "  {name:<16} {calls} call(s){failed}, {input} in + {output} out tokens, {latency:.1?}{cost}",
        calls = totals.calls,
        input = totals.usage.input_tokens,
        output = totals.usage.output_tokens,
        latency = totals.latency,
    );
}
