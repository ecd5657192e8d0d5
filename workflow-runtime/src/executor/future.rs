//! The future of a run in memory that nothing watches, unless a `tracing` subscriber wants its
//! spans: what the generated `run` returns.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{self, Poll};

use pin_project_lite::pin_project;

use super::observe::run_traced;
use crate::{BoxFuture, Error, Workflow};

pin_project! {
    /// The future of a run of `W` in memory, from its input to its end: what the generated
    /// `run` of a workflow without fan-outs returns.
    ///
    /// Like an `async fn`, it does nothing until first polled. It then decides, once, how the
    /// run goes:
    /// - when a `tracing` subscriber wants the run's `workflow.run` span, the run opens its
    ///   spans (see [`event`](crate::event)), with a ledger for their token counts: a boxed
    ///   future that runs `W`'s [`Workflow::run_from`], as [`run`](crate::run) does;
    /// - otherwise `drive` makes the run's future from the workflow and the input, and this
    ///   future is that one from then on. The generated `drive` runs the steps with an
    ///   [`Unwatched`](crate::Unwatched) context, so that the run costs about what calling the
    ///   same `async fn`s by hand costs.
    ///
    /// Both must produce the same outcome: `drive` is `W`'s run with nothing watching.
    ///
    /// ```
    /// use std::future::Future;
    /// use workflow_runtime::{Error, RunFuture, StepPolicy, Unwatched, Workflow};
    /// # use workflow_runtime::{Context, Loops};
    ///
    /// struct Double;
    /// # impl Workflow for Double {
    /// #     type Input = u32;
    /// #     type Output = u32;
    /// #     type State = (u32, bool);
    /// #     const NAME: &'static str = "Double";
    /// #     const FINGERPRINT: u64 = 1;
    /// #     const STEPS: &'static [&'static str] = &["double"];
    /// #     fn start(input: u32) -> (u32, bool) { (input, false) }
    /// #     fn finish(state: (u32, bool)) -> Result<u32, (u32, bool)> {
    /// #         if state.1 { Ok(state.0) } else { Err(state) }
    /// #     }
    /// #     fn step_name(state: &(u32, bool)) -> &'static str { if state.1 { "end" } else { "double" } }
    /// #     async fn transition(&self, state: (u32, bool), _: &mut Loops, cx: &Context) -> Result<(u32, bool), Error> {
    /// #         let value = cx.step("double", &StepPolicy::new(), async move { Ok(state.0 * 2) }).await?;
    /// #         Ok((value, true))
    /// #     }
    /// # }
    ///
    /// impl Double {
    ///     /// Doubles `input`, with the run's spans if a `tracing` subscriber wants them.
    ///     fn run(&self, input: u32) -> impl Future<Output = Result<u32, Error>> + Send + '_ {
    ///         RunFuture::new(self, input, |_: &Self, input| async move {
    ///             let cx = Unwatched::<Self>::new();
    ///             let double = async move { Ok(input * 2) };
    ///             cx.step("double", &StepPolicy::new(), double).await
    ///         })
    ///     }
    /// }
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let run = Double.run(21);
    /// assert_eq!(run.await?, 42);
    ///
    /// // Its `Debug` says which workflow it runs and how far it is.
    /// let run = RunFuture::new(&Double, 1, |_: &Double, input| async move { Ok(input) });
    /// assert_eq!(
    ///     format!("{run:?}"),
    ///     r#"RunFuture { workflow: "Double", phase: "not polled" }"#
    /// );
    /// # Ok::<(), Error>(()) }).unwrap();
    /// ```
    #[must_use = "futures do nothing unless polled"]
    pub struct RunFuture<'a, W: Workflow, F, D> {
        #[pin]
        phase: Phase<'a, W, F, D>,
    }
}

pin_project! {
    /// Where a [`RunFuture`] is.
    #[project = PhaseProj]
    #[project_replace = PhaseOwned]
    enum Phase<'a, W: Workflow, F, D> {
        /// Not yet polled.
        Start { workflow: &'a W, input: W::Input, drive: F },
        /// A run nothing watches: `drive`'s future.
        Plain { #[pin] run: D },
        /// A run with its `tracing` spans.
        Traced { run: BoxFuture<'a, Result<W::Output, Error>> },
        /// Between `Start` and the others, while `drive` makes the run; left there only if it
        /// panicked.
        Taken,
    }
}

impl<'a, W, F, D> RunFuture<'a, W, F, D>
where
    W: Workflow,
    F: FnOnce(&'a W, W::Input) -> D,
    D: Future<Output = Result<W::Output, Error>>,
{
    /// The run of `workflow` on `input`: made by `drive` when first polled, unless a `tracing`
    /// subscriber wants the run's spans.
    pub fn new(workflow: &'a W, input: W::Input, drive: F) -> Self {
        Self {
            phase: Phase::Start {
                workflow,
                input,
                drive,
            },
        }
    }

    /// Leaves `Start`: for the run `drive` makes, or, if a `tracing` subscriber was set
    /// (`watched`) and wants the run's spans, for the traced run.
    #[inline(always)]
    fn begin(mut phase: Pin<&mut Phase<'a, W, F, D>>, watched: bool) {
        if let PhaseOwned::Start {
            workflow,
            input,
            drive,
        } = phase.as_mut().project_replace(Phase::Taken)
        {
            let traced = match watched {
                true => run_traced(workflow, input),
                false => Err(input),
            };
            phase.set(match traced {
                Ok(run) => Phase::Traced { run },
                Err(input) => Phase::Plain {
                    run: drive(workflow, input),
                },
            });
        }
    }

    /// The first poll once a `tracing` subscriber was set, and any poll of a traced run: out
    /// of line, so that the code of a run nothing watches, in [`poll`](Future::poll), does not
    /// carry it.
    #[cold]
    #[inline(never)]
    fn poll_watched(
        mut phase: Pin<&mut Phase<'a, W, F, D>>,
        cx: &mut task::Context<'_>,
    ) -> Poll<Result<W::Output, Error>> {
        if matches!(phase.as_mut().project(), PhaseProj::Start { .. }) {
            Self::begin(phase.as_mut(), true);
        }
        match phase.project() {
            PhaseProj::Plain { run } => run.poll(cx),
            PhaseProj::Traced { run } => run.as_mut().poll(cx),
            PhaseProj::Start { .. } | PhaseProj::Taken => {
                panic!("a `RunFuture` polled after its `drive` panicked")
            }
        }
    }
}

impl<'a, W, F, D> Future for RunFuture<'a, W, F, D>
where
    W: Workflow,
    F: FnOnce(&'a W, W::Input) -> D,
    D: Future<Output = Result<W::Output, Error>>,
{
    type Output = Result<W::Output, Error>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<Self::Output> {
        let mut phase = self.project().phase;
        match phase.as_mut().project() {
            PhaseProj::Plain { run } => return run.poll(cx),
            // The first poll while no `tracing` subscriber was ever set (one relaxed load):
            // nothing can want the run's spans, and the run is `drive`'s, polled right away.
            PhaseProj::Start { .. } if !tracing::dispatcher::has_been_set() => {
                Self::begin(phase.as_mut(), false);
                if let PhaseProj::Plain { run } = phase.as_mut().project() {
                    return run.poll(cx);
                }
            }
            PhaseProj::Start { .. } | PhaseProj::Traced { .. } | PhaseProj::Taken => {}
        }
        Self::poll_watched(phase, cx)
    }
}

impl<W: Workflow, F, D> fmt::Debug for RunFuture<'_, W, F, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let phase = match self.phase {
            Phase::Start { .. } => "not polled",
            Phase::Plain { .. } => "unwatched",
            Phase::Traced { .. } => "traced",
            Phase::Taken => "drive panicked",
        };
        f.debug_struct("RunFuture")
            .field("workflow", &W::NAME)
            .field("phase", &phase)
            .finish()
    }
}
