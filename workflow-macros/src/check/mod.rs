//! The graph rules. Each function checks one rule, stated in its first comment, and reports
//! every violation at the tokens involved. Names are resolved in `model` before.

mod children;
mod cycles;
mod errors;
mod forks;
mod graph;
mod names;
mod pauses;
mod sleeps;

use crate::diag::Errors;
use crate::model::Model;

/// Runs every rule. Rules that need a sound graph run only when the simpler rules pass.
pub(crate) fn check(model: &Model, errors: &mut Errors) {
    graph::one_successor(model, errors);
    forks::join_arity(model, errors);
    forks::fan_out_width(model, errors);
    pauses::pauses_take_a_value(model, errors);
    sleeps::sleeps_before_plain_steps(model, errors);
    children::children_are_plain_steps(model, errors);
    errors::error_routes_leave_plain_steps(model, errors);
    errors::handlers_take_only_errors(model, errors);
    if model.incomplete {
        return;
    }
    forks::branches_belong_to_their_fork(model, errors);
    names::variants_are_distinct(model, errors);
    graph::one_start(model, errors);
    if model.unresolved.is_empty() {
        graph::every_step_in_graph(model, errors);
    }
    graph::bounds_on_loops(model, errors);
    if model.start.len() != 1 {
        return;
    }
    let reachable = graph::reachable_from_start(model, errors);
    if !graph::end_exists(model, &reachable, errors) {
        return;
    }
    let dead_ends = graph::no_dead_ends(model, &reachable, errors);
    cycles::every_cycle_bounded(model, errors);
    if dead_ends == 0 {
        cycles::every_step_ends(model, &reachable, errors);
    }
}
