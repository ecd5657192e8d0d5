#![doc = include_str!("../README.md")]

pub use workflow_runtime::{
    once, Agent, AgentBuilder, Answer, Approval, ApprovalRequest, BoxError, BoxFuture,
    CancellationToken, Context, Conversation, Error, Executor, MemoryStore, Outcome,
    ParseTokenError, Pause, PauseDefinition, PauseToken, Report, Result, Run, RunHandle, RunId,
    Runner, Signal, SignalDefinition, StepPolicy, TextStream, Worker, WorkerHandle, WorkerReport,
    Workflow, WorkflowDefinition,
};

/// Watching runs: the typed [`Event`](event::Event)s of a run ([`Run::events`],
/// [`Executor::subscribe`]), what a subscriber that falls behind loses, and the
/// `workflow.run` / `workflow.step` spans `tracing` subscribers see.
pub use workflow_runtime::event;

/// The traits `#[workflow]` checks your types with, whose messages the compiler reports at
/// your tokens.
pub use workflow_runtime::checks;

/// Route coverage: the edges and routes of a workflow's graph that the runs of a test suite
/// never took. See [`Coverage`](coverage::Coverage).
pub use workflow_runtime::coverage;

/// What lives in a run's state besides the steps' inputs: the counters of bounded edges, the
/// branches of a running fan-out or map ([`Branch`](state::Branch), and
/// [`BranchError`](state::BranchError) for `[collect]` joins), a step waiting at a pause.
pub use workflow_runtime::state;

/// Durable runs in SQLite (feature `sqlite`, on by default): see [`store`].
#[cfg(feature = "sqlite")]
pub use workflow_runtime::SqliteStore;

/// Durable runs in PostgreSQL, shared by many workers (feature `postgres`): see [`store`].
#[cfg(feature = "postgres")]
pub use workflow_runtime::PostgresStore;

/// Checkpoint stores for durable runs: the [`CheckpointStore`](store::CheckpointStore) trait,
/// [`MemoryStore`], [`SqliteStore`] (feature `sqlite`) and `PostgresStore` (feature
/// `postgres`), and what they keep. A [`Runner`] drives runs over one.
pub use workflow_runtime::store;

/// Token usage and cost of agents' calls, per step and per run, and budgets: see
/// [`Run::report`] and [`Executor::budget`].
pub use workflow_runtime::usage;

/// The `schemars` crate: `#[derive(JsonSchema)]` on a type lets [`Agent::extract`] ask a model
/// for it. The prelude brings it into scope, so the derive works without a dependency on
/// `schemars` of your own.
pub use workflow_runtime::schemars;

/// Chat models: the [`ChatModel`](provider::ChatModel) trait, requests and responses, the
/// OpenAI-compatible and Anthropic providers (feature `http`, on by default), `Genai` for the
/// many providers of the `genai` crate (feature `genai`) and a scripted model for tests.
pub use workflow_runtime::provider;

/// Tools an [`Agent`] lets its model call: the [`Tool`](tool::Tool) trait, and
/// [`from_fn`](tool::from_fn) for a typed tool made of an async function. Give them to an agent
/// with [`AgentBuilder::tool`]; its tool loop is [`Agent::converse`].
pub use workflow_runtime::tool;

/// Turns the `async fn`s of an `impl` block into the steps of a workflow, wired by the
/// `flow! { … }` block inside it, and checks the whole graph at compile time.
///
/// # Steps
///
/// Every method of the block is a step and must read
/// `async fn name(&self, input: T) -> Result<U, E>` (or `-> U` for a step that cannot fail,
/// or no input at all, which is `()`). Inputs and the workflow's output must be
/// `Serialize + Deserialize + Send + 'static`: they make up the checkpointable state. Helper
/// methods go in another `impl` block.
///
/// A method written `fn name(&self) -> &W`, where `W` is itself a workflow, is a step that
/// runs `W`: its input is `W`'s input and its output `W`'s output, checked at its edges like
/// any step's. The child runs inline, through the same driver: its events are in the parent's
/// stream, tagged with the step ([`Event::path`](event::Event::path)); its model calls are
/// accounted to its own steps in its events and to the parent's step in the parent's report;
/// the run's cancellation, step budget ([`MAX_STEPS`](Workflow::MAX_STEPS) counts the child's
/// steps too) and spending budget reach into it; its failure is [`Error::Step`] of the parent's
/// step, with the child's error, which names the child's step, as its source. Its pauses are the
/// parent's: the parent's state holds the child's ([`ChildState`](state::ChildState)), and a
/// value given to the parent goes to the child. Its definition enters the parent's
/// fingerprint, and the parent's diagram shows it as a subroutine box naming it. Such a step
/// takes `#[step(timeout = …)]` (for the whole child run) but not `retry`, and cannot be
/// marked `pause`. It may be a branch of a fan-out or the step of a map: it then runs to its
/// end inside the branch ([`Context::child_branch`]), cannot wait (a child that reaches a
/// pause, a sleep or a signal fails the branch), and a durable run saves it as a branch, when
/// it finishes: after a crash an unfinished one runs again from its first step.
///
/// ```
/// use workflow::prelude::*;
///
/// struct Research;
///
/// #[workflow]
/// impl Research {
///     async fn search(&self, topic: String) -> Vec<String> { vec![format!("{topic}: a source")] }
///     async fn count(&self, sources: Vec<String>) -> usize { sources.len() }
///     flow! { start -> search -> count -> end; }
/// }
///
/// struct Report { research: Research }
///
/// #[workflow]
/// impl Report {
///     fn research(&self) -> &Research { &self.research }
///     async fn write(&self, sources: usize) -> String { format!("{sources} source(s)") }
///     flow! { start -> research -> write -> end; }
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let report = Report { research: Research };
/// assert_eq!(report.run("rust".into()).await?, "1 source(s)");
/// assert_eq!(Report::MAX_STEPS, Some(4)); // `research`, its two steps, `write`
/// # Ok::<(), workflow::Error>(()) }).unwrap();
/// ```
///
/// `E` is any error that converts into a [`BoxError`]: a type implementing
/// `std::error::Error + Send + Sync + 'static`, `String`, `BoxError` or `anyhow::Error`, or
/// [`Error`] itself, into which [`Error::other`] turns any of the others for `?`. A step that
/// fails fails the run with [`Error::Step`], which names the step and its attempts and keeps
/// its error ([`Error::step_error`] finds it by type, [`Error::provider`] finds a failed model
/// call in it); only [`Error::Cancelled`] and [`Error::BudgetExceeded`], which stop the whole
/// run, pass through a step unchanged. Retries (`retry = N` below) retry transient errors:
/// [`Error::is_transient`] classifies a step's error by the first [`Error`] or
/// [`ProviderError`](provider::ProviderError) in its chain of sources, so a refused model call
/// is not retried. An `anyhow::Error` hides the type of the error it holds: a step that calls
/// a model and retries should return [`Result`] (or an error type whose `source` is the
/// model's error).
///
/// `#[step(...)]` on a step sets its [`StepPolicy`]:
///
/// | option | meaning | default |
/// |---|---|---|
/// | `retry = N` | retry a failed attempt up to `N` more times (transient errors only); the input must be `Clone` | `0` |
/// | `backoff = "100ms"` | delay before the first retry, doubled each time, with jitter | `"100ms"` |
/// | `max_backoff = "30s"` | longest delay between two attempts; a longer `Retry-After` fails the step at once | `"30s"` |
/// | `timeout = "30s"` | fail an attempt that takes longer | none |
///
/// Durations are strings with a unit: `ms`, `s`, `m`, `h` or `d`.
///
/// A step with `retry = N` (`N > 0`) is the one retry budget of the model calls its attempts
/// make: their provider tries each call once instead of retrying it on its own, and a call
/// whose server asked to wait (`Retry-After`) is retried after that wait rather than the
/// backoff. See [`StepPolicy::retry`].
///
/// # The graph: `flow!`
///
/// | statement | meaning |
/// |---|---|
/// | `start -> a -> b -> end;` | a sequence: the workflow's input goes to `a`, `a`'s output to `b`, `b`'s output is the result |
/// | `a -> match { P => b, P => c(expr), P if guard => end(expr) };` | routing on `a`'s output: a bare target gets the matched value, `target(expr)` gets `expr`, which may use the pattern's bindings; rustc checks that the arms are exhaustive |
/// | `a -> b [max 3];` | a bounded edge: taken at most 3 times per run, then the run fails with [`Error::LoopLimit`] |
/// | `… => b(x) [max 3 else end(y)]` | a bounded edge with a fallback route taken once the bound is reached |
/// | `a -> (b, c) -> j;` | a fan-out: `b` and `c` run at once, each on a clone of `a`'s output; `j` takes the tuple of their outputs, in the order written; the first error drops (cancels) the other branches and fails the run |
/// | `a -> (b, c) [collect] -> j;` | the same, but `j` takes each branch's `Result<T, BranchError>`: a failed branch does not discard the others |
/// | `a -> each b [concurrency 4] -> j;` | a map: `a` outputs a collection, `b` runs once per element, at most 4 at a time (no limit without the option); `j` takes a `Vec` of the outputs in the order of the elements; `[collect]` works as above |
/// | `a -> match { P => (b, c) -> j, P => each d(expr) -> k, … };` | a `match` arm that fans out (or maps) straight away, joined in the arm: the branches get the matched value, or `expr` written after the fork and its options |
/// | `a -> pause b;` | a pause: the run stops before `b` until it is given the value `b` waits for, its second parameter (`async fn b(&self, input: T, value: V)`); in memory the run stops there (awaited, with [`Error::Suspended`]) and its [report](Run::report) holds the [`Pause`] to go on from with [`Executor::answer`]; a durable run is suspended in its store until [`Runner::answer`] |
/// | `a -> receive b;` | a signal: the run waits before `b` for a message of the type `b` takes as its second parameter (`async fn b(&self, input: T, message: M)`), sent from outside with [`Runner::send`] (typed: a type the workflow does not receive does not compile) or [`Runner::send_json`] (checked); messages are queued in the store per type, in the order sent, and each is delivered once, to the next `receive` step of that type (one sent before the run gets there waits for it); the run holds no worker while it waits ([`Outcome::Receiving`]); only a durable run receives ([`Error::SignalNeedsStore`] in memory, and in a workflow that runs as a step of another) |
/// | `a -> sleep "1h" -> b;` | a durable timer: the run sleeps before `b` (`ms`, `s`, `m`, `h` or `d`), whichever edge leads there (two edges into `b` that sleep must say the same duration); in memory it waits where it is; a durable run is put aside in its store with its wake-up time ([`Outcome::Sleeping`]), holds no worker while it sleeps, and a [`Worker`] goes on with it once the time has come; a sleep takes no step, and cannot go before `end`, a pause step or a step that runs another workflow |
/// | `a? -> h;` | an error route: once `a` has failed and its retries are spent, `h` runs with `a`'s own error `E` (of `Result<T, E>`, or of a `Result<T>` alias) as its input, and goes on along its own edges (`a? -> h -> end;`); see below |
/// | `type Output = T;` | the workflow's output type, needed only when no step goes straight to `end` |
///
/// An error route (`fetch? -> give_up;`, read "if `fetch` fails, go to `give_up`"; `?` is Rust's
/// own mark for the error path, and a statement of its own leaves the step's other edges as
/// they are, a `match` included) hands the handler the step's own error, by value, typed: a
/// handler that takes another type is a compile error on the route, naming both. The error is
/// the handler's input, so it is stored in the run's state like any input: it must be
/// `Serialize + Deserialize` (reported at the handler's parameter otherwise), and
/// `std::error::Error + Send + Sync + 'static` (reported at the step's error type). Only the
/// step's own errors route, after its last attempt: a timeout, cancellation, a spent budget,
/// the step limit or a panic stop the run as before (to handle a timeout in the graph, time
/// out inside the step and return your own error). The run's events say
/// [`StepFailed`](event::EventKind::StepFailed) (with the error and the handler) instead of
/// `StepFinished`, then the handler starts; a durable run saves the handler's state, error
/// included, like any transition. A handler takes only errors (no ordinary edge leads to it);
/// it may be shared by several steps with the same error type; error routes count in the graph
/// rules (reachability, dead ends, bounds on cycles), the diagram (a dashed edge labelled
/// `error`), the fingerprint and [`coverage`]. A step that runs another workflow, a branch of a
/// fork (use `[collect]`) and a step that returns no `Result` have no error route. By hand:
/// run the step with its failure kept (`cx.step(…).await` without `?`) and take the error out
/// with [`Context::route_error`].
///
/// ```
/// use workflow::prelude::*;
///
/// #[derive(Debug, Serialize, Deserialize)]
/// struct Unreachable(String);
/// impl std::fmt::Display for Unreachable {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         write!(f, "{} is unreachable", self.0)
///     }
/// }
/// impl std::error::Error for Unreachable {}
///
/// struct Fetch;
///
/// #[workflow]
/// impl Fetch {
///     #[step(retry = 2, backoff = "1ms")]
///     async fn fetch(&self, url: String) -> Result<String, Unreachable> {
///         Err(Unreachable(url))
///     }
///
///     async fn summarize(&self, page: String) -> String {
///         format!("summary of {page}")
///     }
///
///     async fn give_up(&self, error: Unreachable) -> String {
///         format!("no summary: {error}")
///     }
///
///     flow! {
///         start -> fetch -> summarize -> end;
///         fetch? -> give_up -> end;
///     }
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let text = Fetch.run("example.org".into()).await?;
/// assert_eq!(text, "no summary: example.org is unreachable");
/// # Ok::<(), workflow::Error>(()) }).unwrap();
/// ```
///
/// A fork (fan-out or map) can also follow `start` or be joined by `end`. Its branches are
/// steps of their own that run only there: they have no edges of their own. While a fork runs,
/// the state holds each branch as a [`Branch`](state::Branch), finished or pending, and a durable run saves it
/// each time a branch finishes: a resumed run runs only the others. Calls made by agents in a
/// branch are accounted to the branch's step.
///
/// The macro reports, each at the offending token and all in one compile: unknown steps (with
/// the closest name), steps missing from the graph or unreachable from `start`, steps with no
/// outgoing edge or two, cycles without a bound (through forks too), steps that can never reach
/// `end`, branches used elsewhere, a join that takes the wrong number of elements, bad step
/// signatures and bad `#[step]` and fork options. rustc reports, on the user's edge, an output
/// type that does not fit the next step's input, with both steps named, and, on the branch, a
/// branch output that does not fit its element of the join.
///
/// In a step that returns a `Result`, the macro writes each `expr?` of the step's own body
/// (not those in closures, `async` blocks, nested items or macro arguments, which return from
/// something else) as the `match` that `?` is: the error converts with `From` into the error
/// type of the step's return, however it is named (`Result<T, E>`, [`Result<T>`](Result),
/// `anyhow::Result<T>`). Only rustc's message changes: an error that does not convert, or an
/// `Option` given to `?`, is reported at the `?` with what the step may return and how to
/// convert.
///
/// ```compile_fail,E0277
/// use workflow::prelude::*;
///
/// struct Count;
///
/// #[workflow]
/// impl Count {
///     async fn count(&self, text: String) -> Result<u32> {
///         // `?` cannot convert `ParseIntError` into `workflow::Error`, the error type this
///         // step returns; write `.map_err(Error::other)?`
///         Ok(text.parse::<u32>()?)
///     }
///
///     flow! {
///         start -> count -> end;
///     }
/// }
/// ```
///
/// # Arguments
///
/// - `#[workflow(crate = path)]`: the path to this crate, if it is renamed (default `::workflow`).
/// - `#[workflow(state = Name)]`: the name the state enum goes by in your module (default
///   `{Type}State`); `state = pub Name` (or `pub(crate) Name`) gives that name a visibility:
///   it is private by default.
/// - `#[workflow(version = N)]`: the version of the definition, a `u32` (default `0`), which
///   enters [`Workflow::FINGERPRINT`]. Raise it when what a run stores changes in a way the
///   macro cannot see.
///
/// A durable run records the definition's fingerprint in every checkpoint, and resuming it
/// under another fingerprint fails with [`Error::DefinitionMismatch`] instead of reading a state
/// the steps no longer understand. The fingerprint is computed from what the macro sees: the
/// workflow's name, `version`, each step's name, input, output and pause value types as
/// written, whether it can fail, and the whole graph (edges, `match` arms with their patterns
/// and guards, arguments, bounds and `else` routes, forks and their options). Spacing and
/// formatting do not count, nor do step policies (`#[step(retry, …)]`: they change how a step
/// is attempted, not what is stored). It cannot see inside a type or a step: a field added to
/// a step's input type (`struct Draft { text: String, tone: Tone }`), a type alias that now
/// points elsewhere, or a change in a step's body leave it as it was. After such a change,
/// raise `version` so that runs saved before are refused rather than resumed with a state that
/// no longer reads as intended; keep it if the old runs are still fine (a new field with a
/// `#[serde(default)]`, a fixed bug in a body).
///
/// # Generated
///
/// For `impl Article`: the state enum (one variant per step holding its input, one per fan-out
/// or map holding its input and its branches, plus `End(output)`; serializable and `Debug`),
/// which is `<Article as Workflow>::State` and goes by the name `ArticleState` in your module
/// (a private alias, unless `state = pub Name` says otherwise); `impl Workflow for Article`;
/// `impl Answer<V> for Article` for the value type `V` of each pause; an inherent
/// `pub fn run(&self, input)` whose future runs it in memory to its output
/// (`Run::new(self, input).output()`: a [`Run`] also gives the report and events); and
/// `pub const MERMAID: &str` holding the graph as a
/// Mermaid flowchart, also shown in the impl's docs; and `pub const MAX_STEPS: Option<u64>`,
/// the most steps any run can take (the longest way through the graph with each `[max N]`
/// edge taken at most `N` times; a fan-out or a map is one step, a pause none), so that
/// [`Executor::max_steps`] with it never stops a run; and `pub const GRAPH: Graph`, the
/// graph's edges and its routes from `start` to `end` (loops summarised: a route goes through
/// no step twice), which a [`Coverage`](coverage::Coverage) checks the events of a test suite's
/// runs against, to report the edges and routes no run took.
///
/// # Example
///
/// ```
/// use workflow::prelude::*;
///
/// struct Article;
///
/// #[derive(Debug, Clone, Serialize, Deserialize)]
/// enum Verdict {
///     Approved(String),
///     Revise { draft: String, feedback: String },
/// }
///
/// #[workflow]
/// impl Article {
///     async fn draft(&self, topic: String) -> String {
///         format!("a draft about {topic}")
///     }
///
///     async fn critique(&self, draft: String) -> Result<Verdict> {
///         Ok(if draft.contains("revised") {
///             Verdict::Approved(draft)
///         } else {
///             Verdict::Revise { draft, feedback: "tighten it".into() }
///         })
///     }
///
///     async fn revise(&self, (draft, feedback): (String, String)) -> String {
///         format!("{draft}, revised ({feedback})")
///     }
///
///     flow! {
///         type Output = String;
///         start -> draft -> critique;
///         critique -> match {
///             Verdict::Approved(text) => end(text),
///             Verdict::Revise { draft, feedback } => revise((draft, feedback)) [max 3 else end(draft)],
///         };
///         revise -> critique;
///     }
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let text = Article.run("compile-checked docs".into()).await?;
/// assert_eq!(text, "a draft about compile-checked docs, revised (tighten it)");
/// assert!(Article::MERMAID.starts_with("flowchart TD"));
/// // `draft`, `critique`, then three times `revise` and `critique`.
/// assert_eq!(Article::MAX_STEPS, Some(8));
///
/// // Route coverage: the run above went round the loop, then `critique -> end`.
/// let executor = Executor::new();
/// let mut events = executor.subscribe();
/// executor.start(&Article, "compile-checked docs".into()).await?;
/// let mut coverage = workflow::coverage::Coverage::new(&Article::GRAPH);
/// coverage.read(&mut events);
/// coverage.assert_complete();
/// # Ok::<(), workflow::Error>(()) }).unwrap();
/// ```
///
/// # Equivalent code without the macro
///
/// The macro only writes what could be written by hand against [`Workflow`]: see the example
/// on that trait, which implements a two-step chain.
pub use workflow_macros::workflow;

/// Declares the graph of a [`#[workflow]`](macro@workflow) impl block. It has no meaning
/// elsewhere: outside such a block it is a compile error.
pub use workflow_macros::flow;

/// Sets the [`StepPolicy`] of a step of a [`#[workflow]`](macro@workflow) impl block. It has
/// no meaning elsewhere: outside such a block it is a compile error.
pub use workflow_macros::step;

/// The names most workflows need: `use workflow::prelude::*;`.
pub mod prelude {
    pub use crate::provider::{ChatModel, ChatRequest, ChatResponse, Message};
    pub use crate::schemars::{self, JsonSchema};
    pub use crate::state::BranchError;
    pub use crate::{
        flow, step, workflow, Agent, Error, Executor, Outcome, Result, Run, Runner, StepPolicy,
        Workflow,
    };
    pub use serde::{Deserialize, Serialize};
}

#[doc(hidden)]
pub use workflow_runtime::__private;
