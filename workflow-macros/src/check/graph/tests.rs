//! Each rule on the shape of the graph, on a small input that breaks it and on one close to it
//! that does not.

use proc_macro2::TokenStream;
use quote::quote;

use super::{
    bounds_on_loops, end_exists, every_step_in_graph, no_dead_ends, one_start, one_successor,
    reachable_from_start,
};
use crate::diag::Errors;
use crate::model::Model;
use crate::tests::{model_with, rule_messages, steps_and_flow};

/// What `rule` reports on steps `a`, `b` and `c` wired by `flow`.
fn report(flow: &TokenStream, rule: impl FnOnce(&Model, &mut Errors)) -> Vec<String> {
    rule_messages(steps_and_flow(&["a", "b", "c"], flow), rule)
}

fn reachable(model: &Model) -> Vec<bool> {
    reachable_from_start(model, &mut Errors::default())
}

#[test]
fn one_start_wants_exactly_one_start_to_a_step() {
    assert_eq!(
        report(&quote!(a -> b -> c -> end;), one_start),
        ["the graph has no `start`; add `start -> first_step;` to `flow!`"]
    );
    let second =
        "the graph has two `start` edges; a run begins at one step, so keep one `start -> …`";
    assert_eq!(
        report(
            &quote!(start -> a -> end; start -> b -> c -> end;),
            one_start
        ),
        [second, second]
    );
    assert_eq!(
        report(&quote!(start -> end; a -> b -> c -> end;), one_start),
        ["`start -> end` skips every step; a workflow runs at least one step: `start -> first_step`"]
    );
    assert!(report(&quote!(start -> a -> b -> c -> end;), one_start).is_empty());
}

#[test]
fn one_successor_reports_each_declaration() {
    let two = |branches: &str| {
        format!(
            "step `a` has two outgoing edges, but a step goes to one next step: to choose one, \
             route with `a -> match {{ … }}`; to run both at once, fan out and join: \
             `a -> ({branches}) -> join_step`"
        )
    };
    assert_eq!(
        report(&quote!(start -> a -> b -> c -> end; a -> c;), one_successor),
        [two("b, c"), two("b, c")]
    );
    assert_eq!(
        report(
            &quote!(start -> a -> b -> c -> end; a -> match { 0 => c, _ => end };),
            one_successor
        ),
        [two("b, c"), two("b, c")]
    );
    assert!(report(
        &quote!(start -> a -> match { 0 => b, _ => c }; b -> c -> end;),
        one_successor
    )
    .is_empty());
}

#[test]
fn every_step_is_in_the_graph() {
    assert_eq!(
        report(&quote!(start -> a -> b -> end;), every_step_in_graph),
        ["step `c` is not in the graph; add an edge to it in `flow!`, or move it to another `impl` block if it is a helper"]
    );
    assert!(report(&quote!(start -> a -> b -> c -> end;), every_step_in_graph).is_empty());
    // A step named `end` is reported as a reserved name instead.
    let item = steps_and_flow(&["a", "end"], &quote!(start -> a -> end;));
    let (model, _) = model_with(TokenStream::new(), item);
    let mut errors = Errors::default();
    every_step_in_graph(&model, &mut errors);
    assert!(errors.is_empty());
    // So is a second step of the same name.
    let twice = steps_and_flow(&["a", "a"], &quote!(start -> a -> end;));
    assert!(rule_messages(twice, every_step_in_graph).is_empty());
}

#[test]
fn bounds_sit_on_loops() {
    assert_eq!(
        report(&quote!(start -> a -> b [max 2] -> c -> end;), bounds_on_loops),
        ["the edge `a -> b` is not part of a loop, so its bound can never be reached; remove the `[max N]`"]
    );
    assert!(report(
        &quote!(start -> a -> b -> c -> match { 0 => end, _ => b [max 2 else c] };),
        bounds_on_loops
    )
    .is_empty());
}

#[test]
fn every_step_is_reachable() {
    let rule = |model: &Model, errors: &mut Errors| {
        reachable_from_start(model, errors);
    };
    assert_eq!(
        report(&quote!(start -> a -> end; b -> c -> end;), rule),
        [
            "step `b` is unreachable from `start`; add an edge into it, or remove it",
            "step `c` is unreachable from `start`; add an edge into it, or remove it",
        ]
    );
    assert!(report(
        &quote!(start -> a -> match { 0 => b, _ => c }; b -> end; c -> end;),
        rule
    )
    .is_empty());
    // Through a fork, to its branches and its join.
    let through = quote!(start -> (a, b) -> c -> end;);
    assert!(report(&through, rule).is_empty());
}

#[test]
fn end_is_in_the_graph() {
    let rule = |model: &Model, errors: &mut Errors| {
        let reachable = reachable_from_start(model, &mut Errors::default());
        end_exists(model, &reachable, errors);
    };
    // Reported where an `end` could go: a step with no outgoing edge,
    assert_eq!(
        report(&quote!(start -> a -> b -> c;), rule),
        ["the graph has no `end`, and step `c` has no outgoing edge; finish the run there: `c -> end;`"]
    );
    // else a loop bound with no `else`,
    assert_eq!(
        report(
            &quote!(start -> a -> b -> c; c -> match { 0 => a [max 2], _ => b };),
            rule
        ),
        ["the graph has no `end`: this loop fails the run when it reaches its bound; leave the loop there instead: `[max 2 else end]`"]
    );
    assert!(report(
        &quote!(start -> a -> b -> c; c -> match { 0 => a [max 2], _ => end };),
        rule
    )
    .is_empty());
}

#[test]
fn no_step_is_a_dead_end() {
    let rule = |model: &Model, errors: &mut Errors| {
        no_dead_ends(model, &reachable(model), errors);
    };
    assert_eq!(
        report(
            &quote!(start -> a -> match { 0 => b, _ => c }; c -> end;),
            rule
        ),
        ["step `b` has no outgoing edge; add `b -> next_step;` or `b -> end;`"]
    );
    assert!(report(
        &quote!(start -> a -> match { 0 => b, _ => c }; b -> end; c -> end;),
        rule
    )
    .is_empty());
    // Branches go to their fork's join.
    assert!(report(&quote!(start -> (a, b) -> c -> end;), rule).is_empty());
}
