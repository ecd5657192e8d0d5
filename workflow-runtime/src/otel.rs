//! Runs as OpenTelemetry traces (feature `otel`): a `tracing` layer that exports the
//! `workflow.run` and `workflow.step` spans through an OpenTelemetry tracer.
//!
//! Each run becomes one trace: a `workflow.run` root span (or a child of the span current
//! where the run started) with a `workflow.step` span per step and per branch of a fork, and
//! their fields as attributes: `workflow`, `run_id`, `step`, `attempt`, `branch`,
//! `usage.input_tokens`, `usage.output_tokens`, `usage.cost_usd`, `usage.calls`. A failed
//! step or run has the status `Error` (from `otel.status_code`) and an `error` attribute. A
//! retry is a span event `retrying`. No prompt or key is exported (see
//! [`event`](crate::event)).
//!
//! The feature belongs to this crate, not to the `workflow` facade: enable it next to
//! `workflow`, with `workflow-runtime = { version = "0.1", features = ["otel"] }`, so that
//! crates that only use `workflow` never link OpenTelemetry.
//!
//! # Installing the layer
//!
//! Build a tracer from your OpenTelemetry SDK and exporter (OTLP, Jaeger, stdout, …: crates
//! `opentelemetry_sdk` and `opentelemetry-otlp`, of the same `opentelemetry` version as the one
//! re-exported here), and add [`layer`] to your `tracing` subscriber:
//!
//! ```
//! use workflow_runtime::otel;
//! use workflow_runtime::otel::tracing_subscriber::layer::SubscriberExt;
//! use workflow_runtime::otel::opentelemetry::trace::noop::NoopTracer;
//!
//! // With the SDK:
//! //   let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
//! //       .with_batch_exporter(opentelemetry_otlp::SpanExporter::builder().with_tonic().build()?)
//! //       .build();
//! //   let tracer = opentelemetry::trace::TracerProvider::tracer(&provider, "my-service");
//! let tracer = NoopTracer::new();
//! let subscriber = otel::tracing_subscriber::registry().with(otel::layer(tracer));
//! tracing::subscriber::set_global_default(subscriber).expect("the first global subscriber");
//! // Every run from now on, `wf.run(input)` or through an `Executor`, is a trace.
//! ```
//!
//! Call the provider's `shutdown` (or `force_flush`) before the program exits, so that the
//! last spans are exported.

pub use opentelemetry;
pub use tracing_opentelemetry;
pub use tracing_subscriber;

use tracing::Subscriber;
use tracing_opentelemetry::OpenTelemetryLayer;
use tracing_subscriber::registry::LookupSpan;

/// The `tracing` layer that exports spans, those of workflow runs among them, through
/// `tracer`: `tracing_opentelemetry::layer().with_tracer(tracer)`. Add it to a
/// [`registry`](tracing_subscriber::registry()): see the [module](self)'s docs.
pub fn layer<S, T>(tracer: T) -> OpenTelemetryLayer<S, T>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
    T: opentelemetry::trace::Tracer + 'static,
    T::Span: Send + Sync,
{
    tracing_opentelemetry::layer().with_tracer(tracer)
}
