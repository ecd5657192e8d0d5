//! The executor: runs workflows in memory with the options it holds, and hands each run out as
//! a [`Run`] the caller takes its output, report or events from.

mod run;

use std::sync::Arc;

use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::error::Error;
use crate::event::{Event, Events, Hub};
use crate::run::Options;
use crate::state::Loops;
use crate::usage::{Budget, Pricing};
use crate::workflow::{Answer, Pause, Workflow};

pub use run::Run;

/// Runs workflows in memory, with optional cancellation, step limit, usage budget and prices,
/// and sends the [`Event`](crate::event::Event)s of its runs to its subscribers.
///
/// [`start`](Self::start) hands out a [`Run`]: await it for the output, or take its
/// [`report`](Run::report) or its [`events`](Run::events).
///
/// ```
/// # use workflow_runtime::{Executor, Error};
/// use tokio_util::sync::CancellationToken;
/// use workflow_runtime::usage::{Budget, Price, Pricing};
///
/// let cancel = CancellationToken::new();
/// let executor = Executor::new()
///     .cancellation(cancel.clone())
///     .max_steps(1_000)
///     .pricing(Pricing::new().default_price(Price::new(0.15, 0.60)))
///     .budget(Budget::new().max_usd(0.10).max_calls(50));
/// // executor.start(&my_workflow, input).await?;  // cancel.cancel() stops it
/// // executor.start(&my_workflow, input).report().await.usage  // what its model calls spent
/// # let _ = executor;
/// ```
#[derive(Debug, Clone, Default)]
pub struct Executor {
    cancel: Option<CancellationToken>,
    max_steps: Option<u64>,
    budget: Budget,
    pricing: Option<Arc<Pricing>>,
    /// The channel of [`subscribe`](Self::subscribe), shared with clones.
    events: Hub,
}

impl Executor {
    /// How many events a subscriber may fall behind by default.
    pub(crate) const CAPACITY: usize = crate::event::DEFAULT_CAPACITY;

    /// An executor with no cancellation, no step limit, no budget and no prices.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stops runs when `token` is cancelled: the step in flight is dropped and the run fails
    /// with [`Error::Cancelled`](crate::Error::Cancelled).
    pub fn cancellation(mut self, token: CancellationToken) -> Self {
        self.cancel = Some(token);
        self
    }

    /// Fails runs that take more than `max` steps with
    /// [`Error::StepLimit`](crate::Error::StepLimit): a global budget on top of the bounds of
    /// the graph's loops.
    pub fn max_steps(mut self, max: u64) -> Self {
        self.max_steps = Some(max);
        self
    }

    /// Fails runs whose model calls use up `budget` with
    /// [`Error::BudgetExceeded`](crate::Error::BudgetExceeded): see [`Budget`].
    pub fn budget(mut self, budget: Budget) -> Self {
        self.budget = budget;
        self
    }

    /// Estimates the cost of runs' model calls with `pricing`, for their reports and USD
    /// budgets.
    pub fn pricing(mut self, pricing: impl Into<Arc<Pricing>>) -> Self {
        self.pricing = Some(pricing.into());
        self
    }

    /// How many events each subscriber may fall behind before it loses the oldest (1024 by
    /// default): see [`Events`] for what it loses. Call it before
    /// [`subscribe`](Self::subscribe): it starts a new channel, which clones made before do
    /// not share.
    pub fn event_capacity(mut self, capacity: usize) -> Self {
        self.events = Hub::new(capacity);
        self
    }

    /// A subscriber to the events of every run this executor, or a clone of it, starts from
    /// now on, in any task. Runs started while nobody subscribes send nothing.
    ///
    /// A run never waits for its subscribers: one that falls behind loses the oldest events
    /// it has not read (see [`Events`]). [`Events::recv`] returns `None` once the executor and
    /// its clones are dropped and their runs have ended.
    ///
    /// ```
    /// use workflow_runtime::{event::EventKind, Executor};
    /// # use workflow_runtime::{Context, Error, Workflow};
    /// # struct Noop;
    /// # impl Workflow for Noop {
    /// #     type Input = u32; type Output = u32; type State = Result<u32, u32>;
    /// #     const NAME: &'static str = "Noop"; const FINGERPRINT: u64 = 1;
    /// #     const STEPS: &'static [&'static str] = &["noop"];
    /// #     fn start(input: u32) -> Self::State { Err(input) }
    /// #     fn finish(state: Self::State) -> Result<u32, Self::State> { state.map_err(Err) }
    /// #     fn step_name(state: &Self::State) -> &'static str { if state.is_ok() { "end" } else { "noop" } }
    /// #     async fn transition(&self, state: Self::State, _: &mut Context) -> Result<Self::State, Error> {
    /// #         Ok(Ok(state.unwrap_or_else(|x| x)))
    /// #     }
    /// # }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), workflow_runtime::Error> {
    /// let executor = Executor::new();
    /// let mut events = executor.subscribe();
    /// executor.start(&Noop, 1).await?;
    /// executor.start(&Noop, 2).await?;
    /// drop(executor);
    ///
    /// let mut runs = Vec::new();
    /// while let Some(event) = events.recv().await {
    ///     if let EventKind::RunStarted { .. } = event.kind {
    ///         runs.push(event.run);
    ///     }
    /// }
    /// assert_eq!(runs.len(), 2);
    /// assert!(runs[0] < runs[1], "run ids are UUID v7: they sort by start time");
    /// # Ok(())
    /// # }
    /// ```
    pub fn subscribe(&self) -> Events {
        self.events.subscribe()
    }

    /// A run of `workflow` on `input` with this executor's options: await it for the output,
    /// or take its [`report`](Run::report) or its [`events`](Run::events).
    pub fn start<'a, W: Workflow>(&'a self, workflow: &'a W, input: W::Input) -> Run<'a, W> {
        self.start_from(workflow, W::start(input), Loops::new())
    }

    /// A run of `workflow` from `state` and `loops`, as saved from an earlier run, with this
    /// executor's options.
    pub fn start_from<'a, W: Workflow>(
        &'a self,
        workflow: &'a W,
        state: W::State,
        loops: Loops,
    ) -> Run<'a, W> {
        Run::from_state(workflow, Some(self), state, loops)
    }

    /// The run of `workflow` that waited at `pause`, going on with the value `value`, with this
    /// executor's options: a new run, from the pause's step. `pause` comes from the
    /// [report](Run::report) of an in-memory run: no store is needed for a run with a human in
    /// the loop. A value of a type none of `W`'s pauses waits for does not compile.
    ///
    /// ```
    /// use serde::{Deserialize, Serialize};
    /// use workflow_runtime::{Answer, Context, Error, Executor, Outcome, Workflow};
    ///
    /// /// Waits for a yes or no on its input, then ends with it.
    /// struct Approve;
    ///
    /// #[derive(Serialize, Deserialize)]
    /// enum State {
    ///     Waiting(String),
    ///     Given(String, bool),
    ///     End(String),
    /// }
    ///
    /// impl Workflow for Approve {
    ///     type Input = String;
    ///     type Output = String;
    ///     type State = State;
    ///     const NAME: &'static str = "Approve";
    ///     const FINGERPRINT: u64 = 1;
    ///     const STEPS: &'static [&'static str] = &["decide"];
    ///     fn start(input: String) -> State {
    ///         State::Waiting(input)
    ///     }
    ///     fn finish(state: State) -> Result<String, State> {
    ///         match state {
    ///             State::End(out) => Ok(out),
    ///             state => Err(state),
    ///         }
    ///     }
    ///     fn step_name(state: &State) -> &'static str {
    ///         match state {
    ///             State::End(_) => "end",
    ///             _ => "decide",
    ///         }
    ///     }
    ///     fn pause(state: &State) -> Option<workflow_runtime::Pause> {
    ///         match state {
    ///             State::Waiting(text) => Some(workflow_runtime::Pause::new("decide", text.clone().into())),
    ///             _ => None,
    ///         }
    ///     }
    ///     async fn transition(&self, state: State, _: &mut Context) -> Result<State, Error> {
    ///         match state {
    ///             State::Given(text, yes) => Ok(State::End(format!("{text}: {yes}"))),
    ///             state => Ok(state),
    ///         }
    ///     }
    /// }
    ///
    /// impl Answer<bool> for Approve {
    ///     fn answer(state: State, yes: bool) -> Result<State, Error> {
    ///         match state {
    ///             State::Waiting(text) => Ok(State::Given(text, yes)),
    ///             state => Err(Error::NotPaused { workflow: "Approve", step: Self::step_name(&state) }),
    ///         }
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Error> {
    /// let executor = Executor::new();
    /// let report = executor.start(&Approve, "ship it".into()).report().await;
    /// let Outcome::Suspended(pause) = report.outcome else { panic!("it waits") };
    /// assert_eq!(pause.payload, "ship it");
    /// let output = executor.answer(&Approve, &pause, true)?.await?;
    /// assert_eq!(output, "ship it: true");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotResumable`] if `pause` is a durable run's (answer it with
    /// [`Runner::answer`](crate::Runner::answer)) or another workflow's.
    pub fn answer<'a, W: Answer<V>, V>(
        &'a self,
        workflow: &'a W,
        pause: &Pause,
        value: V,
    ) -> Result<Run<'a, W>, Error> {
        let (state, loops) = pause.answered::<W>(|state| W::answer(state, value))?;
        Ok(self.start_from(workflow, state, loops))
    }

    /// [`answer`](Self::answer) with the value as JSON (from outside the program: a web form,
    /// a queue).
    ///
    /// # Errors
    ///
    /// As [`answer`](Self::answer), and [`Error::AnswerValue`] if `value` is not of the type
    /// the pause waits for.
    pub fn answer_json<'a, W: Workflow>(
        &'a self,
        workflow: &'a W,
        pause: &Pause,
        value: serde_json::Value,
    ) -> Result<Run<'a, W>, Error> {
        let (state, loops) = pause.answered::<W>(|state| W::answer_json(state, value))?;
        Ok(self.start_from(workflow, state, loops))
    }

    /// The options a run started here has, its events also going to `sink`.
    pub(crate) fn options(&self, sink: Option<broadcast::Sender<Event>>) -> Options<'_> {
        Options {
            cancel: self.cancel.as_ref(),
            max_steps: self.max_steps,
            budget: self.budget,
            pricing: self.pricing.as_ref(),
            sinks: self.events.listened().into_iter().chain(sink).collect(),
        }
    }

    /// How many events a subscriber may fall behind.
    pub(crate) fn capacity(&self) -> usize {
        self.events.capacity()
    }
}
