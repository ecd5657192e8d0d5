//! Rules on fan-outs and maps: a branch belongs to its fork alone, and a join step takes one
//! element per branch.

use syn::Type;

use crate::diag::{self, Errors};
use crate::model::{Model, Node, Outgoing};

/// Rule: a branch step has no edges of its own (its output goes to the join), and is named
/// nowhere else: not in another fork, not twice in its own, not as the target of an edge.
pub(crate) fn branches_belong_to_their_fork(model: &Model, errors: &mut Errors) {
    for (index, step) in model.steps.iter().enumerate() {
        let Some((first_fork, _)) = step.branch_of.first() else {
            continue;
        };
        let name = model.step_name(index);
        let join = model.forks[*first_fork]
            .join
            .as_ref()
            .map_or_else(|| "the join".to_owned(), |join| model.node_label(join));
        for outgoing in &step.outgoing {
            let span = match outgoing {
                Outgoing::Sequence { source, .. } => *source,
                Outgoing::Match { token, .. } => token.span,
            };
            errors.push(span, diag::branch_has_edges(&name, &join));
        }
        for (position, (fork, mention)) in step.branch_of.iter().enumerate().skip(1) {
            let again = step.branch_of[..position].iter().any(|(f, _)| f == fork);
            let message = if again {
                diag::duplicate_branch(&name)
            } else {
                diag::branch_elsewhere(&name)
            };
            errors.push(step.mentions[*mention], message);
        }
        for (mention, span) in step.mentions.iter().enumerate() {
            if !step.branch_of.iter().any(|(_, m)| *m == mention) {
                errors.push(*span, diag::branch_elsewhere(&name));
            }
        }
    }
}

/// Rule: a static fan-out has at most [`MAX_BRANCHES`] branches: its join takes a tuple, and
/// the run's state stores the branches' outputs in one, which serde stores up to 16 elements.
pub(crate) fn fan_out_width(model: &Model, errors: &mut Errors) {
    for fork in &model.forks {
        if !fork.map && fork.branches.len() > MAX_BRANCHES {
            let first: Vec<String> = fork.branches[..3]
                .iter()
                .map(|b| b.name.to_string())
                .collect();
            let label = format!("({}, …)", first.join(", "));
            errors.push(
                fork.span,
                diag::fan_out_too_wide(&label, fork.branches.len(), MAX_BRANCHES),
            );
        }
    }
}

/// The most branches a static fan-out can have.
pub(crate) const MAX_BRANCHES: usize = 16;

/// Rule: a step that joins a fan-out and takes a tuple takes one element per branch.
pub(crate) fn join_arity(model: &Model, errors: &mut Errors) {
    for (index, fork) in model.forks.iter().enumerate() {
        let Some(join) = &fork.join else { continue };
        let Node::Step(step) = join.to else { continue };
        if fork.map || join.arg.is_some() {
            continue;
        }
        if let Type::Tuple(tuple) = &model.steps[step].sig.input {
            if tuple.elems.len() != fork.branches.len() {
                errors.push(
                    join.name.span(),
                    diag::join_arity(
                        &model.fork_label(index),
                        fork.branches.len(),
                        &model.step_name(step),
                        tuple.elems.len(),
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests;
