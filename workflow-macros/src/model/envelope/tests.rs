//! The most steps a run can take, on small graphs whose worst case is known.

use proc_macro2::TokenStream;
use quote::quote;

use crate::tests::{model_of, steps_and_flow};

/// `Model::max_steps` of steps `a`, `b` and `c` wired by `flow`.
fn max_steps(flow: &TokenStream) -> Option<u64> {
    model_of(steps_and_flow(&["a", "b", "c"], flow)).max_steps()
}

#[test]
fn a_chain_takes_each_step_once() {
    assert_eq!(max_steps(&quote!(start -> a -> b -> c -> end;)), Some(3));
    assert_eq!(max_steps(&quote!(start -> a -> end;)), Some(1));
}

#[test]
fn a_routing_match_takes_its_longest_arm() {
    assert_eq!(
        max_steps(&quote!(start -> a -> match { 0 => end, 1 => b, _ => c }; b -> c -> end;)),
        Some(3)
    );
}

#[test]
fn a_bounded_loop_runs_to_its_bound() {
    // a, then (b, c) once plus 3 times back along `c -> b`.
    assert_eq!(
        max_steps(&quote!(start -> a -> b -> c; c -> match { 0 => b [max 3], _ => end };)),
        Some(1 + 2 * 4)
    );
    // The `else` route is taken once the bound is reached.
    assert_eq!(
        max_steps(&quote!(start -> a -> b -> match { 0 => a [max 2 else c], _ => end }; c -> end;)),
        Some(2 * 3 + 1)
    );
    // A self-loop.
    assert_eq!(
        max_steps(&quote!(start -> a -> match { 0 => a [max 5], _ => end };)),
        Some(6)
    );
}

#[test]
fn loops_count_over_the_whole_run() {
    // The inner loop's counter is not reset when the outer loop goes round: b runs at most
    // 1 + 2 (outer) + 3 (inner) times.
    assert_eq!(
        max_steps(&quote! {
            start -> a -> b -> match { 0 => b [max 3], _ => c };
            c -> match { 0 => a [max 2], _ => end };
        }),
        Some(3 * 3 + 3)
    );
}

#[test]
fn a_fan_out_or_a_map_is_one_step() {
    let fan_out = quote! {
        impl W {
            async fn a(&self, x: u8) -> u8 { x }
            async fn b(&self, x: u8) -> u8 { x }
            async fn c(&self, x: u8) -> u8 { x }
            async fn join(&self, x: (u8, u8)) -> u8 { x.0 }
            flow! { start -> a -> (b, c) -> join -> end; }
        }
    };
    assert_eq!(model_of(fan_out).max_steps(), Some(3));
    let map = quote! {
        impl W {
            async fn a(&self, x: u8) -> Vec<u8> { vec![x] }
            async fn b(&self, x: u8) -> u8 { x }
            async fn join(&self, x: Vec<u8>) -> u8 { x[0] }
            flow! { start -> a -> each b -> join -> end; }
        }
    };
    assert_eq!(model_of(map).max_steps(), Some(3));
}

#[test]
fn large_bounds_give_an_upper_bound() {
    // Too deep to search: (bounds + 1) * nodes.
    assert_eq!(
        max_steps(&quote!(start -> a -> b -> c; c -> match { 0 => b [max 100000], _ => end };)),
        Some(100_001 * 3)
    );
}
