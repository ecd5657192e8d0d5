//! The `Workflow` trait: a workflow as a state machine.

use std::fmt;
use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::SystemTime;

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::context::{Context, WaitingAt, WaitingChild};
use crate::definition::{PauseDefinition, SignalDefinition};
use crate::error::Error;
use crate::id::RunId;
use crate::state::Loops;

/// A workflow: a state machine whose states are "about to run step X with this input".
///
/// `#[workflow]` implements this trait for you; writing it by hand is just as valid. A
/// workflow says how a run starts ([`start`](Workflow::start)), when it is over
/// ([`finish`](Workflow::finish)), where it waits for a value from outside
/// ([`pause`](Workflow::pause)), and how it goes from one state to the next
/// ([`transition`](Workflow::transition)). The runtime's one driver does the rest for every
/// run, in memory or durable: it calls `transition` until `finish` gives the output, and
/// between two steps it counts the step budget, checks cancellation and budgets, tells the
/// run's subscribers, and saves a checkpoint of the state when the run is durable.
///
/// # Example
///
/// A two-step chain, written without the macro:
///
/// ```
/// use std::future::Future;
/// use serde::{Deserialize, Serialize};
/// use workflow_runtime::{Context, Error, Executor, StepPolicy, Workflow};
///
/// struct Shout;
///
/// #[derive(Debug, Serialize, Deserialize)]
/// enum ShoutState { Upper(String), Exclaim(String), Done(String) }
///
/// impl Shout {
///     async fn upper(&self, text: String) -> String { text.to_uppercase() }
///     async fn exclaim(&self, text: String) -> String { text + "!" }
/// }
///
/// const POLICY: StepPolicy = StepPolicy::new();
///
/// impl Workflow for Shout {
///     type Input = String;
///     type Output = String;
///     type State = ShoutState;
///     const NAME: &'static str = "Shout";
///     const FINGERPRINT: u64 = 1;
///     const STEPS: &'static [&'static str] = &["upper", "exclaim"];
///
///     fn start(input: String) -> ShoutState { ShoutState::Upper(input) }
///
///     fn finish(state: ShoutState) -> Result<String, ShoutState> {
///         match state { ShoutState::Done(out) => Ok(out), other => Err(other) }
///     }
///
///     fn step_name(state: &ShoutState) -> &'static str {
///         match state {
///             ShoutState::Upper(_) => "upper",
///             ShoutState::Exclaim(_) => "exclaim",
///             ShoutState::Done(_) => "end",
///         }
///     }
///
///     fn transition<'a>(
///         &'a self, state: ShoutState, cx: &'a mut Context,
///     ) -> impl Future<Output = Result<ShoutState, Error>> + Send + 'a {
///         async move {
///             Ok(match state {
///                 ShoutState::Upper(input) => ShoutState::Exclaim(
///                     cx.step("upper", &POLICY, async { Ok(self.upper(input).await) }).await?,
///                 ),
///                 ShoutState::Exclaim(input) => ShoutState::Done(
///                     cx.step("exclaim", &POLICY, async { Ok(self.exclaim(input).await) }).await?,
///                 ),
///                 done @ ShoutState::Done(_) => done,
///             })
///         }
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let out = Executor::new().start(&Shout, "hi".to_string()).await?;
/// assert_eq!(out, "HI!");
/// # Ok::<(), Error>(()) }).unwrap();
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a workflow",
    label = "not a workflow",
    note = "`#[workflow]` on an impl block of `{Self}` makes it one; in a `#[workflow]` impl block, a method written `fn name(&self) -> &T` is a step that runs the workflow `T`: a helper of that form belongs in another `impl` block"
)]
pub trait Workflow: Send + Sync {
    /// What a run starts from: the input of the first step.
    type Input: Send + 'static;
    /// What a run produces: the value passed to `end`.
    type Output: Send + 'static;
    /// The checkpointable state between two steps: which step runs next, with its input.
    type State: Serialize + DeserializeOwned + Send + 'static;

    /// The workflow's name, used in errors, events and stored runs.
    const NAME: &'static str;
    /// Changes whenever the graph or the types of its steps change, so that a stored run is
    /// never resumed under a different definition.
    ///
    /// `#[workflow]` hashes the workflow's name, its declared `#[workflow(version = N)]`, the
    /// name and the input, output and pause value types of each step as written, whether it
    /// can fail, and the whole graph (edges, `match` arms, bounds, forks), regardless of
    /// spacing or of the compiler that prints them. It does not see inside a type or a step: a
    /// field added to a step's input type, or a change in a step's body, leaves it as it was;
    /// raise `version` then so that runs saved before are refused. Step policies (retries,
    /// timeouts) do not count: they do not change what is stored. Written by hand, any value
    /// that changes with the definition will do.
    const FINGERPRINT: u64;
    /// The names of the steps, in declaration order.
    const STEPS: &'static [&'static str];
    /// The most steps a run can take, if known: what a parent counts for a step that runs
    /// this workflow when it computes its own envelope. `#[workflow]` sets it to the same value
    /// as the inherent `MAX_STEPS` it generates; written by hand, the default is `None`
    /// (unknown), and a parent's envelope is then unknown too.
    const MAX_STEPS: Option<u64> = None;
    /// The graph as a Mermaid flowchart, which stores record
    /// ([`WorkflowDefinition`](crate::WorkflowDefinition)) for tools that show a run's graph
    /// without its code. `#[workflow]` sets it to the inherent `MERMAID` it generates; written
    /// by hand, the default is empty (no graph shown).
    const MERMAID: &'static str = "";

    /// The state a run starts in.
    fn start(input: Self::Input) -> Self::State;

    /// `Ok(output)` if `state` is terminal, `Err(state)` back otherwise.
    ///
    /// # Errors
    ///
    /// Returns the state unchanged when it is not terminal.
    fn finish(state: Self::State) -> Result<Self::Output, Self::State>;

    /// The name of the step `state` is about to run: one of [`STEPS`](Workflow::STEPS), the
    /// label of a fan-out or a map (`"(b, c)"`, `"each b"`), or `"end"` for the terminal
    /// state.
    fn step_name(state: &Self::State) -> &'static str;

    /// The pause `state` waits at, if it waits for a value from outside before its next step
    /// can run: the step's name and what the pause shows (the step's input, as JSON).
    ///
    /// A workflow without pauses keeps the default, `None`.
    fn pause(state: &Self::State) -> Option<Pause> {
        let _ = state;
        None
    }

    /// For a durable run at `state`: the child run it holds at a step that runs another
    /// workflow, if that child has no row yet and its parent's write about to happen gives
    /// it one (what `at` looks for): a child that waits at its pause before any step of it
    /// finished, with no checkpoint of its own yet, in the checkpoint that holds it waiting;
    /// a child whose first step waits for the approval of a tool call, in the write that
    /// suspends the run (also the child in flight of a child that has checkpoints, at any
    /// depth, which started from that one's latest); a child in flight in the first checkpoint of a fork
    /// ([`Runner::fork`](crate::Runner::fork)), whose copy in the fork has its checkpoint
    /// 0 there. `state` then records that the child started from the run's checkpoint `at`
    /// names (unless it knows already) and that its latest checkpoint is 0, which the
    /// returned record is: the store writes the child's row with the run's write. The same
    /// for the child's own child, at any depth.
    ///
    /// `#[workflow]` generates it (with [`waiting_child`](crate::__private::waiting_child));
    /// written by hand, the default has none: such a child then has its row from its first
    /// step on.
    fn waiting_child(state: &mut Self::State, at: WaitingAt) -> Option<WaitingChild> {
        let _ = (state, at);
        None
    }

    /// The time a run at `state` sleeps until before its next step can run, if `state` is a
    /// step that sleeps first ([`SleepState`](crate::state::SleepState), `a -> sleep "1h" -> b`
    /// in `flow!`). The driver waits until then: a run in memory with `tokio::time::sleep`, a
    /// durable run by giving up its lease, so that it holds no worker while it sleeps and any
    /// worker picks it up once the time has come.
    ///
    /// A workflow without sleeps keeps the default, `None`.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use workflow_runtime::state::SleepState;
    ///
    /// // What `#[workflow]` generates for a state `Remind(SleepState<String>)`:
    /// enum State { Remind(SleepState<String>), Done(String) }
    /// fn wakes_at(state: &State) -> Option<SystemTime> {
    ///     match state {
    ///         State::Remind(sleeping) => Some(sleeping.wakes_at()),
    ///         State::Done(_) => None,
    ///     }
    /// }
    /// let state = State::Remind(SleepState::after("call mum".into(), Duration::from_secs(60)));
    /// assert!(wakes_at(&state).is_some_and(|time| time > SystemTime::now()));
    /// # let _ = State::Done(String::new());
    /// ```
    fn wakes_at(state: &Self::State) -> Option<SystemTime> {
        let _ = state;
        None
    }

    /// The signal a run at `state` waits for before its next step can run, if `state` is a
    /// step that receives one (`a -> receive b` in `flow!`): the name messages of that type
    /// are queued under ([`Signal::SIGNAL`]). A durable run takes the oldest message queued
    /// under that name, if any, and goes on with it; otherwise it waits, holding no worker,
    /// until one is sent.
    ///
    /// A workflow that receives no signal keeps the default, `None`.
    fn receives(state: &Self::State) -> Option<&'static str> {
        let _ = state;
        None
    }

    /// Gives a run waiting for a signal at `state` the message `value`, as JSON; returns the
    /// state it continues from.
    ///
    /// # Errors
    ///
    /// [`Error::NotPaused`] if `state` waits for no signal, [`Error::SignalValue`] if `value`
    /// is not of the type it receives.
    fn deliver_json(state: Self::State, value: serde_json::Value) -> Result<Self::State, Error> {
        let _ = value;
        Err(Error::NotPaused {
            workflow: Self::NAME,
            step: Self::step_name(&state),
        })
    }

    /// Checks that `value` is a message of signal `signal`, which the workflow receives: what
    /// [`Runner::send_json`](crate::Runner::send_json) does before it queues a message that
    /// comes from outside the program.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownSignal`] if the workflow receives no signal of that name,
    /// [`Error::SignalValue`] if `value` is not of its type.
    fn check_signal(signal: &str, value: &serde_json::Value) -> Result<(), Error> {
        let _ = value;
        Err(Error::UnknownSignal {
            workflow: Self::NAME,
            signal: signal.to_owned(),
            known: "nothing".to_owned(),
        })
    }

    /// The workflow's pauses (those of the workflows it runs as steps included): the step
    /// each waits before, and the value it takes, with its JSON Schema when its type has one.
    /// Stores record them ([`WorkflowDefinition`](crate::WorkflowDefinition)) so that tools
    /// can say what a pause asks and check an answer before they record it.
    ///
    /// `#[workflow]` generates it; written by hand, the default says nothing (an empty list).
    fn pauses() -> Vec<PauseDefinition> {
        Vec::new()
    }

    /// The signals the workflow receives: the name each is queued under, the steps that
    /// receive it, and the type of its messages, with its JSON Schema when the type has one.
    /// Stores record them ([`WorkflowDefinition`](crate::WorkflowDefinition)) so that tools
    /// can check a message before they queue it (`workflow send`).
    ///
    /// `#[workflow]` generates it; written by hand, the default says the workflow receives
    /// none (an empty list): write it along with [`receives`](Self::receives).
    fn signals() -> Vec<SignalDefinition> {
        Vec::new()
    }

    /// Gives a run paused at `state` the value its pause waits for, as JSON (for values that
    /// arrive from outside the program); returns the state the run continues from.
    ///
    /// Use [`Answer::answer`] when the value's type is known at compile time.
    ///
    /// # Errors
    ///
    /// [`Error::NotPaused`] if `state` does not wait at a pause, [`Error::AnswerValue`] if
    /// `value` does not deserialize into the type the pause waits for.
    fn answer_json(state: Self::State, value: serde_json::Value) -> Result<Self::State, Error> {
        let _ = value;
        Err(Error::NotPaused {
            workflow: Self::NAME,
            step: Self::step_name(&state),
        })
    }

    /// Runs the step `state` is about to run and returns the next state.
    ///
    /// The step runs through [`Context::step`] or [`Context::step_with_retry`], which apply
    /// its [`StepPolicy`](crate::StepPolicy); the branches of a fan-out or a map through
    /// [`Context::branch`] and [`Context::each`]; a bounded edge is counted with
    /// [`Context::take_edge`]. The driver never calls it with a terminal state, nor with a
    /// state that waits at a pause.
    fn transition<'a>(
        &'a self,
        state: Self::State,
        cx: &'a mut Context,
    ) -> impl Future<Output = Result<Self::State, Error>> + Send + 'a;

    /// Not part of the API: `#[workflow]` generates it, a workflow written by hand keeps the
    /// default.
    ///
    /// Takes the step `state` is about to run, as [`transition`](Self::transition) does; then,
    /// unless `once`, the next, and so on, up to a state a run may stop or wait at: one that
    /// [`finish`](Self::finish), [`pause`](Self::pause), [`wakes_at`](Self::wakes_at) or
    /// [`receives`](Self::receives) may say so of, or earlier. A run that nothing watches,
    /// limits or saves takes its steps through it (`once` false), so that they follow one
    /// another in one future rather than each in a future of its own; the driver looks at the
    /// state it returns, and calls it again if the run goes on. The default takes one step.
    #[doc(hidden)]
    fn __steps<'a>(
        &'a self,
        state: Self::State,
        cx: &'a mut Context,
        once: bool,
    ) -> impl Future<Output = Result<Self::State, Error>> + Send + 'a {
        let _ = once;
        self.transition(state, cx)
    }

    /// Not part of the API: `#[workflow]` generates it, a workflow written by hand keeps the
    /// default.
    ///
    /// Where in [`STEPS`](Self::STEPS) the step `state` is about to run is: `None` for a
    /// fan-out, a map or the end. A watched run tells its scope each step it enters, by this
    /// index; the default looks the name [`step_name`](Self::step_name) gives up in `STEPS`.
    #[doc(hidden)]
    fn __step_index(state: &Self::State) -> Option<usize> {
        let name = Self::step_name(state);
        Self::STEPS.iter().position(|step| *step == name)
    }
}

/// A run waiting at a pause for a value from outside: see [`Workflow::pause`].
///
/// The pause of an in-memory run (from [`Run::report`](crate::Run::report)) also holds the
/// run's state there, so that the run can go on once given the value:
/// [`Executor::answer`](crate::Executor::answer). A durable run's state is in its store; its
/// pause has a [`token`](Pause::token) that says which pause of which run it is, and that
/// [`Runner::answer`](crate::Runner::answer) takes with the value.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Pause {
    /// The step that runs once the value is given.
    pub step: &'static str,
    /// What the pause shows whoever gives the value: the step's input, as JSON.
    pub payload: serde_json::Value,
    /// Where the pause is, if it is inside a workflow that runs as a step of this one: the
    /// steps it is inside, from the outermost (`["review"]` for a pause of the child run in
    /// step `review`; `step` is then the child's). Empty for a pause of the workflow's own.
    pub path: Vec<&'static str>,
    /// An in-memory run's state at the pause.
    snapshot: Option<Arc<Snapshot>>,
    /// A durable run's pause: the run, and the checkpoint that shows it.
    token: Option<PauseToken>,
    /// Whether it waits for a human's approval of a tool call.
    approval: bool,
}

/// Which pause a value answers: the durable run, and the number of the checkpoint at which
/// it waits there. [`Runner::answer`](crate::Runner::answer) gives the value only if the run
/// still waits at that very checkpoint, so that a request sent twice (a retry, a double
/// click) cannot answer the run's next pause with a value meant for this one.
///
/// A token prints as `<run>/<checkpoint>` and parses back, for a form or a link; it also
/// serializes (as that text).
///
/// ```
/// use workflow_runtime::{PauseToken, RunId};
///
/// let token = PauseToken::new(RunId::new(), 3);
/// let text = token.to_string();
/// assert_eq!(text.parse::<PauseToken>(), Ok(token));
/// assert!("not a token".parse::<PauseToken>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct PauseToken {
    /// The run waiting at the pause.
    pub run: RunId,
    /// The number of the run's checkpoint that waits at the pause.
    pub seq: u64,
}

impl PauseToken {
    /// The pause run `run` waits at in its checkpoint `seq`.
    pub const fn new(run: RunId, seq: u64) -> Self {
        PauseToken { run, seq }
    }
}

impl fmt::Display for PauseToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.run, self.seq)
    }
}

/// A text that is not a [`PauseToken`]: not `<run id>/<checkpoint number>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a pause token: expected `<run id>/<checkpoint number>`")]
pub struct ParseTokenError(String);

impl FromStr for PauseToken {
    type Err = ParseTokenError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || ParseTokenError(text.chars().take(100).collect());
        let (run, seq) = text.split_once('/').ok_or_else(invalid)?;
        Ok(PauseToken {
            run: run.parse().map_err(|_| invalid())?,
            seq: seq.parse().map_err(|_| invalid())?,
        })
    }
}

impl From<PauseToken> for String {
    fn from(token: PauseToken) -> Self {
        token.to_string()
    }
}

impl TryFrom<String> for PauseToken {
    type Error = ParseTokenError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

/// An in-memory run's state at a pause, as the checkpoint of a durable run would hold it.
#[derive(Debug, PartialEq)]
struct Snapshot {
    workflow: &'static str,
    fingerprint: u64,
    state: serde_json::Value,
    loops: Loops,
}

impl Pause {
    /// A pause before step `step`, showing `payload`.
    pub fn new(step: &'static str, payload: serde_json::Value) -> Self {
        Pause {
            step,
            payload,
            path: Vec::new(),
            snapshot: None,
            token: None,
            approval: false,
        }
    }

    /// A durable run's pause in step `step` for a human's approval of a tool call: `payload`
    /// is the [`ApprovalRequest`](crate::ApprovalRequest).
    pub(crate) fn approval(step: &'static str, payload: serde_json::Value) -> Self {
        Pause {
            approval: true,
            ..Pause::new(step, payload)
        }
    }

    /// Whether this pause waits for a human's approval of a tool call that needs one
    /// ([`AgentBuilder::needs_approval`](crate::AgentBuilder::needs_approval)), inside step
    /// [`step`](Self::step), rather than before the step: its
    /// [`payload`](Self::payload) is the [`ApprovalRequest`](crate::ApprovalRequest) (the
    /// agent, the tool, the call's id and arguments), and it takes an
    /// [`Approval`](crate::Approval) ([`Runner::approve`](crate::Runner::approve)).
    pub fn is_approval(&self) -> bool {
        self.approval
    }

    /// This pause, reached inside step `step` of a parent workflow: its
    /// [`path`](Self::path) starts with `step`. What a parent's [`Workflow::pause`] returns
    /// for a pause of the workflow one of its steps runs.
    pub fn within(mut self, step: &'static str) -> Self {
        self.path.insert(0, step);
        self
    }

    /// The step of the paused workflow itself that waits: the first of [`path`](Self::path),
    /// or [`step`](Self::step) for a pause of its own.
    pub fn outer_step(&self) -> &'static str {
        self.path.first().copied().unwrap_or(self.step)
    }

    /// Whether an in-memory run can go on from here ([`Executor::answer`](crate::Executor::answer)):
    /// `false` for a durable run's pause, whose state is in its store.
    pub fn in_memory(&self) -> bool {
        self.snapshot.is_some()
    }

    /// A durable run's pause: the token to give [`Runner::answer`](crate::Runner::answer)
    /// with the value. `None` for an in-memory run's pause.
    pub fn token(&self) -> Option<PauseToken> {
        self.token
    }

    /// This pause, as durable run `token.run` waits at it in checkpoint `token.seq`.
    pub(crate) fn at(self, token: PauseToken) -> Self {
        Pause {
            token: Some(token),
            ..self
        }
    }

    /// This pause, holding `state` and `loops`, the state of the in-memory run of `W` that
    /// waits here.
    ///
    /// # Errors
    ///
    /// [`Error::Checkpoint`] if the state does not serialize.
    pub(crate) fn holding<W: Workflow>(
        self,
        state: &W::State,
        loops: &Loops,
    ) -> Result<Self, Error> {
        let state = serde_json::to_value(state).map_err(|source| Error::Checkpoint {
            workflow: W::NAME,
            source: Box::new(source),
        })?;
        let snapshot = Snapshot {
            workflow: W::NAME,
            fingerprint: W::FINGERPRINT,
            state,
            loops: loops.clone(),
        };
        Ok(Pause {
            snapshot: Some(Arc::new(snapshot)),
            ..self
        })
    }

    /// The state an in-memory run of `W` paused here goes on from, once `answer` has given it
    /// its value.
    ///
    /// # Errors
    ///
    /// [`Error::NotResumable`] if the pause is a durable run's or another workflow's, and the
    /// errors of `answer`.
    pub(crate) fn answered<W: Workflow>(
        &self,
        answer: impl FnOnce(W::State) -> Result<W::State, Error>,
    ) -> Result<(W::State, Loops), Error> {
        let not_resumable = |reason: String| Error::NotResumable {
            workflow: W::NAME,
            step: self.step,
            reason,
        };
        let Some(snapshot) = self.snapshot.as_deref() else {
            let reason = "it is a durable run's pause, whose state is in its store; answer it \
                          with `Runner::answer`";
            return Err(not_resumable(reason.to_owned()));
        };
        if (snapshot.workflow, snapshot.fingerprint) != (W::NAME, W::FINGERPRINT) {
            return Err(not_resumable(format!(
                "it was reached by workflow `{}` with fingerprint {:#018x}, not by this \
                 definition ({:#018x})",
                snapshot.workflow,
                snapshot.fingerprint,
                W::FINGERPRINT
            )));
        }
        let state = W::State::deserialize(&snapshot.state)
            .map_err(|error| not_resumable(format!("its state does not read back: {error}")))?;
        Ok((answer(state)?, snapshot.loops.clone()))
    }
}

/// A workflow with a pause that waits for a `V`: gives a paused run its value, typed.
///
/// `#[workflow]` implements it once for each type of value its pauses wait for, so giving a
/// run a value of a type none of its pauses waits for does not compile.
#[diagnostic::on_unimplemented(
    message = "workflow `{Self}` has no pause that waits for a `{V}`",
    label = "no pause of this workflow takes this value",
    note = "the pauses of a workflow are the `pause` steps of its `flow!`; their second parameter is the type they wait for"
)]
pub trait Answer<V>: Workflow {
    /// Gives a run paused at `state` the value `value`; returns the state it continues from.
    ///
    /// # Errors
    ///
    /// [`Error::NotPaused`] if `state` does not wait at a pause for a `V`.
    fn answer(state: Self::State, value: V) -> Result<Self::State, Error>;
}

/// A workflow that receives messages of type `V` as a signal: `#[workflow]` implements it
/// once for each type a `receive` step of its `flow!` takes, so sending a run a message of a
/// type its workflow does not receive does not compile.
///
/// ```
/// use workflow_runtime::{Signal, Workflow};
///
/// fn signal_name<W: Signal<V>, V>() -> &'static str {
///     <W as Signal<V>>::SIGNAL
/// }
/// # let _ = signal_name::<NoWorkflow, ()>;
/// # struct NoWorkflow;
/// # impl Workflow for NoWorkflow {
/// #     type Input = (); type Output = (); type State = ();
/// #     const NAME: &'static str = "NoWorkflow"; const FINGERPRINT: u64 = 0;
/// #     const STEPS: &'static [&'static str] = &[];
/// #     fn start(_: ()) {}
/// #     fn finish(_: ()) -> Result<(), ()> { Ok(()) }
/// #     fn step_name(_: &()) -> &'static str { "end" }
/// #     fn transition<'a>(&'a self, _: (), _: &'a mut workflow_runtime::Context)
/// #         -> impl std::future::Future<Output = Result<(), workflow_runtime::Error>> + Send + 'a {
/// #         async { Ok(()) }
/// #     }
/// # }
/// # impl Signal<()> for NoWorkflow { const SIGNAL: &'static str = "()"; }
/// ```
#[diagnostic::on_unimplemented(
    message = "workflow `{Self}` receives no signal of type `{V}`",
    label = "no `receive` step of this workflow takes this type",
    note = "the signals of a workflow are the `receive` steps of its `flow!`; their second parameter is the message type"
)]
pub trait Signal<V>: Workflow {
    /// The name the messages are queued under: the type as written in the step.
    const SIGNAL: &'static str;
}
