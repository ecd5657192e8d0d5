//! The one error type of the runtime, and the kinds of error it names: [`ProviderError`] for a
//! failed model call, [`BudgetLimit`] for a spent budget. A leaf: it imports only [`RunId`].

mod budget;
mod provider;

use std::time::Duration;

pub use budget::BudgetLimit;
pub use provider::{ProviderError, ProviderErrorKind};

use crate::id::RunId;

/// A boxed error, as returned by a step whose error type is not [`Error`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can stop a workflow run.
///
/// Match on it to tell a failed step from a timeout, a loop that hit its bound, a cancelled
/// run or a failed model call. New variants may be added in minor releases.
///
/// ```
/// use workflow_runtime::Error;
///
/// fn describe(error: &Error) -> String {
///     match error {
///         Error::Step { step, .. } => format!("step {step} failed"),
///         Error::Timeout { step, .. } => format!("step {step} was too slow"),
///         Error::Provider(error) => format!("{} failed: {}", error.provider(), error.kind()),
///         other => other.to_string(),
///     }
/// }
/// # let _ = describe;
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A step returned an error (after all its retries). Every failure of a step's own ends
    /// here, with the step's name and attempts: its own error type, and an [`Error`] it
    /// returned (a failed model call, a nested run's failure). Only what stops the whole run
    /// passes through a step unchanged: [`Error::Cancelled`] and [`Error::BudgetExceeded`].
    #[error("workflow `{workflow}`: step `{step}` failed after {attempts} attempt(s)")]
    Step {
        /// The workflow's name.
        workflow: &'static str,
        /// The step that failed.
        step: &'static str,
        /// How many times the step was attempted.
        attempts: u32,
        /// The step's own error: read it with [`Error::step_error`], which also finds it
        /// inside an error that wraps it.
        #[source]
        source: BoxError,
    },
    /// A step of a durable run panicked. The run is recorded as failed at that step, and its
    /// lease given up at once, so that [`Runner::resume`](crate::Runner::resume) (here or in
    /// another worker) can run the step again; a panic is not retried by the step's policy.
    /// A panic in an in-memory run unwinds to whoever awaits the run, as in any future.
    #[error("workflow `{workflow}`: step `{step}` panicked: {message}")]
    Panicked {
        /// The workflow's name.
        workflow: &'static str,
        /// The step that panicked.
        step: &'static str,
        /// The panic's message (`"a panic without a message"` if it had no text).
        message: String,
    },
    /// An error of the application's own, made with [`Error::other`] for `?` on an error of
    /// another type in code that returns [`Error`]. Returned by a step, it is the step's error:
    /// the run fails with [`Error::Step`] holding it.
    #[error(transparent)]
    Other(BoxError),
    /// A step did not finish within its `timeout` (after all its retries).
    #[error("workflow `{workflow}`: step `{step}` timed out after {after:?}")]
    Timeout {
        /// The workflow's name.
        workflow: &'static str,
        /// The step that timed out.
        step: &'static str,
        /// The step's timeout.
        after: Duration,
    },
    /// A bounded edge was taken as many times as its `[max N]` allows and has no `else` route.
    #[error(
        "workflow `{workflow}`: the edge `{from} -> {to}` reached its bound of {max}; \
         add an `else` route to `[max {max}]` to end gracefully"
    )]
    LoopLimit {
        /// The workflow's name.
        workflow: &'static str,
        /// The step the bounded edge leaves.
        from: &'static str,
        /// The step the bounded edge enters.
        to: &'static str,
        /// The bound.
        max: u32,
    },
    /// The run's cancellation token was cancelled.
    #[error("workflow `{workflow}`: run cancelled")]
    Cancelled {
        /// The workflow's name.
        workflow: &'static str,
        /// The step that was running or about to run, if any.
        step: Option<&'static str>,
    },
    /// The run took more steps than [`Executor::max_steps`](crate::Executor::max_steps) allows.
    #[error("workflow `{workflow}`: step limit of {max} reached")]
    StepLimit {
        /// The workflow's name.
        workflow: &'static str,
        /// The limit.
        max: u64,
    },
    /// A model call failed: see [`ProviderError`]. Its provider retried it first, unless it was
    /// made in a step whose policy retries, which retries it instead.
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// The answer of an agent asked for a typed value with
    /// [`Agent::extract`](crate::Agent::extract) is not a valid value of that type.
    #[error("agent `{agent}`: the answer is not a valid `{target}`")]
    Extract {
        /// The agent's name.
        agent: String,
        /// The type asked for, as [`std::any::type_name`] names it.
        target: &'static str,
        /// The answer, as the model wrote it.
        reply: String,
        /// Why it does not deserialize into the type.
        #[source]
        source: serde_json::Error,
    },
    /// An agent's tool loop made as many model calls as its bound allows, and the model still
    /// called tools instead of answering. Not transient: the step is not retried.
    #[error(
        "agent `{agent}`: no final answer after {max} model turns of tool calls; raise the \
         bound with `AgentBuilder::max_turns`, or make the tools' results easier to answer from"
    )]
    ToolLimit {
        /// The agent's name.
        agent: String,
        /// The bound: the most model calls one tool loop may make.
        max: u32,
    },
    /// The run's model calls used up its [`Budget`](crate::usage::Budget).
    #[error("workflow `{workflow}`: budget of {limit} reached ({used} used)")]
    BudgetExceeded {
        /// The workflow's name (or the name of the [`Ledger`](crate::usage::Ledger) opened by hand).
        workflow: &'static str,
        /// The step whose call found the budget used up, if it was made in a step.
        step: Option<&'static str>,
        /// The limit that was reached.
        limit: BudgetLimit,
        /// How much had been used then, of the same kind as `limit`.
        used: BudgetLimit,
    },
    /// The run reached a pause: it waits for a value from outside. Awaited, an in-memory run
    /// stops with this error; its [report](crate::Run::report) holds the
    /// [`Pause`](crate::Pause) to go on from ([`Executor::answer`](crate::Executor::answer)).
    /// A durable run is suspended until it is given the value
    /// ([`Runner::answer`](crate::Runner::answer)).
    #[error("workflow `{workflow}`: suspended at the pause before step `{step}`; resume it with a value")]
    Suspended {
        /// The workflow's name.
        workflow: &'static str,
        /// The step waiting for the value.
        step: &'static str,
    },
    /// A tool call needs a human's approval
    /// ([`AgentBuilder::needs_approval`](crate::AgentBuilder::needs_approval)) and none is
    /// recorded yet. Inside a durable run, the runner turns it into a pause: the run is
    /// suspended at its step ([`Outcome::Suspended`](crate::Outcome::Suspended), with the call
    /// as the pause's payload) until [`Runner::approve`](crate::Runner::approve) or
    /// [`Runner::answer_json`](crate::Runner::answer_json) gives the decision. Like
    /// [`Error::Cancelled`], it passes through steps unchanged: no retry, no error route.
    #[error("agent `{agent}`: call `{call_id}` of tool `{tool}` needs a human's approval")]
    ApprovalNeeded {
        /// The agent whose model made the call.
        agent: String,
        /// The tool called.
        tool: String,
        /// The call's id.
        call_id: String,
        /// The step of the run that made the call (the outermost, for a call made in a child
        /// run), once the error has left it.
        step: Option<&'static str>,
    },
    /// A durable run sleeps (`a -> sleep "1h" -> b` in `flow!`) until a time to come: its
    /// lease is given up, and a [`Worker`](crate::Worker) picks it up once the time has come
    /// (or [`Runner::resume`](crate::Runner::resume) after it).
    #[error("workflow `{workflow}`: asleep before step `{step}`; a worker goes on with it once its time has come")]
    Sleeping {
        /// The workflow's name.
        workflow: &'static str,
        /// The step that runs once the run wakes.
        step: &'static str,
    },
    /// A value was given to a run that is not waiting at a pause.
    #[error(
        "workflow `{workflow}`: the run is not paused (it is at `{step}`), so it takes no value"
    )]
    NotPaused {
        /// The workflow's name.
        workflow: &'static str,
        /// The step the run is at, or `end`.
        step: &'static str,
    },
    /// A [`Pause`](crate::Pause) given to [`Executor::answer`](crate::Executor::answer) that
    /// an in-memory run cannot go on from: a durable run's pause, or one another workflow (or
    /// another definition of this one) reached.
    #[error("workflow `{workflow}`: cannot go on in memory from the pause before step `{step}`: {reason}")]
    NotResumable {
        /// The workflow given the pause.
        workflow: &'static str,
        /// The step the pause is before.
        step: &'static str,
        /// Why.
        reason: String,
    },
    /// A value given to a durable run for a pause it no longer waits at: the run was
    /// answered there already, and has gone on. Nothing was done.
    ///
    /// `repeated` says whether the value given then is this same value: a request sent
    /// twice (a retry, a double click), which its sender may take as done. Otherwise it is a
    /// stale answer (someone else answered first); the pause the run waits at now, if any, is
    /// [`Runner::pending`](crate::Runner::pending)'s.
    #[error(
        "run `{run}`: the pause of checkpoint {seq} was answered already{}, and the run has gone on; nothing was done. Its current pause, if any, is `Runner::pending`'s",
        if *repeated { " with this same value" } else { "" }
    )]
    AlreadyAnswered {
        /// The run.
        run: RunId,
        /// The checkpoint that waited at the pause: [`PauseToken::seq`](crate::PauseToken::seq).
        seq: u64,
        /// Whether the value given then was this one.
        repeated: bool,
    },
    /// An answer recorded for a run that does not wait at a pause
    /// ([`Runner::record_answer`](crate::Runner::record_answer)): it is running, has ended, or
    /// was cancelled. Nothing was recorded.
    #[error("run `{run}` is {status}, not waiting at a pause, so it takes no answer; see its status with `workflow show {run}`")]
    RunNotSuspended {
        /// The run.
        run: RunId,
        /// Its status, as stored (`running`, `finished`, …).
        status: &'static str,
    },
    /// The run's state could not be saved as a checkpoint.
    #[error("workflow `{workflow}`: could not save a checkpoint")]
    Checkpoint {
        /// The workflow's name.
        workflow: &'static str,
        /// Why: the state did not serialize, or the store failed.
        #[source]
        source: BoxError,
    },
    /// The value given to a paused run is not of the type its pause waits for.
    #[error("workflow `{workflow}`: the pause before step `{step}` waits for a `{expected}`, and the value given is not one")]
    AnswerValue {
        /// The workflow's name.
        workflow: &'static str,
        /// The step waiting for the value.
        step: &'static str,
        /// The type the pause waits for.
        expected: &'static str,
        /// Why the value does not deserialize into that type.
        #[source]
        source: serde_json::Error,
    },
    /// A durable run waits for a message of a signal (`a -> receive b` in `flow!`): its
    /// lease is given up, and a [`Worker`](crate::Worker) picks it up once one is sent
    /// ([`Runner::send`](crate::Runner::send)).
    #[error(
        "workflow `{workflow}`: waits for signal `{signal}` before step `{step}`; send it one"
    )]
    AwaitingSignal {
        /// The workflow's name.
        workflow: &'static str,
        /// The step that runs with the message.
        step: &'static str,
        /// The signal it waits for.
        signal: &'static str,
    },
    /// A message sent to a run ([`Runner::send_json`](crate::Runner::send_json)) is not of
    /// the type its workflow receives as signal `signal`, or was found so in the store.
    #[error("workflow `{workflow}`: signal `{signal}` carries a `{expected}`, and the value sent is not one")]
    SignalValue {
        /// The workflow's name.
        workflow: &'static str,
        /// The signal, as the workflow names it (the message type as written in its steps).
        signal: String,
        /// The type the workflow receives as that signal.
        expected: &'static str,
        /// Why the value does not deserialize into that type.
        #[source]
        source: serde_json::Error,
    },
    /// A message was sent to a run as a signal its workflow does not receive.
    #[error("workflow `{workflow}` receives no signal `{signal}`; it receives {known}")]
    UnknownSignal {
        /// The workflow's name.
        workflow: &'static str,
        /// The signal named.
        signal: String,
        /// The signals it receives, listed for the message (`nothing`, or names in backticks).
        known: String,
    },
    /// A run in memory reached a step that receives a signal: messages are queued in a store,
    /// so such a run needs a [`Runner`](crate::Runner).
    #[error("workflow `{workflow}`: step `{step}` receives a signal, and only a durable run can: start it with a `Runner`")]
    SignalNeedsStore {
        /// The workflow's name.
        workflow: &'static str,
        /// The step that receives the signal.
        step: &'static str,
    },
    /// A checkpoint store failed: the database is unreachable, locked, full, or refused a
    /// query. The run is left as it was last saved; resume it once the store works again.
    #[error("checkpoint store `{store}` failed; check that the database is reachable and writable, then resume the run")]
    Store {
        /// The store: `memory`, `sqlite`, `postgres`, or the name a custom store gives.
        store: &'static str,
        /// The database's own error.
        #[source]
        source: BoxError,
    },
    /// No run with this id is in the store.
    #[error("run `{run}` is not in the checkpoint store; check the run id and that the store is the one the run was started in")]
    RunNotFound {
        /// The run asked for.
        run: RunId,
    },
    /// The run is a child run: a workflow that runs as step `step` of the durable run
    /// `parent`, which it moves with. It cannot be cancelled, answered, sent a message,
    /// forked or resumed on its own: do that to the parent.
    #[error(
        "run `{run}` is the child run of step `{step}` of run `{parent}` and moves only with \
         it; cancel, answer, send to, fork or resume run `{parent}` instead"
    )]
    ChildRun {
        /// The child run asked for.
        run: RunId,
        /// Its parent.
        parent: RunId,
        /// The parent's step that runs it.
        step: String,
    },
    /// The run has no checkpoint with this number.
    #[error("run `{run}` has no checkpoint {seq}; list its checkpoints with `Runner::history`")]
    CheckpointNotFound {
        /// The run.
        run: RunId,
        /// The checkpoint asked for.
        seq: u64,
    },
    /// Another worker holds the run's lease: it is running the run now.
    #[error(
        "run `{run}` is owned by worker `{owner}` for another {expires_in:?}; \
         wait for that worker to finish, or resume the run after its lease expires"
    )]
    RunOwned {
        /// The run.
        run: RunId,
        /// The worker holding the lease.
        owner: String,
        /// How long the lease still runs, unless its holder renews it.
        expires_in: Duration,
    },
    /// This worker's lease on the run is gone: another worker took the run over after the
    /// lease expired, or the lease was released. What this worker did since its last
    /// checkpoint is not saved; the other worker runs the run now.
    #[error(
        "run `{run}`: this worker no longer holds the run's lease (another worker took it over \
         after it expired); its late write was rejected. Give steps a longer lease with \
         `Runner::lease` if they outlast it"
    )]
    LeaseLost {
        /// The run.
        run: RunId,
    },
    /// The run's latest checkpoint is not the one this writer started from: another writer
    /// saved a checkpoint in between. The write was rejected.
    #[error(
        "run `{run}`: stale write rejected; the writer expected checkpoint {expected} to be the \
         latest, but the latest is {found}. Resume the run to continue from the latest"
    )]
    VersionConflict {
        /// The run.
        run: RunId,
        /// The checkpoint the writer started from.
        expected: u64,
        /// The latest checkpoint in the store.
        found: u64,
    },
    /// A stored run or checkpoint does not read back: bad JSON, a state of the wrong shape, a
    /// step the workflow does not have, a value out of range. Stored rows are untrusted input.
    #[error("{}", corrupt_message(run.as_ref(), *seq, reason))]
    CorruptCheckpoint {
        /// The run, if its id could be read.
        run: Option<RunId>,
        /// The checkpoint, if the problem is in one.
        seq: Option<u64>,
        /// What is wrong.
        reason: String,
        /// The parser's error, if any.
        #[source]
        source: Option<BoxError>,
    },
    /// The run was saved by another definition of the workflow (its graph or step types have
    /// changed since), or by another workflow.
    #[error(
        "run `{run}` was saved by workflow `{stored_workflow}` with definition fingerprint \
         {stored_fingerprint:#018x}, but it is being resumed with workflow `{workflow}`, \
         fingerprint {fingerprint:#018x}; resume it with the definition that started it, or \
         start a new run"
    )]
    DefinitionMismatch {
        /// The run.
        run: RunId,
        /// The workflow resuming the run.
        workflow: &'static str,
        /// Its definition fingerprint.
        fingerprint: u64,
        /// The workflow that saved the run.
        stored_workflow: String,
        /// Its definition fingerprint then.
        stored_fingerprint: u64,
    },
    /// A run with this id already exists, of another workflow, another definition or another
    /// input: a submit with a caller-chosen id returns the existing run only if it is the same
    /// request.
    #[error(
        "a run with id `{run}` already exists, of another workflow, definition or input; \
         choose another run id, or submit the same workflow and input to get that run back"
    )]
    RunExists {
        /// The run id asked for.
        run: RunId,
    },
    /// The run was cancelled by id ([`Runner::cancel`](crate::Runner::cancel)): it stopped at a
    /// step boundary or mid-step, and is recorded as cancelled. It does not run again.
    #[error("run `{run}` was cancelled; submit a new run to do its work again")]
    RunCancelled {
        /// The run.
        run: RunId,
    },
    /// A run awaited through its handle failed: its step failed after its retries, it went over
    /// its budget, or it was stopped.
    #[error("run `{run}` failed: {reason}; see its history, fix the cause, and resume it")]
    RunFailed {
        /// The run.
        run: RunId,
        /// Why, as the store recorded it.
        reason: String,
    },
    /// A checkpoint was written in a format this version of the runtime cannot read.
    #[error(
        "run `{run}`, checkpoint {seq}: stored in format version {format}, but this version of \
         `workflow` reads format {supported}; resume the run with the version that wrote it"
    )]
    UnsupportedFormat {
        /// The run.
        run: RunId,
        /// The checkpoint.
        seq: u64,
        /// The checkpoint's format version.
        format: u32,
        /// The format version this runtime reads and writes.
        supported: u32,
    },
}

/// The message of [`Error::CorruptCheckpoint`].
fn corrupt_message(run: Option<&RunId>, seq: Option<u64>, reason: &str) -> String {
    let place = match (run, seq) {
        (Some(run), Some(seq)) => format!("run `{run}`, checkpoint {seq}"),
        (Some(run), None) => format!("run `{run}`"),
        (None, _) => "a stored run".to_owned(),
    };
    format!(
        "{place} is corrupt: {reason}; restore the row from a backup, or fork the run from an \
         earlier checkpoint"
    )
}

impl Error {
    /// Whether retrying the step that produced this error may succeed.
    ///
    /// Timeouts are transient; cancellation, bounds, budgets, answers that do not fit the
    /// type asked for, and the errors of durable runs and their stores are not (a run stopped
    /// by its store is resumed from its last checkpoint, not retried in place). A failed model
    /// call is transient if its [`ProviderError::is_transient`] says so: rate limits, server
    /// errors, timeouts, broken connections. A step's own error ([`Error::Step`],
    /// [`Error::Other`]) is classified by the first [`Error`] or [`ProviderError`] in its
    /// chain of sources, so a step error wrapping a refused request (HTTP 400) is not retried;
    /// one with neither is transient.
    ///
    /// ```
    /// use workflow_runtime::provider::{ProviderError, ProviderErrorKind};
    /// use workflow_runtime::Error;
    ///
    /// #[derive(Debug, thiserror::Error)]
    /// #[error("could not summarize")]
    /// struct Summarize(#[source] ProviderError);
    ///
    /// let refused = ProviderError::new("openai", ProviderErrorKind::BadRequest, "bad schema");
    /// let error = Error::Step {
    ///     workflow: "review",
    ///     step: "summarize",
    ///     attempts: 1,
    ///     source: Box::new(Summarize(refused)),
    /// };
    /// assert!(!error.is_transient());
    /// ```
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Timeout { .. } => true,
            Error::Provider(error) => error.is_transient(),
            Error::Step { source, .. } | Error::Other(source) => chain(source.as_ref())
                .find_map(|cause| {
                    let error = cause.downcast_ref::<Error>().map(Error::is_transient);
                    error.or_else(|| {
                        let provider = cause.downcast_ref::<ProviderError>();
                        provider.map(ProviderError::is_transient)
                    })
                })
                .unwrap_or(true),
            Error::LoopLimit { .. }
            | Error::Cancelled { .. }
            | Error::StepLimit { .. }
            | Error::Extract { .. }
            | Error::ToolLimit { .. }
            | Error::BudgetExceeded { .. }
            | Error::Suspended { .. }
            | Error::ApprovalNeeded { .. }
            | Error::Sleeping { .. }
            | Error::Checkpoint { .. }
            | Error::NotPaused { .. }
            | Error::NotResumable { .. }
            | Error::AlreadyAnswered { .. }
            | Error::RunNotSuspended { .. }
            | Error::Panicked { .. }
            | Error::AnswerValue { .. }
            | Error::SignalValue { .. }
            | Error::UnknownSignal { .. }
            | Error::SignalNeedsStore { .. }
            | Error::AwaitingSignal { .. }
            | Error::Store { .. }
            | Error::RunNotFound { .. }
            | Error::ChildRun { .. }
            | Error::CheckpointNotFound { .. }
            | Error::RunOwned { .. }
            | Error::LeaseLost { .. }
            | Error::VersionConflict { .. }
            | Error::CorruptCheckpoint { .. }
            | Error::DefinitionMismatch { .. }
            | Error::UnsupportedFormat { .. }
            | Error::RunExists { .. }
            | Error::RunCancelled { .. }
            | Error::RunFailed { .. } => false,
        }
    }

    /// An [`Error::Other`] holding `error`: for `?` on an error of another type in a step (or
    /// any code) that returns [`Error`]. A step's error is then kept as its own, in
    /// [`Error::Step`], where [`Error::step_error`] finds it by type.
    ///
    /// ```
    /// use workflow_runtime::Error;
    ///
    /// fn port(text: &str) -> Result<u16, Error> {
    ///     let port = text.parse::<u16>().map_err(Error::other)?;
    ///     Ok(port)
    /// }
    /// assert!(matches!(port("http"), Err(Error::Other(_))));
    /// ```
    pub fn other(error: impl Into<BoxError>) -> Self {
        Error::Other(error.into())
    }

    /// The failed model call behind this error: this [`Error::Provider`] itself, or the one a
    /// step's error holds somewhere in its chain of sources, however deeply the step wrapped
    /// it. Its [`retry_after`](ProviderError::retry_after) is how long the server asked to
    /// wait: a step retried by its policy waits that long before its next attempt.
    ///
    /// ```
    /// use std::time::Duration;
    /// use workflow_runtime::provider::{ProviderError, ProviderErrorKind};
    /// use workflow_runtime::Error;
    ///
    /// /// A step's own error, which keeps the model's error as its source.
    /// #[derive(Debug)]
    /// struct Draft(Error);
    /// impl std::fmt::Display for Draft {
    ///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("no draft") }
    /// }
    /// impl std::error::Error for Draft {
    ///     fn source(&self) -> Option<&(dyn std::error::Error + 'static)> { Some(&self.0) }
    /// }
    ///
    /// let retry_after = Some(Duration::from_secs(20));
    /// let limited = ProviderError::new("openai", ProviderErrorKind::RateLimited { retry_after }, "slow down");
    /// let error = Error::Step {
    ///     workflow: "Article",
    ///     step: "draft",
    ///     attempts: 1,
    ///     source: Box::new(Draft(limited.into())),
    /// };
    /// assert_eq!(error.provider().and_then(ProviderError::retry_after), retry_after);
    /// ```
    pub fn provider(&self) -> Option<&ProviderError> {
        chain(self).find_map(|cause| cause.downcast_ref::<ProviderError>())
    }

    /// The name of the step this error comes from, if it comes from one.
    pub fn step(&self) -> Option<&'static str> {
        match self {
            Error::Step { step, .. } | Error::Timeout { step, .. } => Some(step),
            Error::LoopLimit { from, .. } => Some(from),
            Error::Cancelled { step, .. }
            | Error::BudgetExceeded { step, .. }
            | Error::ApprovalNeeded { step, .. } => *step,
            Error::Suspended { step, .. }
            | Error::Sleeping { step, .. }
            | Error::Panicked { step, .. }
            | Error::NotPaused { step, .. }
            | Error::NotResumable { step, .. }
            | Error::SignalNeedsStore { step, .. }
            | Error::AwaitingSignal { step, .. }
            | Error::AnswerValue { step, .. } => Some(step),
            Error::StepLimit { .. }
            | Error::SignalValue { .. }
            | Error::UnknownSignal { .. }
            | Error::Provider(_)
            | Error::Other(_)
            | Error::Extract { .. }
            | Error::ToolLimit { .. }
            | Error::Checkpoint { .. }
            | Error::AlreadyAnswered { .. }
            | Error::RunNotSuspended { .. }
            | Error::Store { .. }
            | Error::RunNotFound { .. }
            | Error::ChildRun { .. }
            | Error::CheckpointNotFound { .. }
            | Error::RunOwned { .. }
            | Error::LeaseLost { .. }
            | Error::VersionConflict { .. }
            | Error::CorruptCheckpoint { .. }
            | Error::DefinitionMismatch { .. }
            | Error::UnsupportedFormat { .. }
            | Error::RunExists { .. }
            | Error::RunCancelled { .. }
            | Error::RunFailed { .. } => None,
        }
    }

    /// The step's own error, if this is [`Error::Step`] and its error, or an error in that
    /// error's chain of sources, has type `E`.
    ///
    /// ```
    /// # use workflow_runtime::Error;
    /// #[derive(Debug)]
    /// struct Quota;
    /// impl std::fmt::Display for Quota {
    ///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("quota") }
    /// }
    /// impl std::error::Error for Quota {}
    ///
    /// let error = Error::Step { workflow: "w", step: "s", attempts: 1, source: Box::new(Quota) };
    /// assert!(error.step_error::<Quota>().is_some());
    /// ```
    pub fn step_error<E: std::error::Error + 'static>(&self) -> Option<&E> {
        match self {
            Error::Step { source, .. } => {
                chain(source.as_ref()).find_map(|cause| cause.downcast_ref::<E>())
            }
            _ => None,
        }
    }

    /// The step's own error, by value, if this is [`Error::Step`] and its error has type `E`:
    /// what an error route (`step? -> handler` in `flow!`) hands its handler. With `E` =
    /// [`Error`] itself, every failure of the step routes: its own errors (an error the step
    /// made with [`Error::other`] comes back as [`Error::Other`]) and its [`Error::Timeout`].
    /// Anything else, cancellation and a spent budget among them, comes back as `Err(self)`.
    ///
    /// ```
    /// # use workflow_runtime::Error;
    /// #[derive(Debug, PartialEq)]
    /// struct Quota;
    /// impl std::fmt::Display for Quota {
    ///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("quota") }
    /// }
    /// impl std::error::Error for Quota {}
    ///
    /// let error = Error::Step { workflow: "w", step: "s", attempts: 2, source: Box::new(Quota) };
    /// assert_eq!(error.into_step_error::<Quota>().ok(), Some(Quota));
    /// let cancelled = Error::Cancelled { workflow: "w", step: Some("s") };
    /// assert!(cancelled.into_step_error::<Quota>().is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// `self`, unchanged, if it is not a failure of the step with an error of type `E`.
    pub fn into_step_error<E: std::error::Error + Send + Sync + 'static>(self) -> Result<E, Self> {
        use std::any::{Any, TypeId};
        if TypeId::of::<E>() == TypeId::of::<Error>() {
            let error = match self {
                Error::Step { source, .. } => match source.downcast::<Error>() {
                    Ok(error) => *error,
                    Err(source) => Error::Other(source),
                },
                error @ Error::Timeout { .. } => error,
                error => return Err(error),
            };
            let any: Box<dyn Any> = Box::new(error);
            return any.downcast::<E>().map(|error| *error).map_err(|_| {
                Error::other("an error route's error type changed while it was routed")
            });
        }
        match self {
            Error::Step {
                workflow,
                step,
                attempts,
                source,
            } => source
                .downcast::<E>()
                .map(|error| *error)
                .map_err(|source| Error::Step {
                    workflow,
                    step,
                    attempts,
                    source,
                }),
            error => Err(error),
        }
    }
}

/// The [`Error::ApprovalNeeded`] in `error`'s chain of sources, if there is one, as left by
/// step `step`: a call waiting for approval stops the run, however the step wrapped it.
pub(crate) fn approval_needed(
    error: &(dyn std::error::Error + 'static),
    step: Option<&'static str>,
) -> Option<Error> {
    chain(error).find_map(|cause| match cause.downcast_ref::<Error>() {
        Some(Error::ApprovalNeeded {
            agent,
            tool,
            call_id,
            step: inner,
        }) => Some(Error::ApprovalNeeded {
            agent: agent.clone(),
            tool: tool.clone(),
            call_id: call_id.clone(),
            step: step.or(*inner),
        }),
        _ => None,
    })
}

/// `first` and the errors it wraps, nearest first: its chain of sources, seeing through the
/// variants of [`Error`] that are transparent (whose `source` is the source of the error they
/// hold, not that error).
fn chain<'a>(
    first: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(first), |error| match error.downcast_ref::<Error>() {
        Some(Error::Provider(inner)) => Some(inner as &(dyn std::error::Error + 'static)),
        Some(Error::Other(inner)) => Some(inner.as_ref() as &(dyn std::error::Error + 'static)),
        _ => error.source(),
    })
}

/// `error` and each of its sources, separated by `: `.
pub(crate) fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_stays_small() {
        // Every step's result has room for an `Error`, moved at each step: a large payload
        // belongs in a box (as a `ProviderError`'s fields are). 88 bytes is the largest
        // variant's, `ApprovalNeeded`'s three strings and step.
        assert!(
            std::mem::size_of::<Error>() <= 88,
            "`Error` is {} bytes",
            std::mem::size_of::<Error>()
        );
        assert!(std::mem::size_of::<ProviderError>() <= 8);
    }

    #[test]
    fn a_boxed_provider_error_reads_and_prints_as_before() {
        let error = ProviderError::new("openai", ProviderErrorKind::Server, "overloaded")
            .with_status(503)
            .with_retry_after(Some(Duration::from_secs(3)));
        assert_eq!((error.provider(), error.status()), ("openai", Some(503)));
        assert_eq!(error.retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(
            error.to_string(),
            "openai: server error (http 503): overloaded"
        );
        let debug = format!("{error:?}");
        assert!(
            debug.starts_with("ProviderError { provider: \"openai\""),
            "{debug}"
        );
    }
}
