//! Lending a run's [`Context`] to a child run that nothing watches or limits, which needs
//! nothing of a context of its own but a name and loop counters.

use super::Context;
use crate::state::{ChildState, Loops};

impl Context {
    /// Lends this context to a child run of the workflow `workflow` from `child`: until the
    /// loan ends, the context is the child's (its name, its loop counters). For a child that
    /// nothing watches or limits, which needs nothing else of a context of its own. Returns
    /// the loan and the state the child starts from.
    #[inline]
    pub(crate) fn lend<S>(
        &mut self,
        workflow: &'static str,
        child: ChildState<S>,
    ) -> (Lent<'_>, S) {
        let ChildState {
            state,
            loops,
            started,
            seq,
        } = child;
        let workflow = std::mem::replace(&mut self.workflow, workflow);
        let loops = std::mem::replace(&mut self.loops, loops);
        let lent = Lent {
            cx: self,
            workflow,
            loops: Some(loops),
            at: (started, seq),
        };
        (lent, state)
    }
}

/// A [`Context`] lent to a child run ([`Context::lend`]): it gives the parent's name and
/// counters back when dropped.
pub(crate) struct Lent<'a> {
    cx: &'a mut Context,
    /// The parent's name and counters, while the child has the context.
    workflow: &'static str,
    loops: Option<Loops>,
    /// Where the child started and its latest checkpoint, as its `ChildState` had them.
    at: (Option<u64>, Option<u64>),
}

impl Lent<'_> {
    /// The context, as the child's.
    #[inline]
    pub(crate) fn cx(&mut self) -> &mut Context {
        self.cx
    }

    /// Ends the loan: the context, the parent's again; the child's counters, and where it
    /// started and its latest checkpoint (as lent).
    #[inline]
    pub(crate) fn give_back(&mut self) -> (&mut Context, Loops, (Option<u64>, Option<u64>)) {
        let parent = self.loops.take().unwrap_or_default();
        let loops = std::mem::replace(&mut self.cx.loops, parent);
        let at = self.at;
        (self.end(), loops, at)
    }

    /// Ends the loan: the context, the parent's again (its name and counters).
    #[inline]
    pub(crate) fn end(&mut self) -> &mut Context {
        self.cx.workflow = self.workflow;
        if let Some(loops) = self.loops.take() {
            self.cx.loops = loops;
        }
        self.cx
    }
}

impl Drop for Lent<'_> {
    #[inline]
    fn drop(&mut self) {
        self.end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lent_context_is_the_child_s_until_given_back() {
        let mut cx = Context::new("Parent");
        assert!(cx.take_edge(0, 5));
        let mut child = Loops::new();
        assert!(child.take(1, 5));
        let (mut lent, ()) = cx.lend(
            "Child",
            ChildState {
                state: (),
                loops: child,
                started: Some(3),
                seq: Some(4),
            },
        );
        assert_eq!(lent.cx().workflow(), "Child");
        assert!(lent.cx().take_edge(1, 5));
        let (parent, child, at) = lent.give_back();
        assert_eq!(parent.workflow(), "Parent");
        assert_eq!(at, (Some(3), Some(4)));
        assert_eq!((child.count(0), child.count(1)), (0, 2));
        drop(lent);
        assert_eq!(cx.workflow(), "Parent");
        assert_eq!((cx.loops().count(0), cx.loops().count(1)), (1, 0));
    }

    #[test]
    fn a_loan_dropped_half_way_gives_the_parent_s_back() {
        // A child run's future dropped before its end (a timeout around it, a `select!`).
        let mut cx = Context::new("Parent");
        let mut child = Loops::new();
        assert!(child.take(0, 5));
        drop(cx.lend(
            "Child",
            ChildState {
                state: (),
                loops: child,
                started: None,
                seq: None,
            },
        ));
        assert_eq!(cx.workflow(), "Parent");
        assert_eq!(cx.loops().count(0), 0);
    }
}
