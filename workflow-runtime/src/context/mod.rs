//! [`Context`]: what a transition gets from the driver to run its step: the step's policy
//! (`attempt.rs`), the branches of a fan-out or a map (`branch.rs`), the counters of bounded
//! edges, and the loan of a context to a child run (`lend.rs`).

mod attempt;
mod branch;
mod lend;

use std::fmt;
use std::sync::Arc;

use crate::scope::RunScope;
use crate::state::Loops;

pub use branch::settle;

/// What a running workflow's [`transition`](crate::Workflow::transition) gets from the driver:
/// it runs the step under its [`StepPolicy`](crate::StepPolicy) ([`step`](Self::step),
/// [`step_with_retry`](Self::step_with_retry)), runs the branches of a fan-out or a map
/// ([`branch`](Self::branch), [`each`](Self::each)), and counts the bounded edges taken
/// ([`take_edge`](Self::take_edge)).
///
/// The driver makes one per run, and that is how a run is watched (events, spans, usage) and
/// saved (a finished branch of a durable run is saved at once); a transition never needs to
/// know. [`Context::new`] makes one that nothing watches or saves, to call
/// [`Workflow::transition`](crate::Workflow::transition) by hand, in a test.
pub struct Context {
    workflow: &'static str,
    loops: Loops,
    /// The run's scope, if anything reads it: its ledger, its observer, where a durable run
    /// saves its branches.
    run: Option<Arc<RunScope>>,
    /// The steps the run took so far, its child runs' included.
    taken: u64,
    /// The limits of a run something watches, which its child runs share.
    limits: Limits,
    /// Where the child run of the step that just ran stopped, if the step is one.
    left: ChildLeft,
    /// Whether the run saves a checkpoint after each step: a child run then takes one step
    /// per turn of its parent's loop, so that each of its steps is saved too.
    durable: bool,
    /// The context of the child run in progress, across the turns of a durable parent's
    /// loop: its scope, and the context of its own child run in progress. Boxed: a context
    /// holds its child's.
    kept_child: Option<Box<Context>>,
    /// A kept child context's step is a child run in progress of its own, which the child's
    /// next turn goes on with as the same step.
    going_on: bool,
    /// The step that just ran failed and its error went to its handler: the error, described,
    /// and the handler, for the run's events. Boxed: rare, and every run's future holds a
    /// context.
    routed: Option<Box<(String, &'static str)>>,
    /// In a durable run, the number of the latest checkpoint: where a child run starting
    /// now starts from.
    at: u64,
    /// The step the child run of the step that just ran took, for the next checkpoint.
    /// Boxed, as `routed` is.
    child_step: Option<Box<ChildStep>>,
}

/// One step a child run of a durable run took: what the parent's next checkpoint saves of it
/// (the durable runner makes it a [`ChildRecord`](crate::store::ChildRecord)).
#[derive(Debug, Clone)]
pub(crate) struct ChildStep {
    /// The parent's step that runs the child.
    pub(crate) parent_step: &'static str,
    /// The parent's checkpoint the child started from.
    pub(crate) started: u64,
    /// The child's workflow and its fingerprint.
    pub(crate) workflow: &'static str,
    pub(crate) fingerprint: u64,
    /// The child's next step, or `end`.
    pub(crate) step: &'static str,
    /// Whether the child waits at a pause there.
    pub(crate) paused: bool,
    /// The number of the child's checkpoint this step is, as the run counts: the store's
    /// for the checkpoint that creates the child's row.
    pub(crate) seq: u64,
    /// The child's state and loop counters, as JSON.
    pub(crate) state: String,
    pub(crate) loops: String,
    /// The step the child's own child run took in this step of the child, if its step is
    /// one: saved as a child run of the child, with the same write.
    pub(crate) child: Option<Box<ChildStep>>,
}

/// A durable child run that waits at a pause before any step of it finished: what the
/// parent's checkpoint that waits saves of it (its row, at its checkpoint 0), given by
/// [`Workflow::waiting_child`](crate::Workflow::waiting_child). Opaque: only the runtime
/// reads it.
#[derive(Debug)]
pub struct WaitingChild(pub(crate) ChildStep);

/// What [`Workflow::waiting_child`](crate::Workflow::waiting_child) looks for in a durable
/// run's state, and the number of the run's checkpoint about to be written, which holds it.
/// Opaque: only the runtime makes one.
#[derive(Debug, Clone, Copy)]
pub struct WaitingAt {
    /// The run's checkpoint about to be written, which a child without a row yet starts
    /// from.
    pub(crate) at: u64,
    pub(crate) why: Waits,
}

/// Why a durable run's write gives a child run in flight its row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Waits {
    /// The run waits at a pause: a child that waits at it before any step of it finished,
    /// and has no checkpoint yet.
    Pause,
    /// The run is suspended where a tool call of its step waits for an approval: a child
    /// whose first step that is, with no checkpoint yet.
    Approval,
    /// The run is a fork, created from another's checkpoint: a child in flight there, with
    /// its checkpoints in the other run only (its copy in the fork starts from its
    /// checkpoint 0, its state at the fork).
    Fork,
    /// The same, in a fork's child: the child's copy in the fork holds it in its checkpoint
    /// 0, which it starts from.
    Forked,
}

impl WaitingAt {
    /// A child that waits at a pause, in the run's checkpoint `at`.
    pub(crate) fn pause(at: u64) -> Self {
        WaitingAt {
            at,
            why: Waits::Pause,
        }
    }

    /// A child whose first step waits for an approval, in the run's checkpoint `at`.
    pub(crate) fn approval(at: u64) -> Self {
        WaitingAt {
            at,
            why: Waits::Approval,
        }
    }

    /// A child in flight in a fork's first checkpoint.
    pub(crate) fn fork() -> Self {
        WaitingAt {
            at: 0,
            why: Waits::Fork,
        }
    }

    /// The same, one level down: in the child's checkpoint 0.
    pub(crate) fn below(self) -> Self {
        let why = match self.why {
            Waits::Fork => Waits::Forked,
            why => why,
        };
        WaitingAt { at: 0, why }
    }
}

/// Where the child run of the step that just ran stopped: what the driver does next.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub(crate) enum ChildLeft {
    /// The step is not a child run, or its child finished: the step finished.
    #[default]
    Done,
    /// At a pause: the run waits there.
    Paused,
    /// After one of its steps, in a durable run: the step goes on at the next turn.
    Running,
}

/// The limits of a run that reach into its child runs: the most steps it may take, and the
/// token that cancels it.
#[derive(Clone, Default)]
pub(crate) struct Limits {
    pub(crate) max_steps: Option<u64>,
    pub(crate) cancel: Option<tokio_util::sync::CancellationToken>,
}

impl Limits {
    /// Whether there is no limit.
    pub(crate) fn is_none(&self) -> bool {
        self.max_steps.is_none() && self.cancel.is_none()
    }
}

impl Context {
    /// A context for a run of the workflow named `workflow` that nothing watches or saves,
    /// with no bounded edge taken yet.
    ///
    /// ```
    /// use workflow_runtime::Context;
    ///
    /// let mut cx = Context::new("Article");
    /// assert!(cx.take_edge(0, 1));
    /// assert!(!cx.take_edge(0, 1)); // `[max 1]` is reached
    /// assert_eq!(cx.loops().count(0), 1);
    /// ```
    pub fn new(workflow: &'static str) -> Self {
        Self::with_loops(workflow, Loops::new())
    }

    /// [`Context::new`], with the bounded edges counted as `loops` says: the counters saved
    /// with a state.
    pub fn with_loops(workflow: &'static str, loops: Loops) -> Self {
        Context {
            workflow,
            loops,
            run: None,
            taken: 0,
            limits: Limits::default(),
            left: ChildLeft::Done,
            durable: false,
            kept_child: None,
            going_on: false,
            routed: None,
            at: 0,
            child_step: None,
        }
    }

    /// Watched (and, for a durable run, saved) through `run`'s scope: what the driver runs.
    pub(crate) fn watched(mut self, run: Arc<RunScope>) -> Self {
        self.run = Some(run);
        self
    }

    /// Limited by `limits`, which reach into the run's child runs.
    pub(crate) fn limited(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The limits of the run, for its child runs.
    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Counts one more step; returns how many the run took, this one included.
    pub(crate) fn count_step(&mut self) -> u64 {
        self.taken += 1;
        self.taken
    }

    /// How many steps the run took, its child runs' included.
    pub(crate) fn taken(&self) -> u64 {
        self.taken
    }

    /// Starts counting at `taken`, the steps the parent of a child run took.
    pub(crate) fn set_taken(&mut self, taken: u64) {
        self.taken = taken;
    }

    /// Records where the child run of the step running now stopped.
    pub(crate) fn set_left(&mut self, left: ChildLeft) {
        self.left = left;
    }

    /// Where the child run of the step that just ran stopped; clears it.
    pub(crate) fn take_left(&mut self) -> ChildLeft {
        std::mem::take(&mut self.left)
    }

    /// Where the error of the step that just ran went, if it failed and its error route took
    /// it: the error, described, and the handler; clears it.
    pub(crate) fn take_routed(&mut self) -> Option<(String, &'static str)> {
        self.routed.take().map(|routed| *routed)
    }

    /// Saves a checkpoint after each step: a durable run.
    pub(crate) fn durable(mut self) -> Self {
        self.durable = true;
        self
    }

    /// Whether the run saves a checkpoint after each step.
    pub(crate) fn is_durable(&self) -> bool {
        self.durable
    }

    /// Tells a durable run's context that its latest checkpoint is number `at`.
    pub(crate) fn set_at(&mut self, at: u64) {
        self.at = at;
    }

    /// The number of a durable run's latest checkpoint, as the driver last told it.
    pub(crate) fn at(&self) -> u64 {
        self.at
    }

    /// Records the step the child run of the step running now took.
    pub(crate) fn set_child_step(&mut self, step: ChildStep) {
        self.child_step = Some(Box::new(step));
    }

    /// The step the child run of the step that just ran took, if it is one; clears it.
    pub(crate) fn take_child_step(&mut self) -> Option<ChildStep> {
        self.child_step.take().map(|step| *step)
    }

    /// The context of the child run in progress, kept across the turns of a durable parent.
    pub(crate) fn kept_child(&mut self) -> &mut Option<Box<Context>> {
        &mut self.kept_child
    }

    /// Records whether the step that just ran goes on at the next turn (a child run in
    /// progress), for a context kept across turns.
    pub(crate) fn set_going_on(&mut self, going_on: bool) {
        self.going_on = going_on;
    }

    /// Whether the step a kept context stopped in goes on at this turn; clears it.
    pub(crate) fn take_going_on(&mut self) -> bool {
        std::mem::take(&mut self.going_on)
    }

    /// Sets the counters of the bounded edges: those of the state a kept child context goes
    /// on from.
    pub(crate) fn set_loops(&mut self, loops: Loops) {
        self.loops = loops;
    }

    /// Takes the counters of the bounded edges, leaving none: those of the state a kept child
    /// context stopped in.
    pub(crate) fn take_loops(&mut self) -> Loops {
        std::mem::take(&mut self.loops)
    }

    /// Limits the context by `limits`, in place.
    pub(crate) fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// The name of the running workflow.
    pub fn workflow(&self) -> &'static str {
        self.workflow
    }

    /// How many times each bounded edge was taken so far.
    pub fn loops(&self) -> &Loops {
        &self.loops
    }

    /// The counters of the bounded edges, to save with the state.
    pub fn into_loops(self) -> Loops {
        self.loops
    }

    /// Takes bounded edge number `edge` (edges are numbered from 0 in the order `flow!` writes
    /// them) if it was taken fewer than `max` times so far, and says whether it did.
    #[inline]
    pub fn take_edge(&mut self, edge: usize, max: u32) -> bool {
        self.loops.take(edge, max)
    }

    /// The run's scope, if anything reads it.
    pub(crate) fn run(&self) -> Option<&Arc<RunScope>> {
        self.run.as_ref()
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("workflow", &self.workflow)
            .field("loops", &self.loops)
            .field("watched", &self.run.is_some())
            .finish()
    }
}
