//! What is emitted next to errors: stand-ins for the generated items, so that code using the
//! workflow reports no follow-on errors.

use proc_macro2::TokenStream;
use quote::quote;

use super::input_type;
use crate::model::Model;

/// `run`, `MERMAID`, `MAX_STEPS` and `GRAPH` (but those the impl block defines itself, an error already reported)
/// with the types that are known, and no body worth running: the crate does not compile anyway.
pub(crate) fn fallback(model: &Model) -> TokenStream {
    let krate = &model.krate;
    let self_ty = &model.self_ty;
    let (impl_generics, _, where_clause) = model.generics.split_for_impl();
    // Types from a step whose signature has errors could add errors of their own.
    let all_valid = model.steps.iter().all(|step| step.sig.valid);
    let input = input_type(model).filter(|_| all_valid);
    let output = model.output.as_ref().filter(|_| all_valid);
    let mut params = Vec::new();
    if input.is_none() {
        params.push(quote!(__Input));
    }
    if output.is_none() {
        params.push(quote!(__Output));
    }
    let input = input.map_or_else(|| quote!(__Input), |ty| quote!(#ty));
    let output = output.map_or_else(|| quote!(__Output), |ty| quote!(#ty));
    let free = |name: &str| !model.taken.iter().any(|taken| taken == name);
    let mermaid = free("MERMAID").then(|| {
        quote! {
            /// Unavailable: the workflow has errors.
            pub const MERMAID: &'static str = "";
        }
    });
    let max_steps = free("MAX_STEPS").then(|| {
        quote! {
            /// Unavailable: the workflow has errors.
            pub const MAX_STEPS: ::core::option::Option<u64> = ::core::option::Option::None;
        }
    });
    let graph = free("GRAPH").then(|| {
        quote! {
            /// Unavailable: the workflow has errors.
            pub const GRAPH: #krate::__private::Graph =
                #krate::__private::Graph::new("", &[], &[], &[], false);
        }
    });
    let run = free("run").then(|| {
        quote! {
            /// Unavailable: the workflow has errors.
            #[allow(unused_variables, clippy::unused_async)]
            pub async fn run<#(#params),*>(&self, input: #input) -> ::core::result::Result<#output, #krate::__private::Error> {
                ::core::unreachable!()
            }
        }
    });
    quote! {
        impl #impl_generics #self_ty #where_clause {
            #mermaid
            #max_steps
            #graph
            #run
        }
    }
}
