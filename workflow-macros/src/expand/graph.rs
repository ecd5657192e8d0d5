//! The `GRAPH` constant: the edges and routes route coverage checks runs against.

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::{Model, Via};

/// `Graph::new(NAME, &[edges], &[routes], &[branches], complete)`.
pub(super) fn graph(model: &Model) -> TokenStream {
    let krate = &model.krate;
    let graph = model.graph();
    let name = model.name.to_string();
    let edges = graph.edges.iter().map(|edge| {
        let (from, to) = (&edge.from, &edge.to);
        let label = label(&edge.via);
        quote!(#krate::__private::Edge::new(#from, #to, #label))
    });
    let routes = graph.routes.iter().map(|route| quote!(&[#(#route),*]));
    let branches = graph
        .branches
        .iter()
        .map(|(step, fork)| quote!((#step, #fork)));
    let complete = graph.complete;
    quote! {
        #krate::__private::Graph::new(
            #name,
            &[#(#edges),*],
            &[#(#routes),*],
            &[#(#branches),*],
            #complete,
        )
    }
}

/// The arms an edge stands for, `|`-separated; empty for an edge that is not an arm.
fn label(via: &[Via<'_>]) -> String {
    if via.iter().all(|via| matches!(via, Via::Plain)) {
        return String::new();
    }
    let labels: Vec<String> = via
        .iter()
        .map(|via| match via {
            Via::Plain => "_".to_owned(),
            Via::Else => "else".to_owned(),
            Via::Error => "error".to_owned(),
            Via::Arm(arm) => match &arm.guard {
                Some(guard) => format!(
                    "{} if {}",
                    super::mermaid::pretty(&arm.pat),
                    super::mermaid::pretty(guard)
                ),
                None => super::mermaid::pretty(&arm.pat),
            },
        })
        .collect();
    labels.join(" | ")
}
