//! The executor: drives a workflow's state machine to its end, in memory, and tells its
//! subscribers what it does (`observe.rs`).

mod future;
mod observe;

use std::future::Future;
use std::sync::Arc;

use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::event::{Events, Hub};
use crate::{Budget, Context, Error, Ledger, Loops, Pricing, RunReport, Workflow};

pub use future::RunFuture;
pub use observe::run;

/// Runs workflows in memory, with optional cancellation, step limit, and usage budget, and
/// sends the [`Event`](crate::event::Event)s of its runs to its subscribers.
///
/// ```
/// # use workflow_runtime::{Executor, Error};
/// use tokio_util::sync::CancellationToken;
/// use workflow_runtime::{Budget, Price, Pricing};
///
/// let cancel = CancellationToken::new();
/// let executor = Executor::new()
///     .cancellation(cancel.clone())
///     .max_steps(1_000)
///     .pricing(Pricing::new().default_price(Price::new(0.15, 0.60)))
///     .budget(Budget::new().max_usd(0.10).max_calls(50));
/// // executor.run(&my_workflow, input).await?;  // cancel.cancel() stops it
/// // executor.run_with_report(&my_workflow, input).await.usage  // what its model calls spent
/// # let _ = executor;
/// ```
#[derive(Debug, Clone, Default)]
pub struct Executor {
    cancel: Option<CancellationToken>,
    max_steps: Option<u64>,
    budget: Budget,
    pricing: Arc<Pricing>,
    /// The channel of [`subscribe`](Self::subscribe), shared with clones.
    events: Hub,
}

impl Executor {
    /// An executor with no cancellation, no step limit, no budget and no prices.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stops runs when `token` is cancelled: the step in flight is dropped and the run fails
    /// with [`Error::Cancelled`].
    pub fn cancellation(mut self, token: CancellationToken) -> Self {
        self.cancel = Some(token);
        self
    }

    /// Fails runs that take more than `max` steps with [`Error::StepLimit`]: a global budget on
    /// top of the bounds of the graph's loops.
    pub fn max_steps(mut self, max: u64) -> Self {
        self.max_steps = Some(max);
        self
    }

    /// Fails runs whose model calls use up `budget` with [`Error::BudgetExceeded`]: see
    /// [`Budget`].
    pub fn budget(mut self, budget: Budget) -> Self {
        self.budget = budget;
        self
    }

    /// Estimates the cost of runs' model calls with `pricing`, for
    /// [`run_with_report`](Self::run_with_report) and USD budgets.
    pub fn pricing(mut self, pricing: impl Into<Arc<Pricing>>) -> Self {
        self.pricing = pricing.into();
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
    /// # use workflow_runtime::{Context, Error, Loops, Workflow};
    /// # struct Noop;
    /// # impl Workflow for Noop {
    /// #     type Input = u32; type Output = u32; type State = Result<u32, u32>;
    /// #     const NAME: &'static str = "Noop"; const FINGERPRINT: u64 = 1;
    /// #     const STEPS: &'static [&'static str] = &["noop"];
    /// #     fn start(input: u32) -> Self::State { Err(input) }
    /// #     fn finish(state: Self::State) -> Result<u32, Self::State> { state.map_err(Err) }
    /// #     fn step_name(state: &Self::State) -> &'static str { if state.is_ok() { "end" } else { "noop" } }
    /// #     async fn transition(&self, state: Self::State, _: &mut Loops, _: &Context) -> Result<Self::State, Error> {
    /// #         Ok(Ok(state.unwrap_or_else(|x| x)))
    /// #     }
    /// # }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), workflow_runtime::Error> {
    /// let executor = Executor::new();
    /// let mut events = executor.subscribe();
    /// executor.run(&Noop, 1).await?;
    /// executor.run(&Noop, 2).await?;
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

    /// Runs `workflow` on `input` as [`run`](Self::run) does, and returns the events of this
    /// run alone together with the run's future, which does nothing until awaited. The events
    /// end ([`Events::recv`] returns `None`) once the run has ended; they lag as
    /// [`subscribe`](Self::subscribe)'s do. Subscribers of the executor get them too.
    ///
    /// See the [`event`](crate::event) module for an example.
    pub fn run_with_events<'a, W: Workflow>(
        &'a self,
        workflow: &'a W,
        input: W::Input,
    ) -> (Events, impl Future<Output = Result<W::Output, Error>> + 'a) {
        let (sender, receiver) = broadcast::channel(self.events.capacity());
        let run = async move {
            self.drive(workflow, W::start(input), Loops::new(), None, Some(sender))
                .await
        };
        (Events::new(receiver), run)
    }

    /// Runs `workflow` on `input` to its end.
    ///
    /// # Errors
    ///
    /// The first error that stops the run: see [`Error`].
    pub async fn run<W: Workflow>(
        &self,
        workflow: &W,
        input: W::Input,
    ) -> Result<W::Output, Error> {
        self.run_from(workflow, W::start(input), Loops::new()).await
    }

    /// Runs `workflow` from `state` and `loops`, as saved from an earlier run, to its end.
    ///
    /// # Errors
    ///
    /// The first error that stops the run: see [`Error`].
    pub async fn run_from<W: Workflow>(
        &self,
        workflow: &W,
        state: W::State,
        loops: Loops,
    ) -> Result<W::Output, Error> {
        self.drive(workflow, state, loops, None, None).await
    }

    /// Runs `workflow` on `input` to its end, and reports what its model calls spent, per step
    /// and in total, whether it succeeded or not.
    ///
    /// ```
    /// # use std::future::Future;
    /// # use std::sync::Arc;
    /// # use serde::{Deserialize, Serialize};
    /// use workflow_runtime::provider::{ChatResponse, Scripted, Usage};
    /// use workflow_runtime::{Agent, Error, Executor, Price, Pricing};
    /// # use workflow_runtime::{Context, Loops, StepPolicy, Workflow};
    ///
    /// // A one-step workflow whose step asks an agent, written by hand (`#[workflow]` writes
    /// // the same).
    /// struct Summarise { agent: Agent }
    /// # #[derive(Serialize, Deserialize)]
    /// # enum State { Summary(String), Done(String) }
    /// # impl Workflow for Summarise {
    /// #     type Input = String;
    /// #     type Output = String;
    /// #     type State = State;
    /// #     const NAME: &'static str = "Summarise";
    /// #     const FINGERPRINT: u64 = 1;
    /// #     const STEPS: &'static [&'static str] = &["summary"];
    /// #     fn start(input: String) -> State { State::Summary(input) }
    /// #     fn finish(state: State) -> Result<String, State> {
    /// #         match state { State::Done(out) => Ok(out), other => Err(other) }
    /// #     }
    /// #     fn step_name(state: &State) -> &'static str {
    /// #         match state { State::Summary(_) => "summary", State::Done(_) => "end" }
    /// #     }
    /// #     fn transition<'a>(
    /// #         &'a self, state: State, _loops: &'a mut Loops, cx: &'a Context,
    /// #     ) -> impl Future<Output = Result<State, Error>> + Send + 'a {
    /// #         async move {
    /// #             const POLICY: StepPolicy = StepPolicy::new();
    /// #             Ok(match state {
    /// #                 State::Summary(text) => State::Done(cx.step("summary", &POLICY, async {
    /// #                     Ok(self.agent.prompt(&text).await?)
    /// #                 }).await?),
    /// #                 done @ State::Done(_) => done,
    /// #             })
    /// #         }
    /// #     }
    /// # }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Error> {
    /// let model = Scripted::new().reply(ChatResponse::new("short").with_usage(Usage::new(1_000, 10)));
    /// let workflow = Summarise { agent: Agent::builder(Arc::new(model)).build() };
    /// let executor = Executor::new().pricing(Pricing::new().default_price(Price::new(1.0, 4.0)));
    ///
    /// let report = executor.run_with_report(&workflow, "a long text".into()).await;
    /// let summary = report.usage.step("summary").expect("the step made a call");
    /// assert_eq!((summary.calls, summary.usage.input_tokens), (1, 1_000));
    /// assert!((report.usage.total.cost_usd - 0.00104).abs() < 1e-12);
    /// assert_eq!(report.result?, "short");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn run_with_report<W: Workflow>(
        &self,
        workflow: &W,
        input: W::Input,
    ) -> RunReport<W::Output> {
        self.run_from_with_report(workflow, W::start(input), Loops::new())
            .await
    }

    /// Runs `workflow` from `state` and `loops`, as saved from an earlier run, to its end, and
    /// reports what the model calls of this part of the run spent.
    pub async fn run_from_with_report<W: Workflow>(
        &self,
        workflow: &W,
        state: W::State,
        loops: Loops,
    ) -> RunReport<W::Output> {
        let ledger = self.ledger::<W>();
        let result = self
            .drive(workflow, state, loops, Some(ledger.clone()), None)
            .await;
        RunReport {
            result,
            usage: ledger.report(),
        }
    }

    /// The run's cancellation token, if any.
    pub(crate) fn cancel_token(&self) -> Option<&CancellationToken> {
        self.cancel.as_ref()
    }

    /// A ledger for a run of `W` if there is a budget to enforce.
    pub(crate) fn budget_ledger<W: Workflow>(&self) -> Option<Ledger> {
        (!self.budget.is_unlimited()).then(|| self.ledger::<W>())
    }

    /// The context of a run of `W` with this executor's step limit and cancellation, and
    /// `ledger`.
    pub(crate) fn context<W: Workflow>(&self, ledger: Option<Ledger>) -> Context {
        let mut cx = Context::of::<W>();
        if let Some(max) = self.max_steps {
            cx = cx.with_max_steps(max);
        }
        if let Some(ledger) = ledger {
            cx = cx.with_ledger(ledger);
        }
        if let Some(token) = &self.cancel {
            cx = cx.with_cancellation(token.clone());
        }
        cx
    }

    pub(crate) fn ledger<W: Workflow>(&self) -> Ledger {
        Ledger::of::<W>()
            .budget(self.budget)
            .pricing(Arc::clone(&self.pricing))
    }
}
