//! `Agent`: what it sends (system prompt, parameters, response schema), `prompt`, `chat`,
//! `extract` (valid, fenced, not JSON, JSON of the wrong shape), and streaming (deltas, usage,
//! a stream that fails or ends early).

use std::sync::Arc;

use futures_util::{stream, StreamExt, TryStreamExt};
use serde::Deserialize;
use serde_json::json;
use workflow_runtime::provider::{
    ChatModel, ChatRequest, ChatResponse, ChatStream, Message, ProviderError, ProviderErrorKind,
    Scripted, StreamEvent, Usage,
};
use workflow_runtime::schemars::{self, JsonSchema};
use workflow_runtime::usage::Ledger;
use workflow_runtime::{Agent, BoxFuture, Error};

#[derive(Debug, PartialEq, Deserialize, JsonSchema)]
struct Verdict {
    approved: bool,
    feedback: String,
}

fn agent(model: &Arc<Scripted>) -> Agent {
    Agent::builder(model.clone())
        .name("critic")
        .system("You critique drafts.")
        .temperature(0.2)
        .max_tokens(300)
        .model("small-1")
        .build()
}

fn only_request(model: &Scripted) -> ChatRequest {
    let mut requests = model.requests();
    assert_eq!(requests.len(), 1, "one request");
    requests.remove(0)
}

#[tokio::test]
async fn prompt_sends_the_system_prompt_and_parameters_and_returns_the_text() {
    let model = Arc::new(Scripted::new().reply("looks good"));
    let critic = agent(&model);
    assert_eq!(
        critic.prompt("a draft").await.expect("scripted"),
        "looks good"
    );

    let sent = only_request(&model);
    assert_eq!(sent.system.as_deref(), Some("You critique drafts."));
    assert_eq!(sent.messages, [Message::user("a draft")]);
    assert_eq!(
        (sent.temperature, sent.max_tokens, sent.model.as_deref()),
        (Some(0.2), Some(300), Some("small-1"))
    );
    assert_eq!(sent.response_schema, None);
    assert_eq!(critic.name(), "critic");
    assert_eq!(critic.system(), Some("You critique drafts."));
}

#[tokio::test]
async fn an_agent_without_settings_leaves_them_to_the_provider() {
    let model = Arc::new(Scripted::new().reply("hi"));
    let plain = Agent::builder(model.clone()).build();
    plain.prompt("hello").await.expect("scripted");
    let sent = only_request(&model);
    assert_eq!(
        (sent.system, sent.temperature, sent.max_tokens, sent.model),
        (None, None, None, None)
    );
    assert_eq!(plain.name(), "agent");
}

#[tokio::test]
async fn chat_fills_in_only_what_the_request_leaves_unset() {
    let model = Arc::new(Scripted::new().reply("ok"));
    let critic = agent(&model);
    let request = ChatRequest::new()
        .system("Be terse.")
        .temperature(1.0)
        .user("first")
        .message(Message::assistant("answer"))
        .user("second");
    let response = critic.chat(request).await.expect("scripted");
    assert_eq!(response.text, "ok");

    let sent = only_request(&model);
    assert_eq!(sent.system.as_deref(), Some("Be terse."));
    assert_eq!(sent.temperature, Some(1.0));
    assert_eq!(
        (sent.max_tokens, sent.model.as_deref()),
        (Some(300), Some("small-1"))
    );
    assert_eq!(sent.messages.len(), 3);
}

#[tokio::test]
async fn a_failed_call_is_the_provider_error() {
    let error = ProviderError::new("scripted", ProviderErrorKind::Unauthorized, "bad key");
    let model = Arc::new(Scripted::new().reply(error));
    let error = agent(&model)
        .prompt("hi")
        .await
        .expect_err("scripted error");
    assert!(matches!(&error, Error::Provider(e) if e.kind() == ProviderErrorKind::Unauthorized));
}

#[tokio::test]
async fn clones_share_the_model_and_debug_hides_the_prompts() {
    let model = Arc::new(Scripted::new().replies(["one", "two"]));
    let critic = agent(&model);
    let twin = critic.clone();
    assert_eq!(critic.prompt("a").await.expect("scripted"), "one");
    assert_eq!(twin.prompt("b").await.expect("scripted"), "two");
    let debug = format!("{critic:?}");
    assert!(
        debug.contains("critic") && debug.contains("small-1"),
        "{debug}"
    );
    assert!(!debug.contains("You critique drafts."), "{debug}");
}

#[tokio::test]
async fn extract_sends_the_schema_of_the_type_and_reads_the_answer_as_it() {
    let reply = r#"{"approved": true, "feedback": "ship it"}"#;
    let model = Arc::new(Scripted::new().reply(reply));
    let verdict: Verdict = agent(&model).extract("a draft").await.expect("a verdict");
    assert_eq!(
        verdict,
        Verdict {
            approved: true,
            feedback: "ship it".into()
        }
    );

    let sent = only_request(&model);
    let schema = sent.response_schema.expect("a response schema");
    assert_eq!(schema.name, "Verdict");
    assert!(!schema.strict);
    assert_eq!(schema.schema["type"], "object");
    assert_eq!(schema.schema["properties"]["approved"]["type"], "boolean");
    assert_eq!(schema.schema["properties"]["feedback"]["type"], "string");
    assert_eq!(schema.schema["required"], json!(["approved", "feedback"]));
    assert_eq!(sent.system.as_deref(), Some("You critique drafts."));
}

#[tokio::test]
async fn extract_tolerates_a_code_fence_around_the_json() {
    let reply = "```json\n{\"approved\": false, \"feedback\": \"shorter\"}\n```\n";
    let model = Arc::new(Scripted::new().reply(reply));
    let verdict: Verdict = agent(&model).extract("a draft").await.expect("a verdict");
    assert!(!verdict.approved);
}

#[tokio::test]
async fn extract_of_collections_and_scalars_works_too() {
    let model = Arc::new(Scripted::new().replies(["[1, 2, 3]", "42"]));
    let critic = agent(&model);
    assert_eq!(
        critic.extract::<Vec<u32>>("numbers").await.ok(),
        Some(vec![1, 2, 3])
    );
    assert_eq!(critic.extract::<u8>("a number").await.ok(), Some(42));
    let names: Vec<String> = model
        .requests()
        .into_iter()
        .filter_map(|request| request.response_schema.map(|schema| schema.name))
        .collect();
    assert_eq!(names, ["Array_of_uint32", "uint8"]);
}

/// The extract error of `reply`, checked for what every extract error has.
async fn extract_error(reply: &str) -> Error {
    let model = Arc::new(Scripted::new().reply(reply));
    let error = agent(&model)
        .extract::<Verdict>("a draft")
        .await
        .expect_err("not a verdict");
    let Error::Extract {
        agent,
        target,
        reply: kept,
        ..
    } = &error
    else {
        panic!("expected an extract error, got {error:?}");
    };
    assert_eq!((agent.as_str(), kept.as_str()), ("critic", reply));
    assert!(target.ends_with("Verdict"), "{target}");
    assert!(!error.is_transient());
    assert_eq!(error.step(), None);
    assert!(error
        .to_string()
        .starts_with("agent `critic`: the answer is not a valid `"));
    error
}

fn source(error: &Error) -> &serde_json::Error {
    let source = std::error::Error::source(error).expect("a source");
    source.downcast_ref().expect("a serde_json error")
}

#[tokio::test]
async fn extract_of_an_answer_that_is_not_json_is_a_typed_error() {
    let error = extract_error("Sure! The draft is approved.").await;
    assert!(source(&error).is_syntax());
}

#[tokio::test]
async fn extract_of_json_of_the_wrong_shape_is_a_typed_error() {
    let error = extract_error(r#"{"approved": "yes"}"#).await;
    assert!(source(&error).is_data());
    let error = extract_error(r#"{"approved": true}"#).await;
    assert!(source(&error).to_string().contains("feedback"));
    let error = extract_error("").await;
    assert!(source(&error).is_eof());
}

#[tokio::test]
async fn stream_yields_the_text_deltas_and_records_the_call() {
    let response = ChatResponse::new("three little words").with_usage(Usage::new(4, 3));
    let model = Arc::new(Scripted::new().reply(response));
    let critic = agent(&model);
    let ledger = Ledger::new("stream");
    let deltas: Vec<String> = ledger
        .scope(async { critic.stream("go").await?.try_collect().await })
        .await
        .expect("a stream");
    assert_eq!(deltas, ["three ", "little ", "words"]);
    let total = ledger.report().total;
    assert_eq!((total.calls, total.failed_calls), (1, 0));
    assert_eq!(total.usage, Usage::new(4, 3));
    assert_eq!(
        only_request(&model).system.as_deref(),
        Some("You critique drafts.")
    );
}

#[tokio::test]
async fn a_stream_that_cannot_start_is_an_error_and_a_failed_call() {
    let error = ProviderError::new("scripted", ProviderErrorKind::Server, "down");
    let model = Arc::new(Scripted::new().reply(error));
    let ledger = Ledger::new("stream");
    let result = ledger.scope(agent(&model).stream("go")).await;
    assert!(matches!(result, Err(Error::Provider(_))));
    let total = ledger.report().total;
    assert_eq!((total.calls, total.failed_calls), (1, 1));
}

/// A model whose stream yields `events` and then ends.
struct Events(Vec<Result<StreamEvent, ProviderErrorKind>>);

impl ChatModel for Events {
    fn chat(&self, _: ChatRequest) -> BoxFuture<'_, Result<ChatResponse, Error>> {
        Box::pin(async { Ok(ChatResponse::new("unused")) })
    }

    fn stream(&self, _: ChatRequest) -> BoxFuture<'_, Result<ChatStream, Error>> {
        let events: Vec<Result<StreamEvent, Error>> = self
            .0
            .iter()
            .map(|event| match event {
                Ok(event) => Ok(event.clone()),
                Err(kind) => Err(ProviderError::new("events", *kind, "broke").into()),
            })
            .collect();
        Box::pin(async move { Ok(Box::pin(stream::iter(events)) as ChatStream) })
    }
}

async fn stream_events(
    events: Vec<Result<StreamEvent, ProviderErrorKind>>,
) -> (Vec<Result<String, Error>>, Ledger) {
    let agent = Agent::builder(Arc::new(Events(events))).build();
    let ledger = Ledger::new("stream");
    let items = ledger
        .scope(async {
            agent
                .stream("go")
                .await
                .expect("started")
                .collect::<Vec<_>>()
                .await
        })
        .await;
    (items, ledger)
}

#[tokio::test]
async fn a_stream_that_breaks_yields_its_error_last_and_keeps_the_usage_seen() {
    let (items, ledger) = stream_events(vec![
        Ok(StreamEvent::TextDelta("half".into())),
        Ok(StreamEvent::Usage(Usage::new(7, 1))),
        Err(ProviderErrorKind::Stream),
        Ok(StreamEvent::TextDelta("never".into())),
    ])
    .await;
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].as_deref().ok(), Some("half"));
    assert!(matches!(&items[1], Err(Error::Provider(e)) if e.kind() == ProviderErrorKind::Stream));
    let total = ledger.report().total;
    assert_eq!(
        (total.calls, total.failed_calls, total.usage),
        (1, 1, Usage::new(7, 1))
    );
}

#[tokio::test]
async fn a_stream_that_ends_without_its_final_event_is_an_error() {
    let (items, ledger) = stream_events(vec![Ok(StreamEvent::TextDelta("cut".into()))]).await;
    assert_eq!(items.len(), 2);
    assert!(matches!(&items[1], Err(Error::Provider(e)) if e.kind() == ProviderErrorKind::Stream));
    assert_eq!(ledger.report().total.failed_calls, 1);
}

#[tokio::test]
async fn a_stream_takes_the_usage_of_its_final_event_once() {
    let done = ChatResponse::new("ab").with_usage(Usage::new(10, 2));
    let (items, ledger) = stream_events(vec![
        Ok(StreamEvent::TextDelta("a".into())),
        Ok(StreamEvent::TextDelta("b".into())),
        Ok(StreamEvent::Usage(Usage::new(10, 2))),
        Ok(StreamEvent::Done(done)),
    ])
    .await;
    let texts: Vec<String> = items.into_iter().map(|item| item.expect("text")).collect();
    assert_eq!(texts, ["a", "b"]);
    let total = ledger.report().total;
    assert_eq!(
        (total.calls, total.failed_calls, total.usage),
        (1, 0, Usage::new(10, 2))
    );
}

#[tokio::test]
async fn a_stream_dropped_before_its_end_is_a_failed_call() {
    let model = Arc::new(Scripted::new().reply("many words to read"));
    let critic = agent(&model);
    let ledger = Ledger::new("stream");
    let first = ledger
        .scope(async {
            let mut stream = critic.stream("go").await?;
            stream.next().await.transpose()
        })
        .await
        .expect("a delta");
    assert_eq!(first.as_deref(), Some("many "));
    let total = ledger.report().total;
    assert_eq!((total.calls, total.failed_calls), (1, 1));
}
