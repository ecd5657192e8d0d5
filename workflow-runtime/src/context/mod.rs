//! [`Context`]: what a transition gets from the driver to run its step: the step's policy
//! (`attempt.rs`), the branches of a fan-out or a map (`branch.rs`), the counters of bounded
//! edges, and the loan of a context to a child run (`lend.rs`).

mod attempt;
mod branch;
mod lend;

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use crate::scope::RunScope;
use crate::state::Loops;

pub use branch::{settle, Succeeds};
pub(crate) use lend::Lent;

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
    /// The limits of a run something watches, which its child runs share; `None` for none.
    /// Shared and behind a pointer: every run's future holds a context.
    limits: Option<Arc<Limits>>,
    /// Where the child run of the step that just ran stopped, if the step is one.
    left: ChildLeft,
    /// Whether the run saves a checkpoint after each step: a child run then takes one step
    /// per turn of its parent's loop, so that each of its steps is saved too.
    durable: bool,
    /// What a durable run keeps across the turns of its loop, made when first needed: boxed,
    /// as a run that saves nothing needs none of it.
    turns: Option<Box<Turns>>,
    /// A kept child context's step is a child run in progress of its own, which the child's
    /// next turn goes on with as the same step.
    going_on: bool,
    /// The step that just ran failed and its error went to its handler: the error, described,
    /// and the handler, for the run's events. Boxed: rare, and every run's future holds a
    /// context.
    routed: Option<Box<(String, &'static str)>>,
}

/// What a durable run's [`Context`] keeps across the turns of its loop.
#[derive(Default)]
struct Turns {
    /// The number of the latest checkpoint: where a child run starting now starts from.
    at: u64,
    /// The context of the child run in progress: its scope, and the context of its own
    /// child run in progress.
    kept_child: Option<Box<Context>>,
    /// The step the child run of the step that just ran took, for the next checkpoint.
    child_step: Option<ChildStep>,
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
    pub(crate) loops: Cow<'static, str>,
    /// The step the child's own child run took in this step of the child, if its step is
    /// one: saved as a child run of the child, with the same write.
    pub(crate) child: Option<Box<ChildStep>>,
}

/// A durable child run that waits at a pause before any step of it finished: what the
/// parent's checkpoint that waits saves of it (its row, at its checkpoint 0), given by
/// [`Workflow::waiting_child`](crate::Workflow::waiting_child). Opaque: only the runtime
/// reads it.
#[derive(Debug)]
pub struct WaitingChild {
    /// The child runs with rows of their own that it runs under, outermost first: each
    /// one's parent step and the checkpoint it started from. Empty for a child of the run
    /// itself; only a child whose first step waits for an approval has any.
    pub(crate) under: Vec<(&'static str, u64)>,
    /// The child, and its own child in flight at any depth.
    pub(crate) child: ChildStep,
}

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
pub(crate) struct Limits {
    pub(crate) max_steps: Option<u64>,
    pub(crate) cancel: Option<tokio_util::sync::CancellationToken>,
}

impl Limits {
    /// At most `max_steps` steps, cancelled by `cancel`, as a context keeps them: `None` if
    /// there is no limit.
    pub(crate) fn shared(
        max_steps: Option<u64>,
        cancel: Option<tokio_util::sync::CancellationToken>,
    ) -> Option<Arc<Self>> {
        let none = max_steps.is_none() && cancel.is_none();
        (!none).then(|| Arc::new(Limits { max_steps, cancel }))
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
            limits: None,
            left: ChildLeft::Done,
            durable: false,
            turns: None,
            going_on: false,
            routed: None,
        }
    }

    /// Watched (and, for a durable run, saved) through `run`'s scope: what the driver runs.
    pub(crate) fn watched(mut self, run: Arc<RunScope>) -> Self {
        self.run = Some(run);
        self
    }

    /// Limited by `limits` ([`Limits::shared`]), which reach into the run's child runs.
    pub(crate) fn limited(mut self, limits: Option<Arc<Limits>>) -> Self {
        self.limits = limits;
        self
    }

    /// The limits of the run, for its child runs; `None` if it has none.
    pub(crate) fn limits(&self) -> Option<&Arc<Limits>> {
        self.limits.as_ref()
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

    /// What the run keeps across the turns of its loop, made if it has none yet.
    fn turns(&mut self) -> &mut Turns {
        self.turns.get_or_insert_with(Box::default)
    }

    /// Tells a durable run's context that its latest checkpoint is number `at` (a run that
    /// is not durable has none, and keeps nothing).
    pub(crate) fn set_at(&mut self, at: u64) {
        if self.durable {
            self.turns().at = at;
        }
    }

    /// The number of a durable run's latest checkpoint, as the driver last told it.
    pub(crate) fn at(&self) -> u64 {
        self.turns.as_ref().map_or(0, |turns| turns.at)
    }

    /// Records the step the child run of the step running now took.
    pub(crate) fn set_child_step(&mut self, step: ChildStep) {
        self.turns().child_step = Some(step);
    }

    /// The step the child run of the step that just ran took, if it is one; clears it.
    pub(crate) fn take_child_step(&mut self) -> Option<ChildStep> {
        self.turns.as_mut()?.child_step.take()
    }

    /// Takes the context of the child run in progress, kept across the turns of a durable
    /// parent.
    pub(crate) fn take_kept_child(&mut self) -> Option<Box<Context>> {
        self.turns.as_mut()?.kept_child.take()
    }

    /// Keeps `child`, the context of the child run in progress, for the parent's next turn.
    pub(crate) fn keep_child(&mut self, child: Box<Context>) {
        self.turns().kept_child = Some(child);
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
    pub(crate) fn set_limits(&mut self, limits: Option<Arc<Limits>>) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_context_stays_small() {
        // Every run's future holds its context to the end, for each run in flight: what only
        // a limited or durable run needs is behind a pointer. 88 bytes: the name, the loop
        // counters, the scope, the step count, the limits, the durable run's turns, the
        // routed error and three flags.
        let size = std::mem::size_of::<Context>();
        assert!(size <= 88, "`Context` is {size} bytes");
    }
}
