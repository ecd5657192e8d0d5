//! Builds the generated tokens from a checked [`Model`]. Never reports user errors: if it meets
//! something invalid, a check is missing.

mod fallback;
mod fingerprint;
mod fork;
mod graph;
mod inherent;
mod mermaid;
mod question;
pub(crate) mod serde;
mod signals;
mod state;
mod transition;
mod workflow_impl;

pub(crate) use fallback::fallback;
pub(crate) use question::steps as step_questions;

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::Ident;

// The names of generated items are the model's (`transition` names its casts with `camel`).
use crate::model::{camel, Model};

/// Everything generated for a valid workflow, next to the user's impl block: the alias that
/// names the state enum in the user's module, and, in a block of their own (so that the enum is
/// exactly as visible as the workflow type), the enum and every impl.
pub(crate) fn expand(model: &Model) -> TokenStream {
    // At the state's name: where a type of the user's with that name clashes with it.
    let alias = respan(state::state_alias(model), model.state.span());
    let state = state::state_enum(model);
    let debug = state::state_debug(model);
    let serde = serde::state_serde(model);
    let workflow = workflow_impl::workflow_impl(model);
    let answers = workflow_impl::answer_impls(model);
    let signals = signals::signal_impls(model);
    let inherent = inherent::inherent_impl(model);
    let sync = sync_check(model);
    let data = serde::data_checks(model);
    quote! {
        #alias
        const _: () = {
            #sync
            #data
            #state
            #debug
            #serde
            #workflow
            #answers
            #signals
            #inherent
        };
    }
}

/// For a workflow that is not generic: the check that it is `Send + Sync`, placed at the self
/// type. The impls only assume it (`for<'_> Self: WorkflowSync`), so that it is reported once,
/// here, in our words; rustc's help line then reads "the trait `SendSync` is not implemented".
fn sync_check(model: &Model) -> TokenStream {
    if !model.generics.params.is_empty() {
        return TokenStream::new();
    }
    let self_ty = &model.self_ty;
    let span = syn::spanned::Spanned::span(self_ty);
    let message = crate::diag::NOT_SYNC;
    quote_spanned! {span=>
        #[diagnostic::on_unimplemented(
            message = #message,
            label = "a field of `{Self}` is not `Send`, or not `Sync`",
            note = "a run may move between threads, and its steps borrow the workflow from any of them: give `{Self}` fields that are `Send + Sync` (a `Mutex` or an atomic for a `RefCell` or a `Cell`, an `Arc` for an `Rc`)"
        )]
        trait SendSync {
            fn __check() {}
        }
        #[diagnostic::do_not_recommend]
        impl<__W: ?::core::marker::Sized + ::core::marker::Send + ::core::marker::Sync> SendSync for __W {}
        let _ = <#self_ty as SendSync>::__check;
    }
}

/// The name of the state variant of step `index`, or of the terminal state for `None`.
fn variant(model: &Model, index: Option<usize>) -> Ident {
    model.variant(index)
}

/// The name of the state variant of fork `index`: `FanOutSentimentTopic` or `EachSummarize`.
fn fork_variant(model: &Model, index: usize) -> Ident {
    model.fork_variant(index)
}

/// One variant of the state enum: its name, its tag when serialized, and what it holds.
struct Variant {
    ident: Ident,
    tag: String,
    ty: syn::Type,
    /// The types the user wrote that `ty` is made of, which must be storable: the bounds of
    /// the generated impls, each reported at its own span.
    parts: Vec<syn::Type>,
    /// The variant of a pause step.
    pause: bool,
    /// The variant of a step that receives a signal.
    receive: bool,
    /// The variant of a step the run sleeps before: the duration as written.
    sleep: Option<String>,
}

/// The variants of the state enum, in order: the steps, the forks, then `End`.
fn variants(model: &Model) -> Vec<Variant> {
    // A branch of a fork has no variant: it runs inside its fork's.
    let steps = model.steps.iter().enumerate();
    let steps = steps
        .filter(|(_, step)| step.branch_of.is_empty())
        .map(|(index, step)| {
            let input = step.sig.input.clone();
            let (ty, parts) = match (model.waits(index), &step.sig.resume) {
                _ if step.sig.child.is_some() => {
                    let ty = child_state(model, index);
                    (ty.clone(), vec![ty])
                }
                (true, Some(value)) => {
                    let krate = &model.krate;
                    let ty = syn::parse_quote!(#krate::__private::PauseState<#input, #value>);
                    (ty, vec![input, value.clone()])
                }
                _ if model.sleep_millis(index).is_some() => {
                    let krate = &model.krate;
                    let ty = syn::parse_quote!(#krate::__private::SleepState<#input>);
                    (ty, vec![input])
                }
                _ => (input.clone(), vec![input]),
            };
            Variant {
                ident: variant(model, Some(index)),
                tag: step.sig.ident.to_string(),
                ty,
                parts,
                pause: model.is_pause(index),
                receive: model.is_receive(index),
                sleep: model
                    .sleep_millis(index)
                    .and_then(|_| step.sleep.as_ref().map(|sleep| sleep.text.clone())),
            }
        });
    let forks = (0..model.forks.len()).map(|index| {
        let ty = fork::state_type(model, index);
        // The value of each branch, saved on its own as the branch finishes.
        let outputs = fork::branch_outputs(model, index);
        Variant {
            ident: fork_variant(model, index),
            tag: model.fork_label(index),
            parts: std::iter::once(ty.clone()).chain(outputs).collect(),
            ty,
            pause: false,
            receive: false,
            sleep: None,
        }
    });
    let output: syn::Type = model
        .output
        .clone()
        .unwrap_or_else(|| syn::parse_quote!(()));
    let end = Variant {
        ident: variant(model, None),
        tag: "end".to_owned(),
        parts: vec![output.clone()],
        ty: output,
        pause: false,
        receive: false,
        sleep: None,
    };
    steps.chain(forks).chain(Some(end)).collect()
}

/// What the state variant of step `index`, which runs another workflow, holds:
/// `ChildState<<Research as Workflow>::State>`, placed at the workflow's type.
fn child_state(model: &Model, index: usize) -> syn::Type {
    let krate = &model.krate;
    let child = model.child(index);
    let span = child.map_or_else(Span::call_site, syn::spanned::Spanned::span);
    syn::parse_quote_spanned! {span=>
        #krate::__private::ChildState<<#child as #krate::__private::Workflow>::State>
    }
}

/// The state about to run step `index` with `input`, a value of the step's input type:
/// `State::Step(input)`, waiting if the step is a pause, asleep until the time to come if
/// the run sleeps before it, at the child's first state if it runs another workflow.
fn enter_step(model: &Model, index: usize, input: &TokenStream) -> TokenStream {
    let (krate, state) = (&model.krate, &model.state);
    let target = variant(model, Some(index));
    if let Some(child) = model.child(index) {
        let workflow = quote!(#krate::__private::Workflow);
        quote! {
            #state::#target(#krate::__private::ChildState::new(
                <#child as #workflow>::start(#input),
            ))
        }
    } else if model.waits(index) {
        quote!(#state::#target(#krate::__private::PauseState::waiting(#input)))
    } else if let Some(millis) = model.sleep_millis(index) {
        quote! {
            #state::#target(#krate::__private::SleepState::after(
                #input,
                ::core::time::Duration::from_millis(#millis),
            ))
        }
    } else {
        quote!(#state::#target(#input))
    }
}

/// `tokens` placed at `span` for error messages, resolving as before.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let proc_macro2::TokenTree::Group(group) = &token {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(group.span().located_at(span));
                token = proc_macro2::TokenTree::Group(inner);
            } else {
                token.set_span(token.span().located_at(span));
            }
            token
        })
        .collect()
}

/// The path of an item of `__private`, placed at `span`.
fn private(model: &Model, item: &str, span: Span) -> TokenStream {
    let krate = &model.krate;
    let item = Ident::new(item, Span::call_site());
    respan(quote!(#krate::__private::#item), span)
}

/// A generated local name, invisible to the user's code.
fn local(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

/// The workflow's input type: the input of the step after `start`, or of the fork there.
fn input_type(model: &Model) -> Option<syn::Type> {
    match model.start.first()?.edge.to {
        crate::model::Node::Step(index) => Some(model.steps[index].sig.input.clone()),
        crate::model::Node::Fork(index) => fork::input_type(model, index),
        _ => None,
    }
}
