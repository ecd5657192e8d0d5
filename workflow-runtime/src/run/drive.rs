//! The one loop every run goes through: take the step the state names, run it, save the state
//! it leads to, until the end or a pause.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{self, Poll};
use std::time::SystemTime;

use futures_util::FutureExt;
use pin_project_lite::pin_project;

use tokio_util::sync::CancellationToken;
use tracing::Span;

use crate::context::{ChildLeft, ChildStep, Context, WaitingAt};
use crate::error::Error;
use crate::future::BoxFuture;
use crate::state::Loops;
use crate::usage::SavedUsage;
use crate::workflow::{Pause, Workflow};

/// Where a run stopped, short of an error.
pub(crate) enum Stop<W: Workflow> {
    /// At `end`, with the output.
    Finished(W::Output),
    /// At a pause, waiting for a value: what the pause shows (boxed: a pause is rare, and
    /// every run's result is moved through the layers of its future).
    Suspended { pause: Box<Pause> },
    /// A durable run, asleep until `until` before step `step`.
    Sleeping {
        step: &'static str,
        until: SystemTime,
    },
    /// A durable run, waiting before step `step` for a message of signal `signal`.
    Receiving {
        step: &'static str,
        signal: &'static str,
    },
    /// A durable run, whose step `step` made a tool call that waits for a human's approval
    /// ([`Error::ApprovalNeeded`]): it goes on from the checkpoint the step started from.
    Approving { step: &'static str },
}

impl<W: Workflow> Stop<W> {
    /// The output of a run that stopped here, for a caller that takes only the output.
    ///
    /// # Errors
    ///
    /// Where the run stopped short of its end: [`Error::Suspended`] at a pause (or at a tool
    /// call that waits for an approval), [`Error::Sleeping`], [`Error::AwaitingSignal`].
    pub(crate) fn into_output(self) -> Result<W::Output, Error> {
        match self {
            Stop::Finished(output) => Ok(output),
            Stop::Suspended { pause } => Err(Error::Suspended {
                workflow: W::NAME,
                step: pause.step,
            }),
            Stop::Approving { step } => Err(Error::Suspended {
                workflow: W::NAME,
                step,
            }),
            Stop::Sleeping { step, .. } => Err(Error::Sleeping {
                workflow: W::NAME,
                step,
            }),
            Stop::Receiving { step, signal } => Err(Error::AwaitingSignal {
                workflow: W::NAME,
                step,
                signal,
            }),
        }
    }
}

/// Saves the state a durable run reaches after each step: its next checkpoint.
pub(crate) trait Saver<S>: Send + Sync {
    /// Saves `state`, `loops` and what the run spent so far, `usage`, as the run's latest
    /// checkpoint, with `child`, the step the child run in the state took, in the same write.
    fn save<'a>(
        &'a self,
        state: &'a S,
        loops: &'a Loops,
        usage: SavedUsage,
        child: Option<ChildStep>,
    ) -> BoxFuture<'a, Result<(), Error>>;

    /// The number of the run's latest checkpoint.
    fn version(&self) -> u64;

    /// The oldest message queued for the run under signal `signal`: its number in the queue,
    /// and its JSON.
    fn receive(
        &self,
        signal: &'static str,
    ) -> BoxFuture<'_, Result<Option<(u64, serde_json::Value)>, Error>>;

    /// Saves the checkpoint that ends the run, if its last step reached one, with the events
    /// the run emitted since: [`save`](Self::save) may keep a checkpoint of a finished or
    /// suspended run back until the run has emitted its last event, to save both in one write.
    fn save_ending(&self) -> BoxFuture<'_, Result<(), Error>>;

    /// [`save`](Self::save), taking message number `message` off the run's queue in the
    /// same write: `state` holds it now.
    fn save_received<'a>(
        &'a self,
        state: &'a S,
        loops: &'a Loops,
        usage: SavedUsage,
        message: u64,
    ) -> BoxFuture<'a, Result<(), Error>>;
}

/// What a run checks before each step, and what it does after: nothing for a run nothing
/// limits, watches or saves.
pub(crate) struct Hooks<'a, S> {
    /// The most steps it may take.
    pub(crate) max_steps: u64,
    /// It stops once this is cancelled.
    pub(crate) cancel: Option<&'a CancellationToken>,
    /// Where a durable run saves the state after each step.
    pub(crate) saver: Option<&'a dyn Saver<S>>,
    /// Stop after one step: a child run of a durable parent, which saves the parent's state,
    /// holding the child's, after each of the child's steps.
    pub(crate) one_step: bool,
}

impl<S> Hooks<'_, S> {
    /// No limits, no checkpoints.
    pub(crate) const NONE: Self = Hooks {
        max_steps: u64::MAX,
        cancel: None,
        saver: None,
        one_step: false,
    };

    /// Whether there is nothing to check or do.
    fn is_none(&self) -> bool {
        self.max_steps == u64::MAX
            && self.cancel.is_none()
            && self.saver.is_none()
            && !self.one_step
    }

    /// Checks the limits before the `taken`-th step, `step`.
    fn check<W: Workflow<State = S>>(&self, taken: u64, step: &'static str) -> Result<(), Error> {
        if taken > self.max_steps {
            return Err(Error::StepLimit {
                workflow: W::NAME,
                max: self.max_steps,
            });
        }
        if self.cancel.is_some_and(CancellationToken::is_cancelled) {
            return Err(cancelled::<W>(Some(step)));
        }
        Ok(())
    }
}

/// [`Error::Cancelled`] while the run was at `step`.
pub(crate) fn cancelled<W: Workflow>(step: Option<&'static str>) -> Error {
    Error::Cancelled {
        workflow: W::NAME,
        // A fan-out or a map is none of the steps.
        step: step.filter(|step| W::STEPS.contains(step)),
    }
}

/// Runs `workflow` from `state` until it finishes, waits at a pause, or fails: [`drive_to`],
/// then, at a pause, what the pause shows (with the state, for an in-memory run).
///
/// # Errors
///
/// The first error that stops the run.
// Not an `async fn`: its future would keep a copy of each argument.
#[allow(clippy::manual_async_fn)]
pub(crate) fn drive<'a, W: Workflow>(
    workflow: &'a W,
    state: W::State,
    mut cx: Context,
    hooks: &'a Hooks<'a, W::State>,
) -> impl Future<Output = Result<Stop<W>, Error>> + Send + 'a {
    // The run's context is the future's own, not borrowed from the caller's: a caller's
    // future would otherwise keep it beside this one, for every run in flight.
    async move {
        let reached = drive_to(workflow, state, &mut cx, hooks).await;
        stop(reached, &cx, hooks)
    }
}

/// Where a run stopped, from where [`drive_to`] did: at a pause, what the pause shows (with
/// the state, for an in-memory run); a durable run's tool call that waits for an approval.
///
/// # Errors
///
/// The error that stopped the run.
#[inline]
pub(crate) fn stop<W: Workflow>(
    reached: Result<Reached<W>, Error>,
    cx: &Context,
    hooks: &Hooks<'_, W::State>,
) -> Result<Stop<W>, Error> {
    let reached = match reached {
        Err(Error::ApprovalNeeded {
            step: Some(step), ..
        }) if hooks.saver.is_some() => return Ok(Stop::Approving { step }),
        reached => reached?,
    };
    match reached {
        Reached::End(output) => Ok(Stop::Finished(output)),
        Reached::Pause(state, pause) => {
            // A durable run's state is in its store; an in-memory run's goes with its pause.
            let pause = match hooks.saver {
                Some(_) => pause,
                None => Box::new((*pause).holding::<W>(&state, cx.loops())?),
            };
            Ok(Stop::Suspended { pause })
        }
        Reached::Sleep(state, until) => Ok(Stop::Sleeping {
            step: W::step_name(&state),
            until,
        }),
        Reached::Await(state, signal) => Ok(Stop::Receiving {
            step: W::step_name(&state),
            signal,
        }),
        // Only a child run stops after one step.
        Reached::Stepped(_) => Err(Error::other("a run stopped after one step")),
    }
}

/// Where [`drive_to`] stopped, short of an error. The state is boxed wherever the run stops
/// short of its end: that is rare, and what the driver returns is copied whole (its largest
/// variant's size) on its way out of every run, child runs included.
pub(crate) enum Reached<W: Workflow> {
    /// At `end`, with the output.
    End(W::Output),
    /// At a pause: the state that waits there, and what the pause shows.
    Pause(Box<W::State>, Box<Pause>),
    /// After one step, with [`Hooks::one_step`]: the state it led to.
    Stepped(Box<W::State>),
    /// A durable run (with [`Hooks::saver`]) at a step that sleeps until a time to come: the
    /// state (saved already), and the time.
    Sleep(Box<W::State>, SystemTime),
    /// A durable run at a step that receives signal `signal`, none of whose messages is
    /// queued: the state (saved already), and the signal.
    Await(Box<W::State>, &'static str),
}

/// The loop of every run: from `state`, takes one step after another until the end or a
/// pause. Before each step it checks the limits of `hooks` (the steps counted in `cx`, so that
/// a child run counts against its parent's budget) and tells the run's scope (its budget, its
/// events, its span); after each, it saves the state through `hooks` if the run is durable. A
/// run with neither only takes its steps.
///
/// # Errors
///
/// The first error that stops the run.
// Not an `async fn`: its future would keep a copy of each argument.
#[allow(clippy::manual_async_fn)]
pub(crate) fn drive_to<'a, W: Workflow>(
    workflow: &'a W,
    mut state: W::State,
    cx: &'a mut Context,
    hooks: &'a Hooks<'a, W::State>,
) -> impl Future<Output = Result<Reached<W>, Error>> + Send + 'a {
    async move {
        let plain = cx.run().is_none() && hooks.is_none();
        // Whether the step that just ran is a child run in progress (of a durable run), which
        // the next turn goes on with as the same step.
        // A child's context kept across its parent's turns says where its last turn stopped.
        let mut continuing = cx.take_going_on();
        // Whether the run is at its end is asked once here, then after each step, where the
        // state it led to is still in registers: asked at the top of the loop, it wrote the
        // state back into the future just before the state was copied into the next step's
        // future, which then waited on that write (a store-forwarding stall).
        state = match W::finish(state) {
            Ok(output) => return Ok(Reached::End(output)),
            Err(state) => state,
        };
        loop {
            if let Some(pause) = W::pause(&state) {
                return Ok(Reached::Pause(Box::new(state), Box::new(pause)));
            }
            if let Some(until) = W::wakes_at(&state) {
                if let Ok(left) = until.duration_since(SystemTime::now()) {
                    // A durable run gives up its worker while it sleeps; a run in memory
                    // waits (its cancellation drops this future).
                    if hooks.saver.is_some() {
                        return Ok(Reached::Sleep(Box::new(state), until));
                    }
                    tokio::time::sleep(left).await;
                }
            }
            if let Some(signal) = W::receives(&state) {
                state = match receive::<W>(state, signal, cx, hooks).await? {
                    Ok(state) => state,
                    Err(state) => return Ok(Reached::Await(Box::new(state), signal)),
                };
                state = match W::finish(state) {
                    Ok(output) => return Ok(Reached::End(output)),
                    Err(state) => state,
                };
                continue;
            }
            if plain {
                // Nothing to check or do between steps: `Workflow::__steps` takes them one after
                // another in one future, which `#[workflow]` generates (a future of its own
                // for each step, built and dropped, cost a self-loop 2.7 times its
                // hand-written loop), up to a state that may stop the run. This loop looks at
                // that state, and is left for one that sleeps or receives. Its state is a local
                // of its own that this body never borrows (what is asked of it is asked in
                // `after_step`): a local borrowed anywhere in an async body, or live across
                // any of its awaits, is kept in the body's future, and each turn wrote it
                // there and read it back (a store-forwarding stall).
                let mut step = state;
                state = loop {
                    step = match after_step::<W>(workflow.__steps(step, cx, false).await?) {
                        AfterStep::Next(step) => step,
                        AfterStep::Stop(reached) => return Ok(reached),
                        AfterStep::Leave(step) => break step,
                    };
                };
                continue;
            }
            let step = W::step_name(&state);
            let taken = if continuing {
                cx.taken()
            } else {
                cx.count_step()
            };
            if let (Some(run), false) = (cx.run(), continuing) {
                run.enter(W::__step_index(&state));
            }
            hooks.check::<W>(taken, step)?;
            if let Some(saver) = hooks.saver {
                cx.set_at(saver.version());
            }
            let next = {
                let span = match (cx.run(), continuing) {
                    (Some(run), false) => run.start_step()?,
                    _ => None,
                };
                InSpan {
                    step: workflow.transition(state, cx),
                    span,
                }
            };
            state = match hooks.saver {
                None => next.await?,
                // A durable run records a panicking step as its failure and gives up its
                // lease, rather than unwind with the run's lease held.
                Some(_) => AssertUnwindSafe(next)
                    .catch_unwind()
                    .await
                    .unwrap_or_else(|panic| Err(panicked::<W>(step, &*panic)))
                    .map_err(|error| match error {
                        // A call made outside `Context::step` does not name its step.
                        Error::ApprovalNeeded {
                            agent,
                            tool,
                            call_id,
                            step: None,
                        } => Error::ApprovalNeeded {
                            agent,
                            tool,
                            call_id,
                            step: Some(step),
                        },
                        error => error,
                    })?,
            };
            // A step that is a child run which stopped at a pause, or took one of its steps
            // only, did not finish: the next turn of the loop finds the pause, or goes on.
            let left = cx.take_left();
            continuing = left == ChildLeft::Running;
            let routed = cx.take_routed();
            if let (Some(run), ChildLeft::Done) = (cx.run(), left) {
                run.finish_step(routed);
            }
            if let Some(saver) = hooks.saver {
                let usage = cx.run().map(|run| run.saved_usage()).unwrap_or_default();
                // The step the child run in the state took; or a child the state holds that
                // waits before its first step finished, which has its row from this write.
                let child = cx.take_child_step().or_else(|| {
                    let at = WaitingAt::pause(saver.version() + 1);
                    W::waiting_child(&mut state, at).map(|waiting| waiting.child)
                });
                let saved = saver.save(&state, cx.loops(), usage, child);
                saved.await?;
            }
            if hooks.one_step {
                cx.set_going_on(continuing);
                return Ok(Reached::Stepped(Box::new(state)));
            }
            state = match W::finish(state) {
                Ok(output) => return Ok(Reached::End(output)),
                Err(state) => state,
            };
        }
    }
}

/// Where a plain run goes after its steps: on to the next step, to where it stops, or out of
/// its loop of plain steps, to a state that sleeps or receives.
enum AfterStep<W: Workflow> {
    Next(W::State),
    Stop(Reached<W>),
    Leave(W::State),
}

/// Where a plain run goes from `state`, the state its steps led to.
#[inline(always)]
fn after_step<W: Workflow>(state: W::State) -> AfterStep<W> {
    let state = match W::finish(state) {
        Ok(output) => return AfterStep::Stop(Reached::End(output)),
        Err(state) => state,
    };
    if let Some(pause) = W::pause(&state) {
        return AfterStep::Stop(Reached::Pause(Box::new(state), Box::new(pause)));
    }
    if W::wakes_at(&state).is_some() || W::receives(&state).is_some() {
        return AfterStep::Leave(state);
    }
    AfterStep::Next(state)
}

pin_project! {
    /// A step's future, polled in the step's span if it has one. The span is boxed: only a
    /// run that a `tracing` subscriber watches has one, and beside the step's future its 40
    /// bytes would be part of every run's future, to the run's end. Unlike `tracing`'s
    /// `Instrumented`, it does not enter the span to drop the step's future.
    struct InSpan<F> {
        #[pin]
        step: F,
        span: Option<Box<Span>>,
    }
}

impl<F: Future> Future for InSpan<F> {
    type Output = F::Output;

    // Not inlined: the step's own `poll` is inlined in the driver's loop of a plain run,
    // which LLVM stops doing when the driver's other paths inline it too.
    #[inline(never)]
    fn poll(self: Pin<&mut Self>, task: &mut task::Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _entered = this.span.as_deref().map(Span::enter);
        this.step.poll(task)
    }
}

/// Gives `state`, which receives signal `signal`, the oldest message queued for the run, and
/// saves the state that holds it, taking the message off the queue in the same write:
/// `Ok(Ok(state))`, or `Ok(Err(state))` when no message is queued.
///
/// # Errors
///
/// [`Error::SignalNeedsStore`] for a run that is not durable, a message that does not read
/// back, the store's errors.
async fn receive<W: Workflow>(
    state: W::State,
    signal: &'static str,
    cx: &Context,
    hooks: &Hooks<'_, W::State>,
) -> Result<Result<W::State, W::State>, Error> {
    let Some(saver) = hooks.saver else {
        return Err(Error::SignalNeedsStore {
            workflow: W::NAME,
            step: W::step_name(&state),
        });
    };
    let Some((message, value)) = saver.receive(signal).await? else {
        return Ok(Err(state));
    };
    let state = W::deliver_json(state, value)?;
    let usage = cx.run().map(|run| run.saved_usage()).unwrap_or_default();
    saver
        .save_received(&state, cx.loops(), usage, message)
        .await?;
    Ok(Ok(state))
}

/// The error of step `step`, which panicked with `panic`.
fn panicked<W: Workflow>(step: &'static str, panic: &(dyn Any + Send)) -> Error {
    let message = match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(text), _) => (*text).to_owned(),
        (_, Some(text)) => text.clone(),
        _ => "a panic without a message".to_owned(),
    };
    Error::Panicked {
        workflow: W::NAME,
        step,
        message,
    }
}
