//! The `tracing` spans of a run, captured by a layer that records every span, its fields, its
//! parent, and the events inside it: `workflow.run` and its `workflow.step`s, with workflow,
//! run id, step, attempt, branch, usage and errors; the code of a step logs inside its step's
//! span; no prompt is ever recorded.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event as TraceEvent, Subscriber};
use tracing_subscriber::layer::{Context as LayerContext, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;
use workflow::event::EventKind;
use workflow::prelude::*;
use workflow::provider::{ProviderError, ProviderErrorKind, Scripted, Usage};

/// A span as the layer saw it.
#[derive(Debug, Clone, Default)]
struct SpanRecord {
    name: &'static str,
    parent: Option<usize>,
    fields: BTreeMap<String, String>,
    closed: bool,
}

/// An event (a log line) as the layer saw it: its message and fields, and its span.
#[derive(Debug, Clone)]
struct LogRecord {
    span: Option<usize>,
    fields: BTreeMap<String, String>,
}

#[derive(Default)]
struct Captured {
    spans: Vec<SpanRecord>,
    logs: Vec<LogRecord>,
    /// Live spans: the registry reuses ids once a span closes.
    live: BTreeMap<u64, usize>,
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Captured>>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        let mut captured = self.0.lock().expect("not poisoned");
        let parent = ctx
            .span(id)
            .and_then(|span| span.parent())
            .and_then(|parent| captured.live.get(&parent.id().into_u64()).copied());
        let mut record = SpanRecord {
            name: attrs.metadata().name(),
            parent,
            ..SpanRecord::default()
        };
        attrs.record(&mut Fields(&mut record.fields));
        let index = captured.spans.len();
        captured.spans.push(record);
        captured.live.insert(id.into_u64(), index);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _ctx: LayerContext<'_, S>) {
        let mut captured = self.0.lock().expect("not poisoned");
        if let Some(&index) = captured.live.get(&id.into_u64()) {
            values.record(&mut Fields(&mut captured.spans[index].fields));
        }
    }

    fn on_event(&self, event: &TraceEvent<'_>, ctx: LayerContext<'_, S>) {
        let mut captured = self.0.lock().expect("not poisoned");
        let span = ctx
            .event_span(event)
            .and_then(|span| captured.live.get(&span.id().into_u64()).copied());
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        captured.logs.push(LogRecord { span, fields });
    }

    fn on_close(&self, id: Id, _ctx: LayerContext<'_, S>) {
        let mut captured = self.0.lock().expect("not poisoned");
        if let Some(index) = captured.live.remove(&id.into_u64()) {
            captured.spans[index].closed = true;
        }
    }
}

impl Capture {
    /// Runs `run` with this layer as the thread's subscriber; returns what it captured.
    async fn capture<F: std::future::Future>(&self, run: F) -> F::Output {
        let subscriber = tracing_subscriber::registry().with(self.clone());
        let _default = tracing::subscriber::set_default(subscriber);
        run.await
    }

    fn take(&self) -> Captured {
        std::mem::take(&mut *self.0.lock().expect("not poisoned"))
    }
}

impl Captured {
    fn named(&self, name: &str) -> Vec<(usize, &SpanRecord)> {
        self.spans
            .iter()
            .enumerate()
            .filter(|(_, span)| span.name == name)
            .collect()
    }

    fn field(&self, span: usize, field: &str) -> Option<&str> {
        self.spans[span].fields.get(field).map(String::as_str)
    }

    /// The messages logged in span `span`.
    fn messages_in(&self, span: usize) -> Vec<&str> {
        self.logs
            .iter()
            .filter(|log| log.span == Some(span))
            .filter_map(|log| log.fields.get("message").map(String::as_str))
            .collect()
    }
}

// ---- a sequence with an agent and a retry ---------------------------------------------------

struct Article {
    writer: Agent,
}

#[workflow]
impl Article {
    async fn topic(&self, topic: String) -> String {
        tracing::info!("choosing a topic");
        // Suspends once, so that a run is polled again after its first poll.
        tokio::task::yield_now().await;
        topic
    }

    #[step(retry = 2, backoff = "1ms")]
    async fn draft(&self, topic: String) -> Result<String> {
        tracing::info!("drafting");
        self.writer
            .prompt(&format!("SECRET PROMPT about {topic}"))
            .await
    }

    async fn publish(&self, draft: String) -> Result<String> {
        tracing::info!("publishing");
        if draft.is_empty() {
            return Err(Error::Provider(ProviderError::new(
                "press",
                ProviderErrorKind::BadRequest,
                "nothing to publish",
            )));
        }
        Ok(draft)
    }

    flow! {
        start -> topic -> draft -> publish -> end;
    }
}

fn article(replies: Scripted) -> Article {
    Article {
        writer: Agent::builder(Arc::new(replies))
            .system("SECRET SYSTEM PROMPT")
            .build(),
    }
}

fn overloaded() -> ProviderError {
    ProviderError::new("scripted", ProviderErrorKind::Server, "overloaded")
}

#[tokio::test]
async fn a_run_is_a_run_span_with_a_step_span_per_step() {
    let replies = Scripted::new()
        .reply(overloaded())
        .reply(ChatResponse::new("a draft").with_usage(Usage::new(120, 30)));
    let article = article(replies);
    let capture = Capture::default();
    let executor = Executor::new();
    let mut run = executor.start(&article, "rust".into());
    let events = run.events();
    let result = capture.capture(run).await;
    assert_eq!(result.expect("the run succeeds"), "a draft");
    let captured = capture.take();

    let runs = captured.named("workflow.run");
    assert_eq!(runs.len(), 1);
    let (run, run_span) = runs[0];
    assert!(run_span.closed);
    assert_eq!(captured.field(run, "workflow"), Some("Article"));
    // The same id as the run's events.
    let mut events = events;
    let first = events.try_recv().expect("the run's events");
    assert_eq!(
        captured.field(run, "run_id"),
        Some(first.run.to_string().as_str())
    );
    assert!(matches!(first.kind, EventKind::RunStarted { .. }));
    assert_eq!(captured.field(run, "usage.calls"), Some("2"));
    assert_eq!(captured.field(run, "usage.input_tokens"), Some("120"));
    assert_eq!(captured.field(run, "error"), None);

    let steps = captured.named("workflow.step");
    let names: Vec<_> = steps
        .iter()
        .map(|(index, _)| captured.field(*index, "step").unwrap_or("?"))
        .collect();
    assert_eq!(names, ["topic", "draft", "publish"]);
    for (index, span) in &steps {
        assert_eq!(span.parent, Some(run), "a step's parent is its run");
        assert!(span.closed);
        assert_eq!(captured.field(*index, "workflow"), Some("Article"));
        assert_eq!(
            captured.field(*index, "run_id"),
            captured.field(run, "run_id")
        );
        assert_eq!(captured.field(*index, "branch"), None);
    }
    let [topic, draft, publish] = [steps[0].0, steps[1].0, steps[2].0];
    // Each step's code logs inside its own span, though no step ever waits.
    assert_eq!(captured.messages_in(topic), ["choosing a topic"]);
    assert_eq!(
        captured.messages_in(draft),
        ["drafting", "retrying", "drafting"]
    );
    assert_eq!(captured.messages_in(publish), ["publishing"]);
    assert_eq!(captured.field(draft, "attempt"), Some("2"));
    assert_eq!(captured.field(topic, "attempt"), Some("1"));
    assert_eq!(captured.field(draft, "usage.input_tokens"), Some("120"));
    assert_eq!(captured.field(draft, "usage.output_tokens"), Some("30"));
    assert_eq!(captured.field(draft, "usage.calls"), Some("2"));
    assert_eq!(captured.field(topic, "usage.calls"), Some("0"));

    let retry = captured
        .logs
        .iter()
        .find(|log| log.fields.get("message").map(String::as_str) == Some("retrying"))
        .expect("a retry was logged");
    assert_eq!(retry.fields.get("step").map(String::as_str), Some("draft"));
    assert_eq!(retry.fields.get("attempt").map(String::as_str), Some("1"));
    assert!(retry.fields["error"].contains("overloaded"));
    assert!(retry.fields.contains_key("delay_ms"));

    assert_no_secret(&captured);
}

#[tokio::test]
async fn a_failed_run_records_its_error_on_its_span_and_the_step_span() {
    let replies = Scripted::new().reply(ChatResponse::new(""));
    let article = article(replies);
    let capture = Capture::default();
    let result = capture
        .capture(Executor::new().start(&article, "rust".into()))
        .await;
    assert!(result.is_err());
    let captured = capture.take();
    let (run, _) = captured.named("workflow.run")[0];
    let steps = captured.named("workflow.step");
    let (publish, _) = *steps.last().expect("steps");
    assert_eq!(captured.field(publish, "step"), Some("publish"));
    for span in [run, publish] {
        assert_eq!(captured.field(span, "otel.status_code"), Some("error"));
        assert!(captured
            .field(span, "error")
            .is_some_and(|error| error.contains("nothing to publish")));
    }
    assert_eq!(captured.field(steps[0].0, "error"), None);
    assert_no_secret(&captured);
}

#[tokio::test]
async fn the_plain_run_opens_spans_when_a_subscriber_wants_them() {
    let replies = Scripted::new().reply(ChatResponse::new("a draft").with_usage(Usage::new(5, 5)));
    let article = article(replies);
    let capture = Capture::default();
    let result = capture.capture(article.run("rust".into())).await;
    assert_eq!(result.expect("ok"), "a draft");
    let captured = capture.take();
    let (run, _) = captured.named("workflow.run")[0];
    assert!(captured
        .field(run, "run_id")
        .is_some_and(|id| id.len() == 36));
    assert_eq!(captured.named("workflow.step").len(), 3);
    assert_eq!(captured.field(run, "usage.input_tokens"), Some("5"));
}

fn assert_no_secret(captured: &Captured) {
    let everything = format!("{:?} {:?}", captured.spans, captured.logs);
    assert!(!everything.contains("SECRET"), "a prompt was recorded");
}

// ---- a fan-out -------------------------------------------------------------------------------

struct Review;

#[workflow]
impl Review {
    async fn read(&self, text: String) -> String {
        text
    }

    async fn sentiment(&self, text: String) -> bool {
        tokio::task::yield_now().await;
        tracing::info!("sentiment");
        text.contains("love")
    }

    async fn length(&self, text: String) -> usize {
        tracing::info!("length");
        tokio::task::yield_now().await;
        text.len()
    }

    async fn report(&self, (positive, length): (bool, usize)) -> String {
        format!("{positive} {length}")
    }

    flow! {
        start -> read -> (sentiment, length) -> report -> end;
    }
}

#[tokio::test]
async fn each_branch_of_a_fan_out_is_a_step_span_with_its_position() {
    let capture = Capture::default();
    let result = capture
        .capture(Executor::new().start(&Review, "I love it".into()))
        .await;
    assert_eq!(result.expect("ok"), "true 9");
    let captured = capture.take();
    let (run, _) = captured.named("workflow.run")[0];
    let steps = captured.named("workflow.step");
    let shown: Vec<_> = steps
        .iter()
        .map(|(index, span)| {
            assert_eq!(span.parent, Some(run));
            let step = captured.field(*index, "step").unwrap_or("?");
            match captured.field(*index, "branch") {
                Some(branch) => format!("{step}[{branch}]"),
                None => step.to_owned(),
            }
        })
        .collect();
    assert_eq!(shown, ["read", "sentiment[0]", "length[1]", "report"]);
    assert_eq!(captured.messages_in(steps[1].0), ["sentiment"]);
    assert_eq!(captured.messages_in(steps[2].0), ["length"]);
}
