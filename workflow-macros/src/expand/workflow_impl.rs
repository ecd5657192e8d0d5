//! `impl Workflow for T`, and the hidden method that drives its steps.

use proc_macro2::TokenStream;
use quote::quote;

use super::serde::workflow_bounds;
use super::state::{phantom_arm, state_generics};
use super::transition::{drive_body, Casts};
use super::{fingerprint, input_type, local, variant};
use crate::model::Model;

pub(super) fn workflow_impl(model: &Model) -> TokenStream {
    let krate = &model.krate;
    let self_ty = &model.self_ty;
    let (impl_generics, _, _) = model.generics.split_for_impl();
    let where_clause = workflow_bounds(model);
    let state = &model.state;
    let state_ty = state_type(model);
    let input = input_type(model);
    let input_var = local("__input");
    let output = &model.output;
    let name = model.name.to_string();
    let fingerprint = fingerprint::fingerprint(model);
    let steps = model.steps.iter().map(|step| step.sig.ident.to_string());
    let start_state = model.start.first().map(|start| match start.edge.to {
        crate::model::Node::Fork(index) => super::fork::start_state(model, index, &input_var),
        crate::model::Node::Step(index) => {
            let first = variant(model, Some(index));
            quote!(#state::#first(#input_var))
        }
        crate::model::Node::End | crate::model::Node::Unknown => quote!(::core::unreachable!()),
    });
    let end = variant(model, None);
    let names = step_names(model);
    let phantom = phantom_arm(model, true);
    let drive = drive_method(model);
    let [state_var, loops, cx, out] = ["__state", "__loops", "__cx", "__out"].map(local);
    let future = |output: TokenStream| {
        quote! {
            impl ::core::future::Future<
                Output = ::core::result::Result<#output, #krate::__private::Error>,
            > + ::core::marker::Send + '__a
        }
    };
    let state_future = future(quote!(Self::State));
    let output_future = future(quote!(Self::Output));
    quote! {
        #drive

        #[automatically_derived]
        impl #impl_generics #krate::__private::Workflow for #self_ty #where_clause {
            type Input = #input;
            type Output = #output;
            type State = #state_ty;

            const NAME: &'static str = #name;
            const FINGERPRINT: u64 = #fingerprint;
            const STEPS: &'static [&'static str] = &[#(#steps),*];

            fn start(#input_var: Self::Input) -> Self::State {
                #start_state
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

            fn transition<'__a>(
                &'__a self,
                #state_var: Self::State,
                #loops: &'__a mut #krate::__private::Loops,
                #cx: &'__a #krate::__private::Context,
            ) -> #state_future {
                self.__workflow_drive(#state_var, #loops, #cx, true)
            }

            #[allow(clippy::manual_async_fn)]
            fn run_from<'__a>(
                &'__a self,
                #state_var: Self::State,
                #loops: &'__a mut #krate::__private::Loops,
                #cx: &'__a #krate::__private::Context,
            ) -> #output_future {
                async move {
                    let mut #state_var = #state_var;
                    loop {
                        let #out = self.__workflow_drive(#state_var, #loops, #cx, false).await?;
                        match <Self as #krate::__private::Workflow>::finish(#out) {
                            ::core::result::Result::Ok(#out) => return ::core::result::Result::Ok(#out),
                            ::core::result::Result::Err(#out) => #state_var = #out,
                        }
                    }
                }
            }
        }
    }
}

/// `__workflow_drive`: every step of the workflow inlined in one loop, shared by `transition`
/// (one step) and `run_from` (to the end), so that the edge checks are generated once.
fn drive_method(model: &Model) -> TokenStream {
    let krate = &model.krate;
    let self_ty = &model.self_ty;
    let (impl_generics, _, _) = model.generics.split_for_impl();
    let where_clause = workflow_bounds(model);
    let state_ty = state_type(model);
    let mut casts = Casts::default();
    let body = drive_body(model, &mut casts);
    let casts = casts.items();
    let [state_var, loops, cx, once] = ["__state", "__loops", "__cx", "__once"].map(local);
    quote! {
        impl #impl_generics #self_ty #where_clause {
            #[doc(hidden)]
            #[allow(clippy::too_many_lines, clippy::used_underscore_binding, unused_mut, unused_variables)]
            async fn __workflow_drive(
                &self,
                mut #state_var: #state_ty,
                #loops: &mut #krate::__private::Loops,
                #cx: &#krate::__private::Context,
                #once: bool,
            ) -> ::core::result::Result<#state_ty, #krate::__private::Error> {
                #(#casts)*
                #body
            }
        }
    }
}

/// The state enum with its generic arguments: `ArticleState<M>`.
fn state_type(model: &Model) -> TokenStream {
    let state = &model.state;
    let generics = state_generics(model);
    let (_, ty_generics, _) = generics.split_for_impl();
    quote!(#state #ty_generics)
}

fn step_names(model: &Model) -> Vec<TokenStream> {
    let state = &model.state;
    let mut variants = super::variants(model);
    variants.pop();
    variants
        .into_iter()
        .map(|super::Variant { ident, tag, .. }| quote!(#state::#ident(_) => #tag,))
        .collect()
}
