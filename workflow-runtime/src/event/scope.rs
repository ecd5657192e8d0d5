//! Where the code of an observed run is: the task-local [`Scope`] that tells agents which run,
//! step and branch their calls belong to, and the futures that set it.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Instant;
use tracing::Span;

use super::{EventKind, Observer};
use crate::provider::Usage;
use crate::{Error, UsageTotals};

tokio::task_local! {
    /// The observed run the current task belongs to, and the branch it runs in, if any.
    static LOCAL: Local;
}

#[derive(Clone)]
struct Local {
    observer: Arc<Observer>,
    branch: Option<Arc<BranchScope>>,
}

/// A branch of a fan-out or an element of a map, while it runs.
pub(crate) struct BranchScope {
    step: usize,
    index: usize,
    /// What the calls made in it spent.
    usage: Mutex<UsageTotals>,
    /// The error of a `[collect]` branch, which its future returns as a value.
    failed: Mutex<Option<String>>,
    span: Option<Span>,
}

/// Where a model call was made: the observed run, and the step and branch it was made in.
#[derive(Clone)]
pub(crate) struct Scope {
    observer: Arc<Observer>,
    step: usize,
    branch: Option<Arc<BranchScope>>,
}

impl std::fmt::Debug for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope")
            .field("run", &self.observer.run())
            .field("step", &self.step)
            .finish_non_exhaustive()
    }
}

impl Scope {
    /// Where the current task is now, if it belongs to an observed run.
    pub(crate) fn current() -> Option<Scope> {
        LOCAL
            .try_with(|local| {
                let step = local
                    .branch
                    .as_ref()
                    .map_or_else(|| local.observer.current_step(), |branch| branch.step);
                Scope {
                    observer: Arc::clone(&local.observer),
                    step,
                    branch: local.branch.clone(),
                }
            })
            .ok()
    }

    /// The index of the branch the current task runs in, if any.
    pub(crate) fn branch_index() -> Option<usize> {
        LOCAL
            .try_with(|local| local.branch.as_ref().map(|branch| branch.index))
            .ok()
            .flatten()
    }

    /// Records that the branch the current task runs in failed with `message`, though its
    /// future returns a value: a `[collect]` branch.
    pub(crate) fn branch_failed(message: impl FnOnce() -> String) {
        let _ = LOCAL.try_with(|local| {
            if let Some(branch) = &local.branch {
                *branch.failed.lock().unwrap_or_else(PoisonError::into_inner) = Some(message());
            }
        });
    }

    fn where_(&self) -> (Option<&'static str>, Option<usize>) {
        let step = self.observer.step_name(self.step);
        (step, self.branch.as_ref().map(|branch| branch.index))
    }

    /// The model wrote `text`.
    pub(crate) fn text_delta(&self, text: &str) {
        let (step, branch) = self.where_();
        self.observer.emit(|| EventKind::TextDelta {
            step,
            branch,
            text: text.to_owned(),
        });
    }

    /// A call to `model` ended.
    pub(crate) fn call_finished(
        &self,
        model: &str,
        usage: Option<Usage>,
        cost_usd: f64,
        latency: Duration,
        ok: bool,
    ) {
        if let Some(branch) = &self.branch {
            let mut totals = branch.usage.lock().unwrap_or_else(PoisonError::into_inner);
            totals.calls += 1;
            totals.add(usage, latency, cost_usd, ok);
        }
        let (step, branch) = self.where_();
        self.observer.emit(|| EventKind::CallFinished {
            step,
            branch,
            model: model.to_owned(),
            usage,
            cost_usd,
            latency,
            ok,
        });
    }
}

impl Observer {
    /// Runs `future`, the whole run, with this observer as the current task's scope and its
    /// spans entered.
    pub(crate) fn instrument<F: Future>(
        self: &Arc<Self>,
        future: F,
    ) -> impl Future<Output = F::Output> {
        let local = Local {
            observer: Arc::clone(self),
            branch: None,
        };
        let traced = Traced {
            inner: Box::pin(future),
            observer: Arc::clone(self),
        };
        LOCAL.scope(local, traced)
    }

    /// Runs `future`, branch `index` of a fork running step number `step`: announces it,
    /// scopes the calls made in it to it, and announces its end.
    pub(crate) fn branch<T, F>(
        self: &Arc<Self>,
        step: usize,
        index: usize,
        future: F,
    ) -> impl Future<Output = Result<T, Error>>
    where
        F: Future<Output = Result<T, Error>>,
    {
        let name = self.step_name(step).unwrap_or("?");
        let span = self.trace().map(|trace| trace.branch_span(name, index));
        let scope = Arc::new(BranchScope {
            step,
            index,
            usage: Mutex::default(),
            failed: Mutex::default(),
            span,
        });
        let local = Local {
            observer: Arc::clone(self),
            branch: Some(Arc::clone(&scope)),
        };
        let branch = ObservedBranch {
            inner: Box::pin(future),
            observer: Arc::clone(self),
            name,
            scope,
            started: None,
            finished: false,
        };
        LOCAL.scope(local, branch)
    }
}

/// The whole run, with the run's span and the running step's span entered while it is polled.
struct Traced<F> {
    inner: Pin<Box<F>>,
    observer: Arc<Observer>,
}

impl<F: Future> Future for Traced<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let Some(trace) = this.observer.trace() else {
            return this.inner.as_mut().poll(cx);
        };
        let _run = trace.span().enter();
        trace.polling(true);
        let poll = this.inner.as_mut().poll(cx);
        trace.polling(false);
        poll
    }
}

/// One branch, with its span entered while it is polled; announces its start when first
/// polled (a branch that finished before a resume is never polled, so never announced) and its
/// end, also when it is dropped before it finished (cancelled by a failed sibling or the run).
struct ObservedBranch<F> {
    inner: Pin<Box<F>>,
    observer: Arc<Observer>,
    name: &'static str,
    scope: Arc<BranchScope>,
    started: Option<Instant>,
    finished: bool,
}

impl<F> ObservedBranch<F> {
    /// Announces the end of the branch, with `error` if it failed.
    fn finish(&mut self, error: Option<String>) {
        self.finished = true;
        let scope = &self.scope;
        let usage = self
            .observer
            .has_ledger()
            .then(|| *scope.usage.lock().unwrap_or_else(PoisonError::into_inner));
        if let Some(span) = scope.span.as_ref() {
            super::trace::record_end(span, usage.as_ref(), error.as_deref());
        }
        let elapsed = self
            .started
            .map(|started| started.elapsed())
            .unwrap_or_default();
        let (step, index) = (self.name, scope.index);
        self.observer.emit(|| EventKind::BranchFinished {
            step,
            index,
            elapsed,
            error,
            usage,
        });
    }
}

impl<F> Drop for ObservedBranch<F> {
    fn drop(&mut self) {
        if self.started.is_some() && !self.finished {
            self.finish(Some(
                "cancelled: the branch was dropped before it finished".to_owned(),
            ));
        }
    }
}

impl<T, F: Future<Output = Result<T, Error>>> Future for ObservedBranch<F> {
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.started.is_none() {
            this.started = Some(Instant::now());
            let (step, index) = (this.name, this.scope.index);
            this.observer
                .emit(|| EventKind::BranchStarted { step, index });
        }
        let entered = this.scope.span.as_ref().map(Span::enter);
        let Poll::Ready(result) = this.inner.as_mut().poll(cx) else {
            return Poll::Pending;
        };
        drop(entered);
        let error = match &result {
            Err(error) => Some(crate::error::describe(error)),
            Ok(_) => this
                .scope
                .failed
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        };
        this.finish(error);
        Poll::Ready(result)
    }
}
