//! One branch of a fan-out, or one element of a map, in a run something reads: its own scope
//! (so that the calls made in it are its step's), its events and its span.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tokio::time::Instant;
use tracing::Span;

use super::observe::trace_end;
use super::{RunScope, Scope, SCOPE};
use crate::error::Error;
use crate::event::EventKind;
use crate::usage::{Ended, UsageTotals};

/// A branch while it runs.
pub(super) struct BranchScope {
    /// The index of its step in the run's steps.
    pub(super) step: usize,
    /// Its position in the fan-out, or its element's index in the map.
    pub(super) index: usize,
    /// What the calls made in it spent.
    usage: Mutex<UsageTotals>,
    /// The error of a `[collect]` branch, which its future returns as a value.
    failed: Mutex<Option<String>>,
    span: Option<Span>,
}

impl RunScope {
    /// Runs `future`, branch `index` of a fan-out or a map, running step `step`: in a scope of
    /// its own, announced when it starts and when it ends (also when it is dropped before).
    pub(crate) fn branch<T, F>(
        self: &Arc<Self>,
        step: &'static str,
        index: usize,
        future: F,
    ) -> impl Future<Output = Result<T, Error>>
    where
        F: Future<Output = Result<T, Error>>,
    {
        let number = self.steps.iter().position(|name| *name == step);
        let span = self.trace().map(|trace| trace.step_span(step, Some(index)));
        let branch = Arc::new(BranchScope {
            step: number.unwrap_or(usize::MAX),
            index,
            usage: Mutex::default(),
            failed: Mutex::default(),
            span,
        });
        let scope = Scope {
            run: Arc::clone(self),
            branch: Some(Arc::clone(&branch)),
        };
        let observed = ObservedBranch {
            inner: future,
            run: Arc::clone(self),
            name: step,
            branch,
            started: None,
            finished: false,
        };
        SCOPE.scope(scope, observed)
    }
}

impl Scope {
    /// Records that the branch the current future runs in failed with `message`, though its
    /// future returns a value: a `[collect]` branch.
    pub(crate) fn branch_failed(message: impl FnOnce() -> String) {
        let _ = SCOPE.try_with(|scope| {
            if let Some(branch) = &scope.branch {
                *branch.failed.lock().unwrap_or_else(PoisonError::into_inner) = Some(message());
            }
        });
    }

    /// Adds what a call made here spent to the branch's totals, if it runs in a branch.
    pub(super) fn add_to_branch(&self, call: &Ended, cost: f64) {
        if let Some(branch) = &self.branch {
            let mut totals = branch.usage.lock().unwrap_or_else(PoisonError::into_inner);
            totals.calls += 1;
            totals.add(call, cost);
        }
    }
}

pin_project! {
    /// One branch, with its span entered while it is polled; announces its start when first
    /// polled (a branch that finished before a resume is never polled, so never announced) and
    /// its end, also when it is dropped before it finished (cancelled by a failed sibling or
    /// the run).
    struct ObservedBranch<F> {
        #[pin]
        inner: F,
        run: Arc<RunScope>,
        name: &'static str,
        branch: Arc<BranchScope>,
        started: Option<Instant>,
        finished: bool,
    }

    impl<F> PinnedDrop for ObservedBranch<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if this.started.is_some() && !*this.finished {
                let error = "cancelled: the branch was dropped before it finished".to_owned();
                finish(this.run, this.name, this.branch, *this.started, Some(error));
            }
        }
    }
}

/// Announces the end of a branch, with `error` if it failed.
fn finish(
    run: &RunScope,
    step: &'static str,
    branch: &BranchScope,
    started: Option<Instant>,
    error: Option<String>,
) {
    let usage = run
        .ledger()
        .map(|_| *branch.usage.lock().unwrap_or_else(PoisonError::into_inner));
    if let Some(span) = branch.span.as_ref() {
        trace_end(span, usage.as_ref(), error.as_deref());
    }
    let elapsed = started.map(|started| started.elapsed()).unwrap_or_default();
    let index = branch.index;
    run.emit(|| EventKind::BranchFinished {
        step,
        index,
        elapsed,
        error,
        usage,
    });
}

impl<T, F: Future<Output = Result<T, Error>>> Future for ObservedBranch<F> {
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if this.started.is_none() {
            *this.started = Some(Instant::now());
            let (step, index) = (*this.name, this.branch.index);
            this.run.emit(|| EventKind::BranchStarted { step, index });
        }
        let entered = this.branch.span.as_ref().map(Span::enter);
        let Poll::Ready(result) = this.inner.poll(cx) else {
            return Poll::Pending;
        };
        drop(entered);
        let error = match &result {
            Err(error) => Some(crate::error::describe(error)),
            Ok(_) => this
                .branch
                .failed
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        };
        *this.finished = true;
        finish(this.run, this.name, this.branch, *this.started, error);
        Poll::Ready(result)
    }
}
