//! Watching runs: a typed stream of [`Event`]s per run, and `tracing` spans.
//!
//! # Events
//!
//! [`Executor::subscribe`](crate::Executor::subscribe) returns the [`Events`] of every run the
//! executor (or a clone of it) starts from then on; [`Run::events`](crate::Run::events) the
//! events of one run only, and [`Runner::subscribe`](crate::Runner::subscribe) those of a
//! runner's durable runs. Each [`Event`] carries the run's [`RunId`](crate::RunId), the
//! workflow's name, its number in the run and its [`EventKind`]. Every run goes through the
//! one driver, which sends them all but those of attempts, branches and calls:
//!
//! | kind | sent by | when |
//! |---|---|---|
//! | `RunStarted` | the driver | before the first step |
//! | `Resumed` | the driver | a durable run goes on after a crash or a pause (instead of `RunStarted`) |
//! | `StepStarted` (attempt 1) | the driver | a step starts |
//! | `StepFinished` (elapsed, usage) | the driver | the step ends and the run takes the next state |
//! | `StepFailed` (error, handler) | the driver | the step failed after its retries and its error route takes the error to its handler |
//! | `Retrying`, `StepStarted` (attempt 2…) | [`Context::step_with_retry`](crate::Context::step_with_retry) | an attempt failed with a transient error; the next one starts after the delay |
//! | `BranchStarted`, `BranchFinished` | [`Context::branch`](crate::Context::branch), [`Context::each`](crate::Context::each) | a branch of a fan-out, or an element of a map, starts and ends |
//! | `CallFinished` (attempts, usage), `TextDelta` | [`Agent`](crate::Agent) | a model call ends; a streamed answer writes text |
//! | `Completed`, `Failed`, `Suspended` | the driver | the run ends, or waits at a pause |
//!
//! Events of one run arrive in the order they happened, numbered by [`Event::seq`] from 0.
//!
//! ## What a subscriber that falls behind loses
//!
//! A run never waits for its subscribers, and a slow subscriber slows neither the run nor the
//! other subscribers. Each channel is a ring buffer of
//! [`Executor::event_capacity`](crate::Executor::event_capacity) events (1024 by default):
//! sending overwrites the oldest event once the buffer is full. A subscriber that is more
//! than that many events behind loses the oldest events it has not read yet, and nothing
//! else: [`Events::recv`] goes on from the oldest event still buffered, [`Events::missed`]
//! counts the lost ones, and the lost `seq` numbers show which. An event it did receive is
//! always whole, and its later events still arrive in order. To never lose the end of a run,
//! read at least as fast as runs emit, or raise the capacity.
//!
//! ## When nobody listens
//!
//! A run nobody subscribed to, with no `tracing` subscriber, no budget, no cancellation and no
//! store, builds no event, takes no lock and opens no scope: the driver only takes its steps.
//! Anything that reads the run (a subscriber, a report, a `tracing` subscriber) gives it a
//! scope, in which the driver and the steps send what the table says.
//!
//! An observed run pays about 140 ns per event (`BENCHMARKS.md`), whether its subscribers
//! keep up or not. A subscriber on another thread that waits for each event also costs the run
//! a wake-up of that thread per event; one on the run's own runtime does not.
//!
//! ## Durable runs keep their events
//!
//! A run a [`Runner`](crate::Runner) drives also writes its events, all but `TextDelta` (the
//! model's text), to its store's event log: those since the last checkpoint with each
//! checkpoint, in the same write, and the last ones when the run stops. Nothing is dropped,
//! whoever listens; a run whose process crashes keeps its events up to its last checkpoint.
//! [`Runner::events`](crate::Runner::events) reads the log from any entry, after the fact or
//! while the run goes, across every worker and call that drove the run; the `workflow events`
//! command and the web console show it.
//!
//! # Tracing
//!
//! Each run is a `workflow.run` span (target `workflow`, level `INFO`) with fields
//! `workflow`, `run_id` and, when it ends, `usage.input_tokens`, `usage.output_tokens`,
//! `usage.cost_usd`, `usage.calls`, or `error` and `otel.status_code = "error"`. Each step
//! is a `workflow.step` span inside it, with `workflow`, `run_id`, `step`, `attempt` (the
//! last attempt), `branch` (inside a fan-out or a map), and the same usage and error fields;
//! it is entered while the step runs, so spans and events of the step's own code (an HTTP
//! client's, say) are its children. A retry is a `WARN` event `retrying` in the step's span;
//! a provider's own retry of a model call is a `WARN` event `retrying the model call` (with
//! `provider`, `delay_ms` and `error`) in the span of the step that makes the call.
//! Any `tracing` subscriber shows a run as a trace; with the `otel` feature,
//! `tracing-opentelemetry` exports it to OpenTelemetry (see the `otel` module).
//!
//! Neither events nor spans record prompts, system prompts, step inputs or outputs, or API
//! keys. What they do record: step names, timings, token counts and costs, the model names
//! responses give, error messages (a step's own error's `Display`), and, in `TextDelta`
//! events only, the text a model streams back.
//!
//! # Example
//!
//! ```
//! # use std::future::Future;
//! # use serde::{Deserialize, Serialize};
//! # use workflow_runtime::{Context, Error, Workflow};
//! use workflow_runtime::event::EventKind;
//! use workflow_runtime::Executor;
//!
//! // A two-step workflow, `upper -> exclaim`, written by hand (`#[workflow]` writes the same).
//! # struct Shout;
//! # #[derive(Serialize, Deserialize)]
//! # enum State { Upper(String), Exclaim(String), Done(String) }
//! # impl Workflow for Shout {
//! #     type Input = String;
//! #     type Output = String;
//! #     type State = State;
//! #     const NAME: &'static str = "Shout";
//! #     const FINGERPRINT: u64 = 1;
//! #     const STEPS: &'static [&'static str] = &["upper", "exclaim"];
//! #     fn start(input: String) -> State { State::Upper(input) }
//! #     fn finish(state: State) -> Result<String, State> {
//! #         match state { State::Done(out) => Ok(out), other => Err(other) }
//! #     }
//! #     fn step_name(state: &State) -> &'static str {
//! #         match state { State::Upper(_) => "upper", State::Exclaim(_) => "exclaim", State::Done(_) => "end" }
//! #     }
//! #     fn transition<'a>(
//! #         &'a self, state: State, _cx: &'a mut Context,
//! #     ) -> impl Future<Output = Result<State, Error>> + Send + 'a {
//! #         async move {
//! #             Ok(match state {
//! #                 State::Upper(text) => State::Exclaim(text.to_uppercase()),
//! #                 State::Exclaim(text) => State::Done(text + "!"),
//! #                 done @ State::Done(_) => done,
//! #             })
//! #         }
//! #     }
//! # }
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Error> {
//! let executor = Executor::new();
//! let mut run = executor.start(&Shout, "hi".to_string());
//! let mut events = run.events();
//! let (output, kinds) = tokio::join!(run, async {
//!     let mut kinds = Vec::new();
//!     while let Some(event) = events.recv().await {
//!         kinds.push(match event.kind {
//!             EventKind::StepStarted { step, .. } => format!("{step} started"),
//!             EventKind::StepFinished { step, .. } => format!("{step} finished"),
//!             other => other.name().to_owned(),
//!         });
//!     }
//!     kinds
//! });
//! assert_eq!(output?, "HI!");
//! assert_eq!(kinds, [
//!     "run_started",
//!     "upper started", "upper finished",
//!     "exclaim started", "exclaim finished",
//!     "completed",
//! ]);
//! # Ok(())
//! # }
//! ```

mod channel;
mod journal;
mod kind;

pub use channel::Events;
pub use kind::{Event, EventKind};

pub(crate) use channel::{Hub, DEFAULT_CAPACITY};
pub(crate) use journal::Journal;
