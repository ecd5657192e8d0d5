//! Rules on the shape of the graph: one start, one successor, reachability, dead ends.

use crate::diag::{self, Errors};
use crate::model::{Model, Node, Outgoing};
use crate::parse::{is_reserved, unraw};

/// Rule: the graph has exactly one `start -> step` edge, and it leads to a step.
pub(crate) fn one_start(model: &Model, errors: &mut Errors) {
    match model.start.as_slice() {
        [] => errors.push(model.flow_span, diag::NO_START),
        [_] => {}
        starts => {
            for start in starts {
                errors.push(start.token, diag::second_start());
            }
        }
    }
    for start in &model.start {
        if start.edge.to == Node::End {
            errors.push(start.edge.name.span(), diag::START_TO_END);
        }
    }
}

/// Rule: a step has at most one outgoing declaration (a sequence or a `match`); conflicting
/// declarations are reported at each site.
pub(crate) fn one_successor(model: &Model, errors: &mut Errors) {
    for (index, step) in model.steps.iter().enumerate() {
        if step.outgoing.len() < 2 {
            continue;
        }
        // The steps it goes to, to show them as a fan-out: `a -> (b, c) -> join`.
        let targets: Vec<String> = step
            .outgoing
            .iter()
            .filter_map(|outgoing| match outgoing {
                Outgoing::Sequence { edge, .. } if matches!(edge.to, Node::Step(_)) => {
                    Some(edge.name.to_string())
                }
                _ => None,
            })
            .collect();
        for outgoing in &step.outgoing {
            let span = match outgoing {
                Outgoing::Sequence { source, .. } => *source,
                Outgoing::Match { token, .. } => token.span,
            };
            errors.push(
                span,
                diag::two_successors(&model.step_name(index), &targets),
            );
        }
    }
}

/// Rule: every step of the impl block is named in `flow!` (but `start` and `end`, which are
/// reported as reserved names, and a second step of the same name, reported as such).
pub(crate) fn every_step_in_graph(model: &Model, errors: &mut Errors) {
    for (index, step) in model.steps.iter().enumerate() {
        let name = unraw(&step.sig.ident);
        let again = model.steps[..index]
            .iter()
            .any(|earlier| unraw(&earlier.sig.ident) == name);
        if step.mentions.is_empty() && !is_reserved(&step.sig.ident) && !again {
            errors.push(
                step.sig.ident.span(),
                diag::not_in_graph(&step.sig.ident.to_string()),
            );
        }
    }
}

/// Rule: a bound `[max N]` sits on an edge of a loop, i.e. its target leads back to its source.
pub(crate) fn bounds_on_loops(model: &Model, errors: &mut Errors) {
    for from in 0..model.steps.len() {
        for edge in model.successors(from) {
            let (Some(bound), Node::Step(to)) = (&edge.bound, edge.to) else {
                continue;
            };
            if !reaches(model, to, from) {
                errors.push(
                    bound.span,
                    diag::useless_bound(&model.step_name(from), &model.step_name(to)),
                );
            }
        }
    }
}

/// Rule: every step named in the graph is reachable from `start`. Returns which steps are.
pub(crate) fn reachable_from_start(model: &Model, errors: &mut Errors) -> Vec<bool> {
    let mut reachable = vec![false; model.steps.len()];
    match model.start.first().map(|start| start.edge.to) {
        Some(Node::Step(first)) => mark_reachable(model, first, &mut reachable),
        Some(Node::Fork(fork)) => {
            for branch in &model.forks[fork].branches {
                if let Node::Step(first) = branch.to {
                    mark_reachable(model, first, &mut reachable);
                }
            }
        }
        _ => {}
    }
    for (index, step) in model.steps.iter().enumerate() {
        if let (false, Some(span)) = (reachable[index], step.mentions.first()) {
            errors.push(*span, diag::unreachable_step(&model.step_name(index)));
        }
    }
    reachable
}

/// Rule: `end` appears in the graph, so that some path can finish the run. Without one, the
/// error is where an `end` could go: at each reachable step with no outgoing edge, or else at
/// each loop bound with no `else`, or else at `flow!`.
pub(crate) fn end_exists(model: &Model, reachable: &[bool], errors: &mut Errors) -> bool {
    let exists = (0..model.steps.len())
        .flat_map(|index| model.successors(index))
        .chain(model.forks.iter().filter_map(|fork| fork.join.as_ref()))
        .any(|edge| matches!(edge.to, Node::End | Node::Unknown));
    if exists {
        return true;
    }
    let before = errors.len();
    for (index, step) in model.steps.iter().enumerate() {
        if reachable[index] && step.outgoing.is_empty() && step.branch_of.is_empty() {
            let span = step.mentions.first().copied();
            let span = span.unwrap_or_else(|| step.sig.ident.span());
            errors.push(span, diag::no_end_after(&model.step_name(index)));
        }
    }
    if errors.len() == before {
        for index in (0..model.steps.len()).filter(|index| reachable[*index]) {
            for edge in model.own_successors(index) {
                if let Some(bound) = edge.bound.as_ref().filter(|bound| bound.fallback.is_none()) {
                    errors.push(bound.span, diag::no_end_in_loop(bound.max));
                }
            }
        }
    }
    if errors.len() == before {
        errors.push(model.flow_span, diag::NO_PATH_TO_END);
    }
    false
}

/// Rule: every reachable step has an outgoing edge. Returns how many do not.
pub(crate) fn no_dead_ends(model: &Model, reachable: &[bool], errors: &mut Errors) -> usize {
    let mut count = 0;
    for (index, step) in model.steps.iter().enumerate() {
        if reachable[index] && step.outgoing.is_empty() && step.branch_of.is_empty() {
            let span = step
                .mentions
                .first()
                .copied()
                .unwrap_or_else(|| step.sig.ident.span());
            errors.push(span, diag::dead_end(&model.step_name(index)));
            count += 1;
        }
    }
    count
}

fn mark_reachable(model: &Model, from: usize, reachable: &mut [bool]) {
    let mut stack = vec![from];
    while let Some(index) = stack.pop() {
        if std::mem::replace(&mut reachable[index], true) {
            continue;
        }
        for edge in model.successors(index) {
            if let Node::Step(next) = edge.to {
                stack.push(next);
            }
        }
    }
}

/// Whether step `to` can be reached from step `from` (in one or more edges).
pub(crate) fn reaches(model: &Model, from: usize, to: usize) -> bool {
    let mut reachable = vec![false; model.steps.len()];
    mark_reachable(model, from, &mut reachable);
    reachable[to]
}

#[cfg(test)]
mod tests;
