//! Signals: `Workflow::receives`, `Workflow::deliver_json`, `Workflow::check_signal` and
//! `Workflow::signals` for a workflow with `receive` steps, and `impl Signal<M>` for each type
//! of message they take.

use proc_macro2::TokenStream;
use quote::quote;

use super::serde::workflow_bounds;
use super::workflow_impl::value_schema;
use super::{local, variant};
use crate::model::Model;

/// The signals the workflow receives: each name (the message type as written, in the
/// fingerprint's canonical form), its type, and the steps that receive it, in declaration
/// order.
fn signals(model: &Model) -> Vec<(String, &syn::Type, Vec<usize>)> {
    let mut signals: Vec<(String, &syn::Type, Vec<usize>)> = Vec::new();
    for index in (0..model.steps.len()).filter(|index| model.is_receive(*index)) {
        let Some(ty) = model.steps[index].sig.resume.as_ref() else {
            continue;
        };
        let name = super::fingerprint::canonical(ty);
        match signals.iter_mut().find(|(seen, _, _)| *seen == name) {
            Some((_, _, steps)) => steps.push(index),
            None => signals.push((name, ty, vec![index])),
        }
    }
    signals
}

/// The four `Workflow` methods of a workflow that receives signals; nothing for one that
/// receives none (the defaults say so).
pub(super) fn signal_methods(model: &Model) -> TokenStream {
    let signals = signals(model);
    if signals.is_empty() {
        return TokenStream::new();
    }
    let (krate, state) = (&model.krate, &model.state);
    let workflow = model.name.to_string();
    let [state_var, waiting, value, signal] = ["state", "waiting", "value", "signal"].map(local);
    let private = quote!(#krate::__private);
    let mut waits = Vec::new();
    let mut gives = Vec::new();
    for (name, ty, steps) in &signals {
        for index in steps {
            let ident = variant(model, Some(*index));
            waits.push(quote! {
                #state::#ident(#waiting) if #waiting.is_waiting() => {
                    ::core::option::Option::Some(#name)
                }
            });
            gives.push(quote! {
                #state::#ident(#waiting) if #waiting.is_waiting() => {
                    let #value = #private::signal_value::<#ty>(#workflow, #name, #value)?;
                    ::core::result::Result::Ok(#state::#ident(#waiting.give(#value)))
                }
            });
        }
    }
    let checks = signals.iter().map(|(name, ty, _)| {
        quote!(#name => #private::check_signal_value::<#ty>(#workflow, #name, #value),)
    });
    let known: Vec<String> = signals
        .iter()
        .map(|(name, _, _)| format!("`{name}`"))
        .collect();
    let known = known.join(", ");
    let definitions = signals.iter().map(|(name, ty, steps)| {
        let steps = steps.iter().map(|index| model.step_name(*index));
        let schema = value_schema(model, ty);
        quote! {
            #private::SignalDefinition::new(
                #name, &[#(#steps),*], ::core::any::type_name::<#ty>(), #schema,
            )
        }
    });
    quote! {
        fn signals() -> ::std::vec::Vec<#private::SignalDefinition> {
            ::std::vec![#(#definitions),*]
        }

        fn receives(#state_var: &Self::State) -> ::core::option::Option<&'static str> {
            match #state_var {
                #(#waits)*
                _ => ::core::option::Option::None,
            }
        }

        fn deliver_json(
            #state_var: Self::State,
            #value: #private::serde_json::Value,
        ) -> ::core::result::Result<Self::State, #private::Error> {
            match #state_var {
                #(#gives)*
                #state_var => ::core::result::Result::Err(#private::Error::NotPaused {
                    workflow: #workflow,
                    step: <Self as #private::Workflow>::step_name(&#state_var),
                }),
            }
        }

        fn check_signal(
            #signal: &str,
            #value: &#private::serde_json::Value,
        ) -> ::core::result::Result<(), #private::Error> {
            match #signal {
                #(#checks)*
                _ => #private::unknown_signal(#workflow, #signal, #known),
            }
        }
    }
}

/// `impl Signal<M>` for each type of message the workflow receives.
pub(super) fn signal_impls(model: &Model) -> TokenStream {
    let krate = &model.krate;
    let self_ty = &model.self_ty;
    let (impl_generics, _, _) = model.generics.split_for_impl();
    let where_clause = workflow_bounds(model);
    let impls = signals(model).into_iter().map(|(name, ty, _)| {
        quote! {
            #[automatically_derived]
            impl #impl_generics #krate::__private::Signal<#ty> for #self_ty #where_clause {
                const SIGNAL: &'static str = #name;
            }
        }
    });
    quote!(#(#impls)*)
}
