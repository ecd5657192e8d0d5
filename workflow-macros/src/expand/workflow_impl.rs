//! `impl Workflow for T`: the types, name, fingerprint and transition function.

use proc_macro2::TokenStream;
use quote::quote;

use super::state::{phantom_arm, state_generics};
use super::transition::{transition_body, Casts};
use super::{fingerprint, input_type, local, variant};
use crate::model::Model;

pub(super) fn workflow_impl(model: &Model) -> TokenStream {
    let krate = &model.krate;
    let self_ty = &model.self_ty;
    let (impl_generics, _, _) = model.generics.split_for_impl();
    let where_clause = super::serde::workflow_bounds(model);
    let state = &model.state;
    let state_generics = state_generics(model);
    let (_, state_ty_generics, _) = state_generics.split_for_impl();
    let input = input_type(model);
    let output = &model.output;
    let name = model.name.to_string();
    let fingerprint = fingerprint::fingerprint(model);
    let steps = model.steps.iter().map(|step| step.sig.ident.to_string());
    let first = model.start.first().and_then(|start| match start.edge.to {
        crate::model::Node::Step(index) => Some(variant(model, Some(index))),
        _ => None,
    });
    let end = variant(model, None);
    let names = step_names(model);
    let phantom = phantom_arm(model, true);
    let mut casts = Casts::default();
    let body = transition_body(model, &mut casts);
    let casts = casts.items();
    let [state_var, loops, cx, input_var, out] =
        ["__state", "__loops", "__cx", "__input", "__out"].map(local);
    quote! {
        impl #impl_generics #krate::__private::Workflow for #self_ty #where_clause {
            type Input = #input;
            type Output = #output;
            type State = #state #state_ty_generics;

            const NAME: &'static str = #name;
            const FINGERPRINT: u64 = #fingerprint;
            const STEPS: &'static [&'static str] = &[#(#steps),*];

            fn start(#input_var: Self::Input) -> Self::State {
                #state::#first(#input_var)
            }

            fn finish(#state_var: Self::State) -> ::core::result::Result<Self::Output, Self::State> {
                match #state_var {
                    #state::#end(#out) => ::core::result::Result::Ok(#out),
                    #state_var => ::core::result::Result::Err(#state_var),
                }
            }

            fn step_name(#state_var: &Self::State) -> &'static str {
                match #state_var {
                    #(#names)*
                    #state::#end(_) => "end",
                    #phantom
                }
            }

            #[allow(clippy::manual_async_fn, clippy::too_many_lines)]
            fn transition<'__a>(
                &'__a self,
                #state_var: Self::State,
                #loops: &'__a mut #krate::__private::Loops,
                #cx: &'__a #krate::__private::Context,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<Self::State, #krate::__private::Error>,
            > + ::core::marker::Send + '__a {
                #(#casts)*
                async move {
                    let _ = &#loops;
                    #body
                }
            }
        }
    }
}

fn step_names(model: &Model) -> Vec<TokenStream> {
    let state = &model.state;
    (0..model.steps.len())
        .map(|index| {
            let ident = variant(model, Some(index));
            let name = model.step_name(index);
            quote!(#state::#ident(_) => #name,)
        })
        .collect()
}
