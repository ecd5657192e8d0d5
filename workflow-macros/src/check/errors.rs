//! Rules on error routes (`step? -> handler`).

use crate::diag::{self, Errors};
use crate::model::{Edge, Model, Node, Outgoing};

/// Rule: an error route leaves a step that can fail (it returns a `Result`), runs in the
/// driver's loop (not a branch of a fork) and is not another workflow; a step has at most one;
/// it leads to a step (not `end`).
pub(crate) fn error_routes_leave_plain_steps(model: &Model, errors: &mut Errors) {
    for (index, step) in model.steps.iter().enumerate() {
        let name = model.step_name(index);
        for route in &step.error_routes {
            if step.sig.child.is_some() {
                errors.push(route.mark, diag::error_route_from_child(&name));
            } else if step.sig.fallible.is_none() {
                errors.push(route.mark, diag::error_route_infallible(&name));
            } else if !step.branch_of.is_empty() {
                errors.push(route.mark, diag::error_route_from_branch(&name));
            }
            if step.error_routes.len() > 1 {
                errors.push(route.source, diag::two_error_routes(&name));
            }
            if route.edge.to == Node::End {
                errors.push(route.edge.name.span(), diag::error_route_to_end(&name));
            }
        }
    }
}

/// Rule: a step an error route leads to (a handler) takes errors only: no ordinary edge, nor
/// `start`, leads to it. Reported at each ordinary edge into it.
pub(crate) fn handlers_take_only_errors(model: &Model, errors: &mut Errors) {
    let handlers: Vec<usize> = model
        .steps
        .iter()
        .flat_map(|step| &step.error_routes)
        .filter_map(|route| match route.edge.to {
            Node::Step(handler) => Some(handler),
            _ => None,
        })
        .collect();
    if handlers.is_empty() {
        return;
    }
    for edge in ordinary_edges(model) {
        if let Node::Step(to) = edge.to {
            if handlers.contains(&to) {
                errors.push(
                    edge.name.span(),
                    diag::handler_not_only(&model.step_name(to)),
                );
            }
        }
    }
}

/// Every edge that is not an error route: from `start`, from each step, into and out of each
/// fork, with the `else` routes of their bounds.
fn ordinary_edges(model: &Model) -> Vec<&Edge> {
    let mut edges: Vec<&Edge> = model.start.iter().map(|start| &start.edge).collect();
    for step in &model.steps {
        for outgoing in &step.outgoing {
            match outgoing {
                Outgoing::Sequence { edge, .. } => edges.push(edge),
                Outgoing::Match { arms, .. } => edges.extend(arms.iter().map(|arm| &arm.edge)),
            }
        }
    }
    for fork in &model.forks {
        edges.extend(&fork.branches);
        edges.extend(&fork.join);
    }
    let fallbacks: Vec<&Edge> = edges
        .iter()
        .filter_map(|edge| edge.bound.as_ref()?.fallback.as_deref())
        .collect();
    edges.extend(fallbacks);
    edges
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::{error_routes_leave_plain_steps, handlers_take_only_errors};
    use crate::tests::rule_messages;

    #[test]
    fn an_error_route_leaves_a_fallible_step_for_a_step() {
        let errors = rule_messages(
            quote! {
                impl Fetch {
                    async fn fetch(&self, url: String) -> Result<String, Failure> { Ok(url) }
                    async fn count(&self, text: String) -> usize { text.len() }
                    async fn give_up(&self, failure: Failure) -> usize { 0 }
                    flow! {
                        start -> fetch -> count -> end;
                        fetch? -> give_up -> end;
                        count? -> end;
                    }
                }
            },
            error_routes_leave_plain_steps,
        );
        assert_eq!(
            errors,
            [
                "step `count` returns no `Result`, so it has no error to route; return `Result<T, E>` from it, or remove `count? -> …`",
                "an error route leads to a step that takes the error, not to `end`: `count? -> handler; handler -> end;`",
            ]
        );
    }

    #[test]
    fn a_handler_takes_only_errors() {
        let errors = rule_messages(
            quote! {
                impl Fetch {
                    async fn fetch(&self, url: String) -> Result<String, Failure> { Ok(url) }
                    async fn give_up(&self, failure: Failure) -> String { String::new() }
                    flow! {
                        start -> fetch -> give_up -> end;
                        fetch? -> give_up;
                    }
                }
            },
            handlers_take_only_errors,
        );
        assert_eq!(
            errors,
            ["step `give_up` handles errors (`step? -> give_up`), so it takes only errors; lead here with an error route, or to another step"]
        );
    }
}
