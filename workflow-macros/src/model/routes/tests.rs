//! The edges and routes of small graphs.

use proc_macro2::TokenStream;
use quote::quote;

use crate::tests::{model_of, steps_and_flow};

/// The edges (`from -> to`) and routes (`start -> … -> end`) of steps `a`, `b` and `c` wired
/// by `flow`, and whether the routes are all listed.
fn graph(flow: &TokenStream) -> (Vec<String>, Vec<String>, bool) {
    let model = model_of(steps_and_flow(&["a", "b", "c"], flow));
    let graph = model.graph();
    let edges: Vec<String> = graph
        .edges
        .iter()
        .map(|edge| format!("{} -> {}", edge.from, edge.to))
        .collect();
    let routes = graph
        .routes
        .iter()
        .map(|route| {
            let mut text = "start".to_owned();
            for edge in route {
                text.push_str(&format!(" -> {}", graph.edges[*edge].to));
            }
            text
        })
        .collect();
    (edges, routes, graph.complete)
}

#[test]
fn a_chain_has_one_route() {
    let (edges, routes, complete) = graph(&quote!(start -> a -> b -> end;));
    assert_eq!(edges, ["start -> a", "a -> b", "b -> end"]);
    assert_eq!(routes, ["start -> a -> b -> end"]);
    assert!(complete);
}

#[test]
fn each_arm_to_another_place_is_a_route() {
    let (edges, routes, _) =
        graph(&quote!(start -> a -> match { 0 => b, 1 => end, _ => c }; b -> c -> end;));
    assert_eq!(
        edges,
        [
            "start -> a",
            "a -> b",
            "a -> end",
            "a -> c",
            "b -> c",
            "c -> end"
        ]
    );
    assert_eq!(
        routes,
        [
            "start -> a -> b -> c -> end",
            "start -> a -> end",
            "start -> a -> c -> end"
        ]
    );
}

#[test]
fn arms_to_the_same_place_are_one_edge() {
    let model = model_of(steps_and_flow(
        &["a", "b", "c"],
        &quote!(start -> a -> match { 0 => b [max 2 else end], 1 => end, _ => b }; b -> end;),
    ));
    let graph = model.graph();
    let to_end = graph.edges.iter().find(|e| e.from == "a" && e.to == "end");
    let to_end = to_end.expect("an edge from `a` to `end`");
    assert!(matches!(
        to_end.via[..],
        [super::Via::Else, super::Via::Arm(_)]
    ));
    assert_eq!(
        graph.edges.len(),
        4,
        "start -> a, a -> b, a -> end, b -> end"
    );
}

#[test]
fn loops_are_summarised() {
    let (edges, routes, _) =
        graph(&quote!(start -> a -> b; b -> match { 0 => a [max 3], _ => c }; c -> end;));
    assert_eq!(
        edges,
        ["start -> a", "a -> b", "b -> a", "b -> c", "c -> end"]
    );
    assert_eq!(routes, ["start -> a -> b -> c -> end"]);
}

#[test]
fn a_fork_is_one_node() {
    let (edges, routes, _) = graph(&quote!(start -> (a, b) -> c -> end;));
    assert_eq!(edges, ["start -> (a, b)", "c -> end", "(a, b) -> c"]);
    assert_eq!(routes, ["start -> (a, b) -> c -> end"]);
}

#[test]
fn too_many_routes_are_cut_short() {
    // 16 diamonds in a row: 2^16 routes.
    let names: Vec<String> = (0..48).map(|i| format!("s{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut flow = TokenStream::new();
    flow.extend(quote!(start -> s0;));
    for d in 0..16_usize {
        let [x, y, z] = [3 * d, 3 * d + 1, 3 * d + 2].map(|i| quote::format_ident!("s{i}"));
        let next = if d == 15 {
            quote!(end)
        } else {
            let n = quote::format_ident!("s{}", 3 * d + 3);
            quote!(#n)
        };
        flow.extend(quote!(#x -> match { 0 => #y, _ => #z }; #y -> #next; #z -> #next;));
    }
    let model = model_of(steps_and_flow(&names, &flow));
    let graph = model.graph();
    assert_eq!(graph.routes.len(), super::MAX_ROUTES);
    assert!(!graph.complete);
}
