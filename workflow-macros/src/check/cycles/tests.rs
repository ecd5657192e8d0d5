//! Each rule on loops, on a small input that breaks it and on one close to it that does not.

use proc_macro2::TokenStream;
use quote::quote;

use super::{every_cycle_bounded, every_step_ends};
use crate::check::graph::reachable_from_start;
use crate::diag::Errors;
use crate::model::Model;
use crate::tests::{rule_messages, steps_and_flow};

/// What `rule` reports on steps `a`, `b` and `c` wired by `flow`.
fn report(flow: &TokenStream, rule: impl FnOnce(&Model, &mut Errors)) -> Vec<String> {
    rule_messages(steps_and_flow(&["a", "b", "c"], flow), rule)
}

#[test]
fn every_cycle_has_a_bound() {
    let unbounded = |cycle: &str| {
        format!(
            "the cycle `{cycle}` has no bound, so a run could loop forever; bound one of its edges with `[max N]`, e.g. `[max 3]`"
        )
    };
    assert_eq!(
        report(
            &quote!(start -> a -> b -> c; c -> match { 0 => a, _ => end };),
            every_cycle_bounded
        ),
        [unbounded("a -> b -> c -> a")]
    );
    assert_eq!(
        report(
            &quote!(start -> a -> b -> c -> end; b -> match { 0 => b, _ => c };),
            every_cycle_bounded
        ),
        [unbounded("b -> b")]
    );
    // Two separate loops, each reported.
    assert_eq!(
        report(
            &quote!(start -> a -> match { 0 => a, _ => b }; b -> match { 0 => b, _ => c }; c -> end;),
            every_cycle_bounded
        ),
        [unbounded("a -> a"), unbounded("b -> b")]
    );
    assert!(report(
        &quote!(start -> a -> b -> c; c -> match { 0 => a [max 3], _ => end };),
        every_cycle_bounded
    )
    .is_empty());
}

#[test]
fn every_step_can_reach_end() {
    let rule = |model: &Model, errors: &mut Errors| {
        let reachable = reachable_from_start(model, &mut Errors::default());
        every_step_ends(model, &reachable, errors);
    };
    assert_eq!(
        report(
            &quote!(start -> a -> match { 0 => b, _ => end }; b -> c -> b [max 2];),
            rule
        ),
        ["step `b` can never reach `end`: every path from it loops back; add an exit, e.g. an `else end` to a loop bound or a `match` arm to `end`"]
    );
    assert!(report(
        &quote!(start -> a -> match { 0 => b, _ => end }; b -> c -> b [max 2 else end];),
        rule
    )
    .is_empty());
}
