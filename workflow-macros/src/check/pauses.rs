//! Rules on pauses and signals: a step marked `pause` or `receive` takes the value it waits
//! for, and a step that takes a second value is marked one of them.

use syn::spanned::Spanned;

use crate::diag::{self, Errors};
use crate::model::Model;

/// Rule: a step has a second parameter if and only if `flow!` marks it `pause` or `receive`,
/// and not both.
pub(crate) fn pauses_take_a_value(model: &Model, errors: &mut Errors) {
    for (index, step) in model.steps.iter().enumerate() {
        if step.sig.child.is_some() {
            continue; // `children::children_are_plain_steps` reports a `pause` on it.
        }
        let name = model.step_name(index);
        match (&step.pause, &step.receive, &step.sig.resume) {
            (None, None, Some(value)) => {
                errors.push(value.span(), diag::resume_without_pause(&name));
            }
            (Some(pause), None, None) => errors.push(*pause, diag::pause_without_value(&name)),
            (None, Some(receive), None) => {
                errors.push(*receive, diag::receive_without_message(&name));
            }
            (Some(_), Some(receive), _) => errors.push(*receive, diag::pause_receive(&name)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
