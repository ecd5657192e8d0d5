//! The scope of a child run: a workflow that runs as one step of another, inline.

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use super::{RunScope, RunTrace, Scope};
use crate::usage::Ledger;

impl RunScope {
    /// The scope of a run of `workflow` (whose steps are `steps`) as a child of the run the
    /// current future belongs to, in the step running there; `None` outside a run.
    ///
    /// It has the parent's id; its events go to the parent's subscribers, in the parent's
    /// sequence, tagged with the path of parent steps it runs in; it has a ledger of its own
    /// if the parent has one, so that its calls are accounted to its steps (and, through the
    /// scope chain, to the parent's step and run); its spans are children of the parent
    /// step's.
    pub(crate) fn child(
        workflow: &'static str,
        steps: &'static [&'static str],
    ) -> Option<Arc<RunScope>> {
        let parent = Scope::current()?;
        let run = Arc::clone(&parent.run);
        // The path tags events: a run nobody observes has none to tag.
        let mut path = Vec::new();
        if run.observer.is_some() {
            path.clone_from(&run.path);
            path.extend(run.step_name(parent.step()));
        }
        let ledger = run
            .ledger
            .as_ref()
            .map(|ledger| Ledger::for_run(workflow, steps).pricing(ledger.prices()));
        let observer = run.observer.as_ref().map(|observer| {
            let trace = observer
                .trace()
                .and_then(|_| RunTrace::start(workflow, || run.id));
            observer.child(trace)
        });
        Some(Arc::new(RunScope {
            id: run.id,
            workflow,
            steps,
            ledger,
            observer,
            current: AtomicUsize::new(usize::MAX),
            parent: Some(parent),
            recorder: None,
            path,
        }))
    }
}
