//! Rules on steps that run another workflow (`fn research(&self) -> &Research`).

use crate::diag::{self, Errors};
use crate::model::Model;

/// Rule: a step that runs another workflow is not marked `pause` (the child's own pauses are
/// the parent's) nor `receive`.
pub(crate) fn children_are_plain_steps(model: &Model, errors: &mut Errors) {
    for (index, _) in model.children() {
        let step = &model.steps[index];
        let name = model.step_name(index);
        if let Some(pause) = step.pause {
            errors.push(pause, diag::child_pause(&name));
        }
        if let Some(receive) = step.receive {
            errors.push(receive, diag::child_receive(&name));
        }
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::children_are_plain_steps;
    use crate::tests::rule_messages;

    #[test]
    fn a_child_is_not_a_pause_but_may_be_a_branch() {
        let errors = rule_messages(
            quote! {
                impl Parent {
                    async fn plan(&self, topic: String) -> String { topic }
                    fn research(&self) -> &Research { &self.research }
                    fn review(&self) -> &Review { &self.review }
                    async fn join(&self, both: (String, String)) -> String { both.0 }
                    flow! {
                        start -> plan -> pause research -> end;
                    }
                }
            },
            children_are_plain_steps,
        );
        assert!(
            errors.iter().any(|e| e
                .contains("step `research` runs another workflow, which cannot be marked `pause`")),
            "{errors:?}"
        );
        // A child may be a branch: it runs to its end inside the fork.
        let errors = rule_messages(
            quote! {
                impl Parent {
                    async fn plan(&self, topic: String) -> String { topic }
                    fn research(&self) -> &Research { &self.research }
                    async fn other(&self, topic: String) -> String { topic }
                    async fn join(&self, both: (String, String)) -> String { both.0 }
                    flow! {
                        start -> plan -> (research, other) -> join -> end;
                    }
                }
            },
            children_are_plain_steps,
        );
        assert!(errors.is_empty(), "{errors:?}");
    }
}
