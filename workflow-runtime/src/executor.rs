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
        mut state: W::State,
        mut loops: Loops,
    ) -> Result<W::Output, Error> {
        let mut cx = Context::new(W::NAME);
        if let Some(token) = &self.cancel {
            cx = cx.with_cancellation(token.clone());
        }
        let mut steps = 0_u64;
        loop {
            state = match W::finish(state) {
                Ok(output) => return Ok(output),
                Err(state) => state,
            };
            if cx.is_cancelled() {
                return Err(cx.cancelled(Some(W::step_name(&state))));
            }
            steps += 1;
            if let Some(max) = self.max_steps.filter(|max| steps > *max) {
                return Err(Error::StepLimit {
                    workflow: W::NAME,
                    max,
                });
            }
            state = workflow.transition(state, &mut loops, &cx).await?;
        }
    }
}

/// Runs `workflow` on `input` in memory with the default [`Executor`].
///
/// # Errors
///
/// The first error that stops the run: see [`Error`].
pub async fn run<W: Workflow>(workflow: &W, input: W::Input) -> Result<W::Output, Error> {
    Executor::new().run(workflow, input).await
}
