//! With the `otel` feature: a run exported through `workflow_runtime::otel::layer` and the
//! OpenTelemetry SDK is one trace, a `workflow.run` span with a `workflow.step` child per step,
//! their fields as attributes, the retry as a span event, and a failed run's status `Error`.

use std::sync::{Arc, Mutex};

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use workflow_macros::workflow;
use workflow_runtime::otel::opentelemetry::trace::{Status, TracerProvider as _};
use workflow_runtime::otel::tracing_subscriber::layer::SubscriberExt;
use workflow_runtime::Error;

/// Keeps the spans the SDK exports.
#[derive(Debug, Clone, Default)]
struct Keep(Arc<Mutex<Vec<SpanData>>>);

impl SpanExporter for Keep {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.0.lock().expect("not poisoned").extend(batch);
        Ok(())
    }
}

#[derive(Default)]
struct Flaky {
    failures: std::sync::atomic::AtomicU32,
}

#[derive(Debug)]
struct Busy;

impl std::fmt::Display for Busy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("busy")
    }
}

impl std::error::Error for Busy {}

#[workflow(crate = workflow_runtime)]
impl Flaky {
    async fn plan(&self, n: u32) -> u32 {
        n
    }

    #[step(retry = 1, backoff = "1ms")]
    async fn work(&self, n: u32) -> Result<u32, Busy> {
        use std::sync::atomic::Ordering;
        if self.failures.fetch_add(1, Ordering::SeqCst) == 0 || n == 0 {
            return Err(Busy);
        }
        Ok(n + 1)
    }

    flow! {
        start -> plan -> work -> end;
    }
}

/// Runs `flaky` on `n` with the OpenTelemetry layer as the thread's subscriber.
async fn export(flaky: &Flaky, n: u32) -> (Result<u32, Error>, Vec<SpanData>) {
    let keep = Keep::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(keep.clone())
        .build();
    let subscriber = workflow_runtime::otel::tracing_subscriber::registry()
        .with(workflow_runtime::otel::layer(provider.tracer("tests")));
    let result = {
        let _default = tracing::subscriber::set_default(subscriber);
        flaky.run(n).await
    };
    provider.force_flush().expect("flushed");
    let spans = keep.0.lock().expect("not poisoned").clone();
    (result, spans)
}

/// The last value set for `key`: a field recorded later is a later attribute.
fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .rev()
        .find(|attribute| attribute.key.as_str() == key)
        .map(|attribute| attribute.value.to_string())
}

#[tokio::test]
async fn a_run_is_one_trace_of_a_run_span_and_its_steps() {
    let (result, spans) = export(&Flaky::default(), 1).await;
    assert_eq!(result.expect("the retry succeeds"), 2);
    let run = spans
        .iter()
        .find(|span| span.name == "workflow.run")
        .expect("the run's span");
    let steps: Vec<_> = spans
        .iter()
        .filter(|span| span.name == "workflow.step")
        .collect();
    assert_eq!(steps.len(), 2);
    let trace = run.span_context.trace_id();
    for step in &steps {
        assert_eq!(step.span_context.trace_id(), trace, "one trace");
        assert_eq!(step.parent_span_id, run.span_context.span_id());
        assert_eq!(attribute(step, "run_id"), attribute(run, "run_id"));
    }
    assert_eq!(attribute(run, "workflow").as_deref(), Some("Flaky"));
    let work = steps
        .iter()
        .find(|span| attribute(span, "step").as_deref() == Some("work"))
        .expect("the work step");
    assert_eq!(attribute(work, "attempt").as_deref(), Some("2"));
    assert!(work.events.iter().any(|event| event.name == "retrying"));
    assert_eq!(work.status, Status::Unset);
}

#[tokio::test]
async fn a_failed_run_has_the_status_error() {
    let (result, spans) = export(&Flaky::default(), 0).await;
    assert!(result.is_err());
    let run = spans
        .iter()
        .find(|span| span.name == "workflow.run")
        .expect("the run's span");
    assert!(
        matches!(run.status, Status::Error { .. }),
        "{:?}",
        run.status
    );
    assert!(attribute(run, "error").is_some_and(|error| error.contains("busy")));
}
