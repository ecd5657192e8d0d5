//! Durable runs: [`Runner`] drives workflows with a checkpoint after every step, in a
//! [`CheckpointStore`].

mod approve;
mod codec;
mod define;
mod drive;
mod handle;
mod held;
mod inspect;
mod memo;
mod signal;
mod submit;
mod take;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

use crate::context::WaitingAt;
use crate::error::Error;
use crate::executor::Executor;
use crate::run::Report;
use crate::state::Loops;
use crate::store::{Checkpoint, CheckpointStore, NewRun, RunId};
use crate::usage::{Budget, Pricing};
use crate::workflow::{Answer, PauseToken, Workflow};

use codec::Definition;

pub use handle::RunHandle;

/// Runs workflows durably: after every step, before the next one starts, the run's state is
/// saved as a checkpoint in a [`CheckpointStore`], so that a run outlives the process that
/// started it.
///
/// - [`start`](Self::start) creates a run and drives it; [`create`](Self::create) only
///   creates it.
/// - [`resume`](Self::resume) continues a run from its latest checkpoint: after a crash, in
///   another process, on another machine sharing the store.
/// - A run that reaches a pause is suspended ([`Outcome::Suspended`](crate::Outcome), with
///   what the pause shows); [`answer`](Self::answer) gives it the value it waits for (typed:
///   a value of a type none of the workflow's pauses takes does not compile), and
///   [`answer_json`](Self::answer_json) the same as JSON from outside.
/// - A tool call that needs a human's approval
///   ([`AgentBuilder::needs_approval`](crate::AgentBuilder::needs_approval)) suspends the run
///   inside its step, with a pause that [`is_approval`](crate::Pause::is_approval) and shows
///   the call; [`approve`](Self::approve) gives it an [`Approval`](crate::Approval) (allow,
///   deny with a reason the model reads, or edited arguments), and
///   [`answer_json`](Self::answer_json) the same as JSON. The step then runs again, replaying
///   every model turn and tool call it recorded before the call. Its token names the
///   checkpoint the step started from; the decision is saved as a new checkpoint (the same
///   state, with the step's records carried over), so a duplicate answer is refused and
///   never lands on the next approval.
/// - [`status`](Self::status), [`list`](Self::list), [`history`](Self::history),
///   [`events`](Self::events) (the run's event log), [`pending`](Self::pending) and
///   [`output`](Self::output) look at runs;
///   [`fork`](Self::fork) starts a new run from any checkpoint of another (time travel).
///
/// # What runs again after a crash
///
/// **Completed steps never run again**: a resumed run continues from the checkpoint written
/// after the last step that completed. **The step that was in flight may run a second time**
/// (at-least-once): it had started, but its result was not saved. Within that step, what it
/// recorded as it went does not run again:
///
/// - a fan-out or a map keeps the branches that had finished (each finished branch is saved
///   at once); the others run again;
/// - an agent's tool loop ([`Agent::converse`](crate::Agent::converse), and
///   [`prompt`](crate::Agent::prompt), [`extract`](crate::Agent::extract) and
///   [`stream`](crate::Agent::stream) of an agent with tools) records each model turn's
///   response and each tool call's result as soon as it has them: the step, run again,
///   replays them without asking the model or running the tool, then goes on live. What may
///   run twice is **the tool calls in flight** (started, not finished, when the process
///   died) and **the model turn in flight**;
/// - a [`once`](crate::once) block records what it returned: only a block in flight may run
///   twice.
///
/// Everything else in the step runs again: make it idempotent, or put its side effects in
/// [`once`](crate::once) blocks. A failed attempt of a step with retries is run again the same
/// way: the new attempt replays what the failed one recorded. Nothing before a pause runs
/// again when a suspended run is given its value. Records are kept in the store
/// ([`CheckpointStore::save_call`](crate::store::CheckpointStore::save_call)) under the
/// checkpoint the step started from, until the run is deleted or
/// [pruned](crate::store::CheckpointStore::prune) past the step.
///
/// # One writer per run
///
/// A runner holds a [`Lease`](crate::store::Lease) on each run it drives, for a duration
/// set by [`lease`](Self::lease) (30 s by default). It is renewed every third of that while a
/// step runs, and by any checkpoint that finds less than two thirds of it left: a worker that
/// stops answering loses its runs after two thirds of the duration at the earliest, after the
/// whole of it at the latest. Another runner asked to resume the run gets
/// [`Error::RunOwned`] until the lease expires (its holder crashed or hangs); it can then
/// take the run over, and a late write from the previous holder is rejected with
/// [`Error::LeaseLost`]. Every write is also checked against the number of the run's latest
/// checkpoint ([`Error::VersionConflict`]), so two writers can never fork a run.
///
/// # Definitions
///
/// Every checkpoint records the workflow's name, its definition fingerprint
/// ([`Workflow::FINGERPRINT`]) and a format version. Resuming a run with another
/// definition (a step added, a type changed) fails with [`Error::DefinitionMismatch`] before
/// any step runs; a corrupt or hand-edited checkpoint fails with
/// [`Error::CorruptCheckpoint`].
///
/// # Usage
///
/// A run's [`Report::usage`], its `Completed` and `Failed` events and its
/// [`budget`](Self::budget) count the **whole run**, across its pauses, crashes and workers:
/// every checkpoint saves what the run has spent so far
/// ([`Checkpoint::usage`](crate::store::Checkpoint::usage)), and a run resumed or answered,
/// by this runner or another, starts counting from there. Precisely, a resumed run counts
/// everything spent up to the run's last write before it stopped: a checkpoint; a finished
/// branch of a fan-out or a map (saved with what the whole run had spent by then, the
/// branches still running included); or its failure (a failed step, cancellation, a budget
/// gone over: the runner saves what the run spent before it gives up its lease). What the
/// step in flight spent when its worker crashed, or when the run's future was dropped, is
/// lost: that step runs again, and its new calls count. A model turn replayed from its
/// record (see above) spends nothing and is not counted again: if the step had failed, it
/// was counted then; if the worker crashed, it is lost with the rest. A
/// [`fork`](Self::fork) is a new run and counts from zero.
///
/// # Options
///
/// [`cancellation`](Self::cancellation), [`max_steps`](Self::max_steps),
/// [`budget`](Self::budget) and [`pricing`](Self::pricing) work as on [`Executor`], per call
/// of `start` or `resume`. The step limit counts the steps that call runs, not those the run
/// ran before; the budget counts the whole run's spending (see above). A cancelled run is
/// recorded as failed and can be resumed.
///
/// Runs are driven on the caller's task; the runner needs a `tokio` runtime with its timer
/// enabled.
///
/// # Example
///
/// ```
/// # use std::future::Future;
/// # use serde::{Deserialize, Serialize};
/// # use workflow_runtime::{Context, Workflow};
/// use std::sync::Arc;
/// use workflow_runtime::{Error, MemoryStore, Outcome, Runner};
/// # struct Shout;
/// # #[derive(Serialize, Deserialize)]
/// # enum ShoutState { Upper(String), Exclaim(String), Done(String) }
/// # impl Workflow for Shout {
/// #     type Input = String;
/// #     type Output = String;
/// #     type State = ShoutState;
/// #     const NAME: &'static str = "Shout";
/// #     const FINGERPRINT: u64 = 1;
/// #     const STEPS: &'static [&'static str] = &["upper", "exclaim"];
/// #     fn start(input: String) -> ShoutState { ShoutState::Upper(input) }
/// #     fn finish(state: ShoutState) -> Result<String, ShoutState> {
/// #         match state { ShoutState::Done(out) => Ok(out), other => Err(other) }
/// #     }
/// #     fn step_name(state: &ShoutState) -> &'static str {
/// #         match state {
/// #             ShoutState::Upper(_) => "upper",
/// #             ShoutState::Exclaim(_) => "exclaim",
/// #             ShoutState::Done(_) => "end",
/// #         }
/// #     }
/// #     fn transition<'a>(
/// #         &'a self, state: ShoutState, _cx: &'a mut Context,
/// #     ) -> impl Future<Output = Result<ShoutState, Error>> + Send + 'a {
/// #         async move {
/// #             Ok(match state {
/// #                 ShoutState::Upper(text) => ShoutState::Exclaim(text.to_uppercase()),
/// #                 ShoutState::Exclaim(text) => ShoutState::Done(text + "!"),
/// #                 done @ ShoutState::Done(_) => done,
/// #             })
/// #         }
/// #     }
/// # }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Error> {
/// // `Shout` is a two-step workflow, `upper -> exclaim` (written by hand, hidden here).
/// let runner = Runner::new(Arc::new(MemoryStore::new()));
/// let run = runner.start(&Shout, "hello".to_string()).await?;
/// assert!(matches!(&run.outcome, Outcome::Finished(text) if text == "HELLO!"));
///
/// // Checkpoint 0 before `upper`, 1 before `exclaim`, 2 at the end.
/// let history = runner.history(run.id).await?;
/// let steps: Vec<&str> = history.iter().map(|checkpoint| checkpoint.step.as_ref()).collect();
/// assert_eq!(steps, ["upper", "exclaim", "end"]);
///
/// // Time travel: a new run from checkpoint 1, which runs `exclaim` only.
/// let again = runner.fork(&Shout, run.id, 1).await?;
/// assert_eq!(again.into_output()?, "HELLO!");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Runner {
    store: Arc<dyn CheckpointStore>,
    owner: Arc<str>,
    ttl: Duration,
    executor: Executor,
    /// Whether runs write their events to the store's log.
    event_log: bool,
    /// The workflows whose definition it recorded in the store.
    defined: Arc<define::Defined>,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("owner", &self.owner)
            .field("lease", &self.ttl)
            .field("executor", &self.executor)
            .finish_non_exhaustive()
    }
}

impl Runner {
    /// A runner over `store`, named after this host and process, with 30 s leases.
    pub fn new(store: Arc<dyn CheckpointStore>) -> Self {
        Runner {
            store,
            owner: default_owner().into(),
            ttl: Duration::from_secs(30),
            executor: Executor::new(),
            event_log: true,
            defined: Arc::default(),
        }
    }

    /// Whether the runs this runner drives write their events to the store's event log (on
    /// by default; [`events`](Self::events), `workflow events` and the console read it).
    /// The log costs each checkpointed step a few rows in the same write (see
    /// `BENCHMARKS.md`); a runner whose runs nobody inspects can turn it off. Subscribers
    /// ([`subscribe`](Self::subscribe)) get the events either way.
    pub fn event_log(mut self, on: bool) -> Self {
        self.event_log = on;
        self
    }

    /// Names this worker `name` in the leases it takes, as other workers see it in
    /// [`Error::RunOwned`] and [`RunInfo::owner`](crate::store::RunInfo::owner). Default: `host:pid`.
    pub fn owner(mut self, name: impl Into<String>) -> Self {
        self.owner = name.into().into();
        self
    }

    /// Sets how long a lease lasts without renewal (default 30 s, at least 3 ms): how long a
    /// crashed worker's runs wait before another worker can take them over. A step may run
    /// longer: the lease is renewed every third of this while it runs.
    pub fn lease(mut self, ttl: Duration) -> Self {
        self.ttl = ttl.max(Duration::from_millis(3));
        self
    }

    /// The events of every run this runner drives from now on (started, resumed, each step,
    /// suspended at a pause, completed, failed), tagged with the run's id: see
    /// [`Executor::subscribe`](crate::Executor::subscribe), which this is for durable runs.
    /// Clones of the runner share their subscribers.
    pub fn subscribe(&self) -> crate::event::Events {
        self.executor.subscribe()
    }

    /// Stops driving when `token` is cancelled: the step in flight is dropped, and the run is
    /// recorded as failed with [`Error::Cancelled`]; it can be resumed.
    pub fn cancellation(mut self, token: CancellationToken) -> Self {
        self.executor = self.executor.cancellation(token);
        self
    }

    /// Fails a call of `start` or `resume` that runs more than `max` steps with
    /// [`Error::StepLimit`].
    pub fn max_steps(mut self, max: u64) -> Self {
        self.executor = self.executor.max_steps(max);
        self
    }

    /// Fails a run whose model calls use up `budget` with [`Error::BudgetExceeded`]. What the
    /// run spent before it was resumed or answered counts: 900 of 1,000 tokens spent before a
    /// pause leave 100 to the run once it is answered, and a run that went over its budget
    /// fails again at its first call when it is resumed with the same budget.
    pub fn budget(mut self, budget: Budget) -> Self {
        self.executor = self.executor.budget(budget);
        self
    }

    /// Estimates the cost of model calls with `pricing`, for USD budgets.
    pub fn pricing(mut self, pricing: impl Into<Arc<Pricing>>) -> Self {
        self.executor = self.executor.pricing(pricing);
        self
    }

    /// The store the runner keeps its runs in.
    pub fn store(&self) -> &Arc<dyn CheckpointStore> {
        &self.store
    }

    /// Creates a run of `W` on `input` without running any step: it waits, with status
    /// [`Running`](crate::store::RunStatus::Running) and no lease, for
    /// [`resume`](Self::resume) (here or in another process).
    ///
    /// # Errors
    ///
    /// [`Error::Checkpoint`] if the state does not serialize; the store's errors.
    pub async fn create<W: Workflow>(&self, input: W::Input) -> Result<RunId, Error> {
        self.define::<W>().await;
        let first = first_checkpoint::<W>(
            RunId::new(),
            &mut W::start(input),
            &Loops::new(),
            WaitingAt::pause(0),
        )?;
        let id = first.run;
        let run = NewRun {
            first,
            parent: None,
            lease: None,
        };
        self.store.create(run).await?;
        Ok(id)
    }

    /// Creates a run of `workflow` on `input` and drives it until it finishes, waits at a
    /// pause, or fails.
    ///
    /// # Errors
    ///
    /// Only when the run could not be created: [`Error::Checkpoint`] if the state does not
    /// serialize, the store's errors. Once created, the run's fate is in
    /// [`Report::outcome`], with what it spent in [`Report::usage`].
    pub async fn start<W: Workflow>(
        &self,
        workflow: &W,
        input: W::Input,
    ) -> Result<Report<W::Output>, Error> {
        self.define::<W>().await;
        let (mut state, loops) = (W::start(input), Loops::new());
        let first = first_checkpoint::<W>(RunId::new(), &mut state, &loops, WaitingAt::pause(0))?;
        let held = self.create_held(first, None).await?;
        Ok(self.drive(workflow, held, state, loops, false).await)
    }

    /// Continues run `run` from its latest checkpoint, until it finishes, waits at a pause,
    /// or fails: after a crash, or a run made with [`create`](Self::create). A finished run
    /// gives its output again, a suspended one its pause, without running anything; a failed
    /// one runs its failed step again. Its [`Report::usage`] is the whole run's: what it
    /// spent before this call included.
    ///
    /// # Errors
    ///
    /// When the run cannot be taken up, before any step runs: [`Error::RunOwned`] if another
    /// worker runs it, [`Error::RunNotFound`], [`Error::ChildRun`] for a child run (resume its
    /// parent), [`Error::DefinitionMismatch`],
    /// [`Error::UnsupportedFormat`], [`Error::CorruptCheckpoint`], the store's errors.
    pub async fn resume<W: Workflow>(
        &self,
        workflow: &W,
        run: RunId,
    ) -> Result<Report<W::Output>, Error> {
        let (held, state, loops) = self.claim::<W>(run).await?;
        if W::pause(&state).is_none() {
            // A run waiting inside its step for an approval gives its pause, as any pause.
            if let Some(report) = self.still_approving::<W>(&held, &state).await? {
                return Ok(report);
            }
        }
        Ok(self.drive(workflow, held, state, loops, true).await)
    }

    /// Gives the pause `pause` names the value `value` it waits for, and drives the run on.
    /// The token is the pause's [`token`](crate::Pause::token), from the report that
    /// stopped there or from [`pending`](Self::pending). A value of a type that none of `W`'s
    /// pauses waits for does not compile.
    ///
    /// The value is given only if the run still waits at the checkpoint the token names: a
    /// request sent twice, or an answer to a pause someone else answered first, is refused
    /// with [`Error::AlreadyAnswered`] and never lands on the run's next pause.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use workflow_runtime::{Error, MemoryStore, Outcome, Runner};
    /// # async fn review<W: workflow_runtime::Answer<bool>>(runner: &Runner, workflow: &W, input: W::Input)
    /// #     -> Result<(), Error> {
    /// let report = runner.start(workflow, input).await?;
    /// if let Outcome::Suspended(pause) = &report.outcome {
    ///     let token = pause.token().expect("a durable run's pause has a token");
    ///     runner.answer(workflow, token, true).await?;
    ///     // The same approval again (a double click) is not applied to a later pause.
    ///     let again = runner.answer(workflow, token, true).await;
    ///     assert!(matches!(again, Err(Error::AlreadyAnswered { repeated: true, .. })));
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`resume`](Self::resume); [`Error::AlreadyAnswered`] if the run has gone on from
    /// that pause ([`repeated`](Error::AlreadyAnswered::repeated) if with this same value),
    /// [`Error::NotPaused`] if the token names no pause of the run. The run is then left as
    /// it was.
    pub async fn answer<W: Answer<V>, V>(
        &self,
        workflow: &W,
        pause: PauseToken,
        value: V,
    ) -> Result<Report<W::Output>, Error> {
        let approval = |step| Err(approve::not_an_approval::<W>(step));
        self.give(workflow, pause, |state| W::answer(state, value), approval)
            .await
    }

    /// Gives the pause `pause` names the value it waits for as JSON (from outside the
    /// program: a web form, a queue), and drives the run on, as [`answer`](Self::answer)
    /// does.
    ///
    /// # Errors
    ///
    /// As [`answer`](Self::answer); [`Error::AnswerValue`] if `value` is not of the type the
    /// pause waits for. The run is then left as it was.
    pub async fn answer_json<W: Workflow>(
        &self,
        workflow: &W,
        pause: PauseToken,
        value: serde_json::Value,
    ) -> Result<Report<W::Output>, Error> {
        let approval = |step| approve::approval_of::<W>(step, value.clone());
        self.give(
            workflow,
            pause,
            |state| W::answer_json(state, value.clone()),
            approval,
        )
        .await
    }

    /// Starts a new run from checkpoint `seq` of run `run` and drives it: time travel. The
    /// original run is left untouched; the new one records it as its
    /// [`parent`](crate::store::RunInfo::parent).
    ///
    /// The new run counts what it spends itself, from zero: its [`Report::usage`] and its
    /// budget do not include what the original run spent up to checkpoint `seq`, which that
    /// run's own checkpoints keep.
    ///
    /// A child run in flight at that checkpoint (a step that runs another workflow, between
    /// two of its steps or at its pause) is a child run of the new run, with its row from the
    /// new run's creation: its checkpoint 0 is its state there, and its next steps are
    /// numbered on from it, as are its own child runs in flight.
    ///
    /// # Errors
    ///
    /// [`Error::CheckpointNotFound`], [`Error::ChildRun`] for a child run (fork its parent:
    /// its checkpoints hold the child's state), and the errors of [`resume`](Self::resume)
    /// about the checkpoint.
    pub async fn fork<W: Workflow>(
        &self,
        workflow: &W,
        run: RunId,
        seq: u64,
    ) -> Result<Report<W::Output>, Error> {
        self.store.run(run).await?.on_its_own()?;
        let from = self.store.checkpoint(run, Some(seq)).await?;
        let (mut state, loops) = from.decode::<W>()?;
        self.define::<W>().await;
        // A child in flight there is a child run of the fork's, whose row comes with it. The
        // branches saved at that checkpoint are in the state read back.
        let first = first_checkpoint::<W>(RunId::new(), &mut state, &loops, WaitingAt::fork())?;
        let first = Checkpoint {
            created_at: SystemTime::now(),
            ..first
        };
        let held = self.create_held(first, Some((run, seq))).await?;
        Ok(self.drive(workflow, held, state, loops, false).await)
    }
}

/// `host:pid`, or `pid N` where the host name is unknown.
fn default_owner() -> String {
    let pid = std::process::id();
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|host| host.trim().to_owned())
        .filter(|host| !host.is_empty());
    match host {
        Some(host) => format!("{host}:{pid}"),
        None => format!("pid {pid}"),
    }
}

/// Checkpoint 0 of run `run` of `W`, at `state`: with the record of the child run it holds
/// at a step that runs another workflow, if that child is what `at` looks for (a child that
/// waits at a pause before any step of it, for a new run; a child in flight, for a fork),
/// found by [`Workflow::waiting_child`], which records in `state` where it started: the
/// store creates the child's row with the run's.
///
/// # Errors
///
/// [`Error::Checkpoint`] if the state does not serialize.
pub(crate) fn first_checkpoint<W: Workflow>(
    run: RunId,
    state: &mut W::State,
    loops: &Loops,
    at: WaitingAt,
) -> Result<Checkpoint, Error> {
    let waiting = W::waiting_child(state, at);
    let mut first = Definition::of::<W>().encode(run, 0, state, loops)?;
    first.child = waiting.map(|waiting| Box::new(held::child_record(run, waiting.child)));
    Ok(first)
}
