//! Rules on sleeps: a run sleeps only before a plain step, one that neither waits at a pause
//! or for a signal, nor runs another workflow.

use crate::diag::{self, Errors};
use crate::model::Model;

/// Rule: a step marked `sleep` is not a pause step nor one that receives a signal, and does
/// not run another workflow.
pub(crate) fn sleeps_before_plain_steps(model: &Model, errors: &mut Errors) {
    for (index, step) in model.steps.iter().enumerate() {
        let Some(sleep) = &step.sleep else {
            continue;
        };
        let name = model.step_name(index);
        if step.sig.child.is_some() {
            errors.push(sleep.span, diag::child_sleep(&name));
        } else if step.pause.is_some() || step.receive.is_some() {
            errors.push(sleep.span, diag::sleep_pause(&name));
        }
    }
}
