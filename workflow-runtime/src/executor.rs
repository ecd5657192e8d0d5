//! The executor: drives a workflow's state machine to its end, in memory.

use tokio_util::sync::CancellationToken;

use crate::{Context, Error, Loops, Workflow};

/// Runs workflows in memory, with optional cancellation and step limit.
///
/// ```
/// # use workflow_runtime::{Executor, Error};
/// use tokio_util::sync::CancellationToken;
///
/// let cancel = CancellationToken::new();
/// let executor = Executor::new().cancellation(cancel.clone()).max_steps(1_000);
/// // executor.run(&my_workflow, input).await?;  // cancel.cancel() stops it
/// # let _ = executor;
/// ```
#[derive(Debug, Clone, Default)]
pub struct Executor {
    cancel: Option<CancellationToken>,
    max_steps: Option<u64>,
}

impl Executor {
    /// An executor with no cancellation and no step limit.
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
        mut loops: Loops,
    ) -> Result<W::Output, Error> {
        let mut cx = Context::of::<W>();
        if let Some(max) = self.max_steps {
            cx = cx.with_max_steps(max);
        }
        let Some(token) = &self.cancel else {
            return workflow.run_from(state, &mut loops, &cx).await;
        };
        cx = cx.with_cancellation(token.clone());
        // The whole run races the token, so a step in flight is dropped when it fires; steps
        // that never suspend are stopped by `Context::enter` before the next one.
        tokio::select! {
            biased;
            result = workflow.run_from(state, &mut loops, &cx) => result,
            () = token.cancelled() => Err(cx.cancelled()),
        }
    }
}

/// Runs `workflow` on `input` in memory, with no cancellation and no step budget: what the
/// generated `run` calls.
///
/// # Errors
///
/// The first error that stops the run: see [`Error`].
pub async fn run<W: Workflow>(workflow: &W, input: W::Input) -> Result<W::Output, Error> {
    let cx = Context::of::<W>();
    let mut loops = Loops::new();
    workflow.run_from(W::start(input), &mut loops, &cx).await
}
