//! The executor: drives a workflow's state machine to its end, in memory.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::{Budget, Context, Error, Ledger, Loops, Pricing, RunReport, Workflow};

/// Runs workflows in memory, with optional cancellation, step limit, and usage budget.
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
        // Without a budget, a ledger would record what nobody reads: the run goes without.
        let ledger = (!self.budget.is_unlimited()).then(|| self.ledger::<W>());
        self.drive(workflow, state, loops, ledger).await
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
            .drive(workflow, state, loops, Some(ledger.clone()))
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

    fn ledger<W: Workflow>(&self) -> Ledger {
        Ledger::of::<W>()
            .budget(self.budget)
            .pricing(Arc::clone(&self.pricing))
    }

    /// Runs to the end, with `ledger` (if any) current and told of each step.
    async fn drive<W: Workflow>(
        &self,
        workflow: &W,
        state: W::State,
        mut loops: Loops,
        ledger: Option<Ledger>,
    ) -> Result<W::Output, Error> {
        let mut cx = Context::of::<W>();
        if let Some(max) = self.max_steps {
            cx = cx.with_max_steps(max);
        }
        let Some(ledger) = ledger else {
            return self.race(workflow, state, &mut loops, cx).await;
        };
        cx = cx.with_ledger(ledger.clone());
        ledger
            .scope(self.race(workflow, state, &mut loops, cx))
            .await
    }

    /// Runs to the end, racing the cancellation token if there is one.
    async fn race<W: Workflow>(
        &self,
        workflow: &W,
        state: W::State,
        loops: &mut Loops,
        cx: Context,
    ) -> Result<W::Output, Error> {
        let Some(token) = &self.cancel else {
            return workflow.run_from(state, loops, &cx).await;
        };
        let cx = cx.with_cancellation(token.clone());
        // The whole run races the token, so a step in flight is dropped when it fires; steps
        // that never suspend are stopped by `Context::enter` before the next one.
        tokio::select! {
            biased;
            result = workflow.run_from(state, loops, &cx) => result,
            () = token.cancelled() => Err(cx.cancelled()),
        }
    }
}

/// Runs `workflow` on `input` in memory, with no cancellation and no budgets: what the
/// generated `run` calls.
///
/// It opens no [`Ledger`]: its model calls are recorded only if it runs inside another run (in
/// a step of it), whose ledger then accounts them to that step. Use
/// [`Executor::run_with_report`] to see what a run spent.
///
/// # Errors
///
/// The first error that stops the run: see [`Error`].
pub async fn run<W: Workflow>(workflow: &W, input: W::Input) -> Result<W::Output, Error> {
    let cx = Context::of::<W>();
    let mut loops = Loops::new();
    workflow.run_from(W::start(input), &mut loops, &cx).await
}
