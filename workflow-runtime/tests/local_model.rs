//! Opt-in end to end against a real model: SmolLM2-135M-Instruct on the llama.cpp server that
//! `scripts/local-model.sh` installs and starts (node-llama-cpp's prebuilt binaries, or the
//! source build of `llama-cpp-python`), through the OpenAI-compatible provider: chat,
//! streaming, structured output and a tool call.
//!
//! The tests run only with `WORKFLOW_LOCAL_MODEL=1`; without it each returns at once, saying so.
//! With it, a server that does not answer fails them. `scripts/local-model.sh test` starts the
//! server and runs them; by hand:
//!
//! ```sh
//! export $(scripts/local-model.sh)     # OPENAI_BASE_URL, OPENAI_MODEL, OPENAI_STRUCTURED_OUTPUT
//! WORKFLOW_LOCAL_MODEL=1 cargo test -p workflow-runtime --test local_model
//! ```
//!
//! The server comes from `OPENAI_BASE_URL` (else `http://127.0.0.1:8089/v1`, the port from
//! `WORKFLOW_LOCAL_MODEL_PORT`), the model from `OPENAI_MODEL` (else the first it serves), the
//! dialect of structured output from `OPENAI_STRUCTURED_OUTPUT` (else `json_object_schema`).
//! A 135M model writes nonsense: the tests check shapes, types and accounting, not wisdom.

#![cfg(feature = "http")]

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::json;
use workflow_runtime::provider::{
    ChatModel, ChatRequest, FinishReason, Message, OpenAi, StreamEvent, StructuredOutput, Tool,
    ToolChoice,
};
use workflow_runtime::schemars::{self, JsonSchema};
use workflow_runtime::usage::Ledger;
use workflow_runtime::Agent;

/// The local model, or `None` (with a note) when the suite is not asked for.
///
/// # Panics
///
/// When it is asked for and the server does not answer: the suite must fail, not skip.
async fn local_model() -> Option<OpenAi> {
    if std::env::var("WORKFLOW_LOCAL_MODEL").as_deref() != Ok("1") {
        eprintln!(
            "note: the local-model suite is opt-in: run `scripts/local-model.sh test`, or set \
             WORKFLOW_LOCAL_MODEL=1 with the server of scripts/local-model.sh running"
        );
        return None;
    }
    let var = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    let port = var("WORKFLOW_LOCAL_MODEL_PORT").unwrap_or_else(|| "8089".to_owned());
    let base_url = var("OPENAI_BASE_URL").unwrap_or(format!("http://127.0.0.1:{port}/v1"));
    let dialect = match var("OPENAI_STRUCTURED_OUTPUT") {
        Some(name) => StructuredOutput::from_name(&name).expect("a known dialect"),
        None => StructuredOutput::JsonObjectSchema,
    };
    let builder = |model: &str| {
        OpenAi::builder(&base_url, model)
            .structured_output(dialect)
            .timeout(Duration::from_secs(120))
            .retries(0)
            .build()
            .expect("a valid OPENAI_BASE_URL")
    };
    let served = builder("").models().await.unwrap_or_else(|error| {
        panic!(
            "WORKFLOW_LOCAL_MODEL=1 but {base_url} does not answer ({error}); \
             start it with scripts/local-model.sh"
        )
    });
    let model = var("OPENAI_MODEL")
        .or_else(|| served.first().cloned())
        .expect("the server serves a model");
    Some(builder(&model))
}

#[tokio::test]
async fn plain_chat_answers_text_with_usage() {
    let Some(model) = local_model().await else {
        return;
    };
    let request = ChatRequest::new()
        .system("You are a helpful assistant.")
        .user("Say hello in one short sentence.")
        .temperature(0.0)
        .max_tokens(24);

    let response = model.chat(request).await.expect("an answer");
    assert!(!response.text.trim().is_empty(), "{response:?}");
    let usage = response.usage.expect("usage, when not streaming");
    assert!(
        usage.input_tokens > 0 && usage.output_tokens > 0,
        "{usage:?}"
    );
    assert!(
        usage.output_tokens <= 24,
        "max_tokens is honoured: {usage:?}"
    );
    assert!(
        matches!(
            response.finish_reason,
            Some(FinishReason::Stop | FinishReason::Length)
        ),
        "{response:?}"
    );
}

#[tokio::test]
async fn streamed_deltas_make_up_the_answer() {
    let Some(model) = local_model().await else {
        return;
    };
    let request = ChatRequest::new()
        .user("Name three colours.")
        .temperature(0.0)
        .max_tokens(24);

    let mut stream = model.stream(request).await.expect("the stream starts");
    let (mut deltas, mut done) = (Vec::new(), None);
    while let Some(event) = stream.next().await {
        match event.expect("no stream error") {
            StreamEvent::TextDelta(delta) => deltas.push(delta),
            StreamEvent::Done(response) => done = Some(response),
            _ => {}
        }
    }
    let text = deltas.concat();
    assert!(deltas.len() > 1, "streamed in pieces: {deltas:?}");
    assert!(!text.trim().is_empty());
    let done = done.expect("a Done event");
    assert_eq!(done.text, text);
    // No check of usage: the llama-cpp-python server sends none while streaming.
}

/// What the extraction asks for: a closed set and a bounded string, so that a 135M model's
/// grammar-constrained answer is complete within a few tokens.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Sentiment {
    Positive,
    Negative,
    Neutral,
}

#[derive(Debug, Deserialize, JsonSchema)]
struct Review {
    sentiment: Sentiment,
    #[schemars(length(max = 40))]
    summary: String,
    /// Any `u8`: the llama-cpp-python server's grammar does not enforce `minimum` and `maximum`.
    stars: u8,
}

#[tokio::test]
async fn extract_returns_a_typed_value_and_accounts_the_call() {
    let Some(model) = local_model().await else {
        return;
    };
    let agent = Agent::builder(Arc::new(model))
        .name("reviewer")
        .system("You read restaurant reviews and answer in JSON.")
        .temperature(0.0)
        .max_tokens(80)
        .build();
    let ledger = Ledger::new("local-model");

    let prompt = "Review: The food was great and the staff were kind. Five stars.";
    let review: Review = ledger
        .scope(agent.extract(prompt))
        .await
        .expect("a valid Review");
    // Deserializing checked the enum and the integer; the grammar bounds the string.
    assert!(review.summary.chars().count() <= 40, "{review:?}");
    let Review {
        sentiment, stars, ..
    } = &review;
    println!("{sentiment:?}, {stars} stars: {}", review.summary);

    let report = ledger.report();
    assert_eq!((report.total.calls, report.total.failed_calls), (1, 0));
    assert!(report.total.usage.input_tokens > 0, "{report:?}");
}

#[tokio::test]
async fn a_named_tool_is_called_and_its_result_answered() {
    let Some(model) = local_model().await else {
        return;
    };
    let weather = Tool::new(
        "get_weather",
        "Gets the current weather of a city.",
        json!({"type": "object", "properties": {"city": {"type": "string"}},
               "required": ["city"]}),
    );
    let question = ChatRequest::new()
        .user("What is the weather in Paris?")
        .tool(weather.clone())
        // A 135M model calls a tool reliably only when it is named (and the llama-cpp-python
        // server honours tools only then).
        .tool_choice(ToolChoice::tool("get_weather"))
        .temperature(0.0)
        .max_tokens(48);

    let response = model.chat(question.clone()).await.expect("a tool call");
    assert_eq!(response.finish_reason, Some(FinishReason::ToolCalls));
    let [call] = &response.tool_calls[..] else {
        panic!("one tool call: {response:?}");
    };
    assert_eq!(call.name, "get_weather");
    assert!(call.arguments["city"].is_string(), "{call:?}");
    assert!(!call.id.is_empty());

    // The result goes back; the assistant's tool-call message is sent with `"content": ""`.
    let mut follow_up = question;
    follow_up.tool_choice = None;
    let follow_up = follow_up
        .message(response.to_message())
        .message(Message::tool_result(
            &call.id,
            r#"{"sky": "sunny", "celsius": 21}"#,
        ))
        .max_tokens(32);
    let answer = model.chat(follow_up).await.expect("an answer");
    assert!(!answer.text.trim().is_empty(), "{answer:?}");
}
