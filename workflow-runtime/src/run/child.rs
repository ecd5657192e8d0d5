//! A workflow that runs as one step of another, inline, through the same loop as every run:
//! [`Context::child`].

use std::future::Future;
use std::sync::Arc;

use tracing::Instrument;

use super::drive::{drive_to, Hooks, Reached};
use crate::context::{ChildLeft, ChildStep, Context, Lent, WaitingAt, WaitingChild, Waits};
use crate::error::Error;
use crate::policy::StepPolicy;
use crate::scope::{Ending, RunScope};
use crate::state::{ChildState, ChildStop, Loops};
use crate::workflow::Workflow;

impl Context {
    /// Runs step `step`, which is the workflow `workflow`, from `child` (its state in the
    /// parent's: [`ChildState::new`]`(C::start(input))` when the step is entered) until the
    /// child's end or a pause, through the same loop as every run.
    ///
    /// The child runs inline: the run's cancellation, step budget and spending budget reach
    /// into it (its steps count against the parent's [`max_steps`](crate::Executor::max_steps));
    /// in a watched run its events go to the parent's subscribers tagged with the step
    /// (see [`Event::path`](crate::event::Event::path)), its model calls are accounted to its
    /// own steps in its events and to `step` in the parent's report, and its spans are children
    /// of the step's. `policy`'s timeout bounds the whole child run; a child is not retried
    /// as a whole (its own steps have their policies).
    ///
    /// In a durable run, the child takes one of its steps per call: it returns
    /// [`ChildStop::Waiting`] with the state it reached, which the parent's state holds, and
    /// the driver saves that state, then calls the transition again, which goes on with the
    /// child. So each step of the child is checkpointed, and a run resumed after a crash runs
    /// no finished step of the child again. (`policy`'s timeout then bounds each call.) The
    /// child's own steps that are workflows run the same way, one step of theirs per step of
    /// the child, and are child runs of the child, at any depth.
    ///
    /// ```
    /// use workflow_runtime::state::{ChildState, ChildStop};
    /// use workflow_runtime::{Context, Error, StepPolicy, Workflow};
    /// # use serde::{Deserialize, Serialize};
    /// # struct Shout;
    /// # #[derive(Debug, Serialize, Deserialize)]
    /// # enum ShoutState { Upper(String), Done(String) }
    /// # impl Workflow for Shout {
    /// #     type Input = String; type Output = String; type State = ShoutState;
    /// #     const NAME: &'static str = "Shout"; const FINGERPRINT: u64 = 1;
    /// #     const STEPS: &'static [&'static str] = &["upper"];
    /// #     fn start(input: String) -> ShoutState { ShoutState::Upper(input) }
    /// #     fn finish(state: ShoutState) -> Result<String, ShoutState> {
    /// #         match state { ShoutState::Done(out) => Ok(out), other => Err(other) }
    /// #     }
    /// #     fn step_name(state: &ShoutState) -> &'static str {
    /// #         match state { ShoutState::Upper(_) => "upper", ShoutState::Done(_) => "end" }
    /// #     }
    /// #     async fn transition(&self, state: ShoutState, _: &mut Context) -> Result<ShoutState, Error> {
    /// #         Ok(match state { ShoutState::Upper(t) => ShoutState::Done(t.to_uppercase()), done => done })
    /// #     }
    /// # }
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let mut cx = Context::new("Parent");
    /// let child = ChildState::new(Shout::start("hi".to_owned()));
    /// match cx.child("shout", &StepPolicy::new(), &Shout, child).await? {
    ///     ChildStop::Finished(out) => assert_eq!(out, "HI"),
    ///     ChildStop::Waiting(_) => unreachable!("`Shout` has no pause"),
    /// }
    /// # Ok::<(), Error>(()) }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Step`] naming `step`, whose source is the child's error (which names the
    /// child's step); [`Error::Timeout`] naming `step` if `policy`'s timeout passed. What stops the whole
    /// run passes through unchanged: [`Error::Cancelled`], [`Error::StepLimit`],
    /// [`Error::BudgetExceeded`].
    #[inline]
    pub fn child<'a, C: Workflow>(
        &'a mut self,
        step: &'static str,
        policy: &'a StepPolicy,
        workflow: &'a C,
        child: ChildState<C::State>,
    ) -> impl Future<Output = Result<ChildStop<C::State, C::Output>, Error>> + Send + 'a {
        // Not an `async fn`: what the step's future holds is chosen here. A plain child (in a
        // run nothing watches, limits or saves) needs the child's loop and a loan of this
        // context, so its future holds that: the loan, made here rather than in the future,
        // and the child's state, not the `ChildState` they came from too. A durable run's
        // child takes one step per turn, saved: never plain.
        let plain = self.run().is_none()
            && self.limits().is_none()
            && policy.attempt_timeout().is_none()
            && !self.is_durable();
        let start = match plain {
            true => Ok(self.lend(C::NAME, child)),
            // Boxed, so that a plain child's future does not hold what watching one takes.
            false => Err(Box::pin(self.held_child(step, policy, workflow, child))),
        };
        async move {
            let (mut lent, state) = match start {
                Ok(lent) => lent,
                Err(held) => return held.await,
            };
            // A child at its end takes no step (a `transition` is never given the end).
            let state = match C::finish(state) {
                Ok(output) => return Ok(ChildStop::Finished(output)),
                Err(state) => state,
            };
            // The child's next step runs now (it does not wait at a pause, a sleep or a
            // signal): `__steps` takes it to its end, or to a state that waits. Anything but
            // its end is rare, and goes on in a future of its own, boxed, which this one then
            // does not hold.
            let runs = C::pause(&state).is_none()
                && C::wakes_at(&state).is_none()
                && C::receives(&state).is_none();
            let state = match runs {
                true => match workflow.__steps(state, lent.cx(), false).await {
                    Ok(state) => match C::finish(state) {
                        Ok(output) => return Ok(ChildStop::Finished(output)),
                        Err(state) => state,
                    },
                    Err(error) => return Err(lent.end().child_failed(step, error)),
                },
                false => state,
            };
            Box::pin(plain_child_waits(workflow, state, lent, step)).await
        }
    }

    /// [`Context::child`] in a run something watches, limits or saves.
    async fn held_child<C: Workflow>(
        &mut self,
        step: &'static str,
        policy: &StepPolicy,
        workflow: &C,
        mut child: ChildState<C::State>,
    ) -> Result<ChildStop<C::State, C::Output>, Error> {
        // A durable run's child is a run of its own, named by where it started.
        if self.is_durable() && child.started.is_none() {
            child.started = Some(self.at());
        }
        let (started, seq) = (child.started, child.seq);
        // Boxed, though this future is boxed too: a box for the whole, with the child's
        // driver inside it, is built on the stack and copied in (13,102 instructions for a
        // watched parent's run in `benches/compose.rs`, against 12,591 with two boxes).
        let (reached, loops, timed_out, grandchild) =
            Box::pin(self.watched_child(step, policy, workflow, child)).await;
        match reached {
            Ok(Reached::End(output)) => Ok(ChildStop::Finished(output)),
            Ok(Reached::Pause(state, _)) => Ok(self.child_paused(*state, loops, (started, seq))),
            // Only a durable run stops at a sleep; a child's is its parent's.
            Ok(Reached::Stepped(state) | Reached::Sleep(state, _) | Reached::Await(state, _)) => {
                self.set_left(ChildLeft::Running);
                let durable = started.filter(|_| self.is_durable());
                // The step is saved as the child's next checkpoint.
                let next = seq.map_or(0, |seq| seq + 1);
                let mut child = ChildState {
                    state: *state,
                    loops,
                    started,
                    seq: durable.map(|_| next),
                };
                if let Some(started) = durable {
                    // Its own child that waits before its first step finished: its row too.
                    let grandchild = grandchild.or_else(|| {
                        C::waiting_child(&mut child.state, WaitingAt::pause(next))
                            .map(|waiting| waiting.child)
                    });
                    self.record_child_step::<C>(step, started, &child, grandchild)?;
                }
                Ok(ChildStop::Waiting(child))
            }
            Err(error) if timed_out => Err(error),
            Err(error) => Err(self.child_failed(step, error)),
        }
    }

    /// Runs step `step`, a branch of a fan-out or a map that is the workflow `workflow`, on
    /// `input`, inline until the child's end: its output.
    ///
    /// As [`child`](Self::child) does, but from the shared context of a fork's branches and
    /// to the end, in one go: the run's cancellation, budgets and step limit reach into it
    /// (its steps count from the parent's, for the limit), and its events and model calls are
    /// the branch's. A durable run saves a branch when it finishes, with its output, and
    /// saves nothing of the child's steps in between: after a crash, a child that had not
    /// finished runs again from its first step (as any unfinished branch runs again).
    ///
    /// ```
    /// use workflow_runtime::{Context, Error, StepPolicy, Workflow};
    /// # use serde::{Deserialize, Serialize};
    /// # struct Shout;
    /// # #[derive(Debug, Serialize, Deserialize)]
    /// # enum ShoutState { Upper(String), Done(String) }
    /// # impl Workflow for Shout {
    /// #     type Input = String; type Output = String; type State = ShoutState;
    /// #     const NAME: &'static str = "Shout"; const FINGERPRINT: u64 = 1;
    /// #     const STEPS: &'static [&'static str] = &["upper"];
    /// #     fn start(input: String) -> ShoutState { ShoutState::Upper(input) }
    /// #     fn finish(state: ShoutState) -> Result<String, ShoutState> {
    /// #         match state { ShoutState::Done(out) => Ok(out), other => Err(other) }
    /// #     }
    /// #     fn step_name(state: &ShoutState) -> &'static str {
    /// #         match state { ShoutState::Upper(_) => "upper", ShoutState::Done(_) => "end" }
    /// #     }
    /// #     async fn transition(&self, state: ShoutState, _: &mut Context) -> Result<ShoutState, Error> {
    /// #         Ok(match state { ShoutState::Upper(t) => ShoutState::Done(t.to_uppercase()), done => done })
    /// #     }
    /// # }
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let cx = Context::new("Parent");
    /// let policy = StepPolicy::new();
    /// let (a, b) = tokio::try_join!(
    ///     cx.child_branch("shout", &policy, &Shout, "hi".to_owned()),
    ///     cx.child_branch("shout", &policy, &Shout, "there".to_owned()),
    /// )?;
    /// assert_eq!((a.as_str(), b.as_str()), ("HI", "THERE"));
    /// # Ok::<(), Error>(()) }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// Those of [`child`](Self::child); and [`Error::Step`] naming `step` if the child
    /// reaches a pause, a sleep or a signal it waits for: a branch cannot wait (run such a
    /// workflow as a step of its own, after the fork).
    pub async fn child_branch<C: Workflow>(
        &self,
        step: &'static str,
        policy: &StepPolicy,
        workflow: &C,
        input: C::Input,
    ) -> Result<C::Output, Error> {
        // A context of the branch's own, so that branches run their children side by side;
        // not durable: the child goes to its end in one call.
        let mut cx = Context::new(self.workflow()).limited(self.limits().cloned());
        if let Some(run) = self.run() {
            cx = cx.watched(Arc::clone(run));
        }
        cx.set_taken(self.taken());
        let child = ChildState::new(C::start(input));
        match cx.child(step, policy, workflow, child).await? {
            ChildStop::Finished(output) => Ok(output),
            ChildStop::Waiting(state) => {
                let at = C::step_name(&state.state);
                Err(Error::Step {
                    workflow: self.workflow(),
                    step,
                    attempts: 1,
                    source: Box::new(Error::other(format!(
                        "the workflow `{}` waits before its step `{at}` (a pause, a sleep or a \
                         signal), which a branch of a fan-out or a map cannot do; run it as a \
                         step of its own, after the fork",
                        C::NAME
                    ))),
                })
            }
        }
    }

    /// [`Context::child`] in a run something watches or limits: the child in a scope of its
    /// own, under the run's limits and `policy`'s timeout. Returns where it stopped, its loop
    /// counters, whether the timeout stopped it, and, in a durable run, the step its own
    /// child run took in its step.
    async fn watched_child<C: Workflow>(
        &mut self,
        step: &'static str,
        policy: &StepPolicy,
        workflow: &C,
        child: ChildState<C::State>,
    ) -> (Result<Reached<C>, Error>, Loops, bool, Option<ChildStep>) {
        let limits = self.limits().cloned();
        let hooks = Hooks {
            max_steps: limits
                .as_ref()
                .and_then(|limits| limits.max_steps)
                .unwrap_or(u64::MAX),
            cancel: limits.as_ref().and_then(|limits| limits.cancel.as_ref()),
            saver: None,
            one_step: self.is_durable(),
        };
        // A durable parent's child takes one step per turn of the parent's loop, in the same
        // context (its scope, its own child's context) each time.
        let mut cx = match self.take_kept_child() {
            Some(kept) => {
                let mut cx = *kept;
                cx.set_loops(child.loops);
                cx.set_limits(limits.clone());
                cx
            }
            None => {
                let mut cx = Context::with_loops(C::NAME, child.loops).limited(limits.clone());
                if self.is_durable() {
                    // Its own child runs are durable runs of theirs too.
                    cx = cx.durable();
                }
                let scope = self.run().and_then(|_| RunScope::child(C::NAME, C::STEPS));
                if let Some(scope) = scope {
                    scope.started(None);
                    cx = cx.watched(scope);
                }
                cx
            }
        };
        cx.set_taken(self.taken());
        // Where a child run of the child's step starts from: its latest checkpoint.
        cx.set_at(child.seq.unwrap_or(0));
        let scope = cx.run().cloned();
        let driven = drive_to(workflow, child.state, &mut cx, &hooks);
        let driven = async {
            match &scope {
                None => driven.await,
                Some(scope) => {
                    let span = scope.trace().map(|trace| trace.span().clone());
                    let entered = scope.scope().enter(driven);
                    entered
                        .instrument(span.unwrap_or_else(tracing::Span::none))
                        .await
                }
            }
        };
        // Whether the step's own timeout stopped the child.
        let (reached, timed_out) = match policy.attempt_timeout() {
            None => (driven.await, false),
            Some(after) => match tokio::time::timeout(after, driven).await {
                Ok(reached) => (reached, false),
                Err(_) => {
                    let workflow = self.workflow();
                    (
                        Err(Error::Timeout {
                            workflow,
                            step,
                            after,
                        }),
                        true,
                    )
                }
            },
        };
        self.set_taken(cx.taken());
        let ending = match &reached {
            Ok(Reached::End(_)) => Ending::Completed,
            Ok(Reached::Pause(_, pause)) => Ending::Suspended(pause.outer_step()),
            Ok(Reached::Stepped(_) | Reached::Sleep(..) | Reached::Await(..)) => {
                let loops = cx.take_loops();
                // The step the child's own child took, saved with the child's.
                let grandchild = cx.take_child_step();
                self.keep_child(Box::new(cx));
                return (reached, loops, timed_out, grandchild);
            }
            Err(error) => Ending::Failed(error),
        };
        if let Some(scope) = &scope {
            scope.ended(ending);
        }
        (reached, cx.into_loops(), timed_out, None)
    }

    /// Records the step the child run of step `step`, started from the parent's checkpoint
    /// `started`, took to reach `child`, with `grandchild`, the step its own child run took
    /// in it: the parent's next checkpoint saves them.
    fn record_child_step<C: Workflow>(
        &mut self,
        step: &'static str,
        started: u64,
        child: &ChildState<C::State>,
        grandchild: Option<ChildStep>,
    ) -> Result<(), Error> {
        let paused = C::pause(&child.state).is_some();
        let seq = child.seq.unwrap_or(0);
        let recorded = child_step::<C>(step, (started, seq), child, paused, grandchild);
        let recorded = recorded.map_err(|error| Error::Checkpoint {
            workflow: C::NAME,
            source: Box::new(error),
        })?;
        self.set_child_step(recorded);
        Ok(())
    }

    /// The child run stopped at a pause in `state`, with `loops`, and `(started, seq)` where
    /// it started and its latest checkpoint: the parent's state holds it, and the run waits.
    fn child_paused<S, O>(
        &mut self,
        state: S,
        loops: Loops,
        (started, seq): (Option<u64>, Option<u64>),
    ) -> ChildStop<S, O> {
        self.set_left(ChildLeft::Paused);
        ChildStop::Waiting(ChildState {
            state,
            loops,
            started,
            seq,
        })
    }

    /// The error of step `step`, a child run that failed with `error`.
    fn child_failed(&self, step: &'static str, error: Error) -> Error {
        match error {
            Error::Cancelled { .. }
            | Error::StepLimit { .. }
            | Error::BudgetExceeded { .. }
            | Error::ApprovalNeeded { .. } => error,
            error => Error::Step {
                workflow: self.workflow(),
                step,
                attempts: 1,
                source: Box::new(error),
            },
        }
    }
}

/// [`Workflow::waiting_child`] for the child run `child` of step `step`, a run of `C`: its
/// record (its checkpoint 0) if it is what `at` looks for, after recording in it that it
/// started from its parent's checkpoint `at` (unless it knows already) and that its latest
/// checkpoint is 0; with the same for its own child, at any depth. `None` (and `child` as it
/// was) otherwise, or if its state does not serialize (the parent's checkpoint then fails,
/// saying why).
///
/// What `at` looks for: a child that waits at a pause before any step of it finished, with
/// no checkpoint yet; or, where a tool call waits for an approval, a child whose first step
/// that is (no checkpoint yet), which may be the child in flight of a child that has
/// checkpoints (started from its latest), at any depth; or, in a fork's first checkpoint, a
/// child in flight that has a checkpoint (in the run forked), or waits at a pause, whose
/// copy in the fork starts from its checkpoint 0 there, and whose own child in flight starts
/// from that.
pub fn waiting_child<C: Workflow>(
    step: &'static str,
    child: &mut ChildState<C::State>,
    at: WaitingAt,
) -> Option<WaitingChild> {
    let paused = C::pause(&child.state).is_some();
    // A child with checkpoints, whose step in flight waits for the approval: the child whose
    // first step that is may be its own, under it.
    if let (Waits::Approval, Some(latest), false) = (at.why, child.seq, paused) {
        let started = child.started?;
        let mut below = C::waiting_child(&mut child.state, WaitingAt::approval(latest))?;
        below.under.insert(0, (step, started));
        return Some(below);
    }
    let waits = match at.why {
        Waits::Pause => child.seq.is_none() && paused,
        Waits::Approval => child.seq.is_none() && !paused,
        Waits::Fork | Waits::Forked => child.seq.is_some() || paused,
    };
    if !waits {
        return None;
    }
    // Its own child started from its checkpoint 0: this one. (A child without checkpoints
    // has none with any: none under which its own would be.)
    let grandchild = C::waiting_child(&mut child.state, at.below())
        .filter(|grandchild| grandchild.under.is_empty());
    let started = match at.why {
        // Its copy of its parent holds it in its checkpoint 0.
        Waits::Forked => 0,
        _ => child.started.unwrap_or(at.at),
    };
    // It waits at its pause, or for the approval, with its parent.
    let paused = paused || at.why == Waits::Approval;
    let grandchild = grandchild.map(|grandchild| grandchild.child);
    // Its checkpoint 0.
    let recorded = child_step::<C>(step, (started, 0), child, paused, grandchild).ok()?;
    (child.started, child.seq) = (Some(started), Some(0));
    Some(WaitingChild {
        under: Vec::new(),
        child: recorded,
    })
}

/// The step child run `child` of step `step`, started from its parent's checkpoint
/// `started`, took to its state, its checkpoint `seq`, waiting there if `paused`, with
/// `grandchild`, the step its own child run took in it: what the parent's checkpoint saves
/// of it.
///
/// # Errors
///
/// The child's state or loop counters do not serialize.
fn child_step<C: Workflow>(
    step: &'static str,
    (started, seq): (u64, u64),
    child: &ChildState<C::State>,
    paused: bool,
    grandchild: Option<ChildStep>,
) -> Result<ChildStep, serde_json::Error> {
    Ok(ChildStep {
        parent_step: step,
        started,
        workflow: C::NAME,
        fingerprint: C::FINGERPRINT,
        step: C::step_name(&child.state),
        paused,
        seq,
        state: serde_json::to_string(&child.state)?,
        loops: child.loops.to_json()?,
        child: grandchild.map(Box::new),
    })
}

/// A plain child ([`Context::child`] in a run nothing watches, limits or saves) from `state`,
/// which waits (at a pause, a sleep or a signal) or which its steps stopped at short of its
/// end, in `lent`, the run's context lent to it: through the driver, as a plain run goes on.
/// Only its end, a pause or an error stop it (nothing saves it, so it neither stops at a
/// sleep or a signal, nor after one step).
async fn plain_child_waits<C: Workflow>(
    workflow: &C,
    state: C::State,
    mut lent: Lent<'_>,
    step: &'static str,
) -> Result<ChildStop<C::State, C::Output>, Error> {
    // Boxed: the driver's future is large, and a child that waits rare.
    match Box::pin(drive_to(workflow, state, lent.cx(), &Hooks::NONE)).await {
        Ok(Reached::End(output)) => Ok(ChildStop::Finished(output)),
        Ok(Reached::Pause(state, _)) => {
            let (cx, loops, at) = lent.give_back();
            Ok(cx.child_paused(*state, loops, at))
        }
        Ok(Reached::Stepped(_) | Reached::Sleep(..) | Reached::Await(..)) => {
            let error = Error::other("a child run nothing saves stopped short of its end");
            Err(lent.end().child_failed(step, error))
        }
        Err(error) => Err(lent.end().child_failed(step, error)),
    }
}
