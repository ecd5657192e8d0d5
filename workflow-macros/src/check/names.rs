//! Rules on the names the macro generates from step names: each step's variant of the state
//! enum is its own.

use crate::diag::{self, Errors};
use crate::model::{Model, END};
use crate::parse::{is_reserved, unraw};

/// Rule: every step that has a variant in the state enum (all but the branches of forks) gets
/// a variant name no other has: two steps do not read the same in `UpperCamelCase` (`a_b` and
/// `a__b`), none is defined twice, and none reads as the terminal variant (`end_`). Reported
/// at each step involved. `start` and `end` themselves are reported as reserved words when
/// the steps are read.
pub(crate) fn variants_are_distinct(model: &Model, errors: &mut Errors) {
    let named: Vec<(usize, String)> = model
        .steps
        .iter()
        .enumerate()
        .filter(|(_, step)| step.branch_of.is_empty() && !is_reserved(&step.sig.ident))
        .map(|(index, _)| (index, model.variant(Some(index)).to_string()))
        .collect();
    for (index, variant) in &named {
        let ident = &model.steps[*index].sig.ident;
        let name = unraw(ident);
        if variant == END {
            errors.push(ident.span(), diag::end_variant(&name));
            continue;
        }
        let others: Vec<String> = named
            .iter()
            .filter(|(other, same)| other != index && same == variant)
            .map(|(other, _)| unraw(&model.steps[*other].sig.ident))
            .collect();
        if others.contains(&name) {
            errors.push(ident.span(), diag::step_twice(&name));
        } else if !others.is_empty() {
            errors.push(ident.span(), diag::same_variant(&name, &others));
        }
    }
}

#[cfg(test)]
mod tests;
