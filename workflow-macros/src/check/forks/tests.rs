//! Each rule on fan-outs and maps, on a small input that breaks it and on one close to it that
//! does not.

use proc_macro2::TokenStream;
use quote::quote;

use super::{branches_belong_to_their_fork, fan_out_width, join_arity, MAX_BRANCHES};
use crate::tests::{rule_messages, steps_and_flow};

fn branches(flow: &TokenStream) -> Vec<String> {
    rule_messages(
        steps_and_flow(&["a", "b", "c", "d"], flow),
        branches_belong_to_their_fork,
    )
}

#[test]
fn a_branch_has_no_edges_of_its_own() {
    // The edge's source also names the branch outside its fork: both are said, at `b`.
    assert_eq!(
        branches(&quote!(start -> a -> (b, c) -> d -> end; b -> d;)),
        [
            "step `b` is a branch of a fan-out, whose output goes to `d`; it cannot have edges of its own",
            "step `b` is a branch of a fan-out, so it runs only there; to run the same code elsewhere, call it from another step",
        ]
    );
    assert!(branches(&quote!(start -> a -> (b, c) -> d -> end;)).is_empty());
    assert!(branches(&quote!(start -> a -> each b -> d -> end;)).is_empty());
}

#[test]
fn a_branch_is_named_nowhere_else() {
    let elsewhere = "step `b` is a branch of a fan-out, so it runs only there; to run the same code elsewhere, call it from another step";
    assert_eq!(
        branches(&quote!(start -> a -> (b, c) -> d -> match { 0 => b, _ => end };)),
        [elsewhere]
    );
    assert_eq!(
        branches(&quote!(start -> a -> (b, c) -> d -> each b -> end;)),
        [elsewhere]
    );
    assert_eq!(
        branches(&quote!(start -> a -> (b, b, c) -> d -> end;)),
        ["step `b` is already a branch of this fan-out"]
    );
}

#[test]
fn a_join_takes_one_element_per_branch() {
    let report = |join: TokenStream, flow: &TokenStream| {
        let item = quote! {
            impl W {
                async fn a(&self, x: u8) -> u8 { x }
                async fn b(&self, x: u8) -> u8 { x }
                async fn c(&self, x: u8) -> u8 { x }
                async fn d(&self, x: #join) -> u8 { 0 }
                flow! { #flow }
            }
        };
        rule_messages(item, join_arity)
    };
    let fan_out = quote!(start -> a -> (b, c) -> d -> end;);
    assert_eq!(
        report(quote!((u8, u8, u8)), &fan_out),
        ["the fan-out `(b, c)` has 2 branches, but step `d` takes a tuple of 3; it takes one element per branch, in order"]
    );
    assert!(report(quote!((u8, u8)), &fan_out).is_empty());
    // A map's join takes a `Vec`, which rustc checks.
    assert!(report(
        quote!((u8, u8, u8)),
        &quote!(start -> a -> each b -> d -> end;)
    )
    .is_empty());
}

#[test]
fn a_fan_out_has_at_most_16_branches() {
    let wide = |count: usize| {
        let names: Vec<String> = (0..count).map(|i| format!("b{i}")).collect();
        let mut steps: Vec<&str> = names.iter().map(String::as_str).collect();
        steps.extend(["a", "d"]);
        let branches = names.iter().map(|name| quote::format_ident!("{}", name));
        let flow = quote!(start -> a -> (#(#branches),*) -> d -> end;);
        rule_messages(steps_and_flow(&steps, &flow), fan_out_width)
    };
    assert!(wide(MAX_BRANCHES).is_empty());
    let messages = wide(MAX_BRANCHES + 1);
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0].starts_with("the fan-out `(b0, b1, b2, …)` has 17 branches, more than the 16"),
        "{}",
        messages[0]
    );
    assert!(messages[0].contains("`a -> each b -> join`"));
    // A map runs its step over any number of elements.
    let map = rule_messages(
        steps_and_flow(&["a", "b", "d"], &quote!(start -> a -> each b -> d -> end;)),
        fan_out_width,
    );
    assert!(map.is_empty());
}
