//! Procedural macros of [`workflow`](https://docs.rs/workflow): `#[workflow]` and `flow!`.
//!
//! Use them through the `workflow` crate, which documents them; this crate's paths are not
//! stable. The macro runs in stages: `parse` reads syntax, `model` resolves names, `check`
//! applies the graph rules, `expand` builds tokens; every error is collected in `diag::Errors`
//! and all are reported together.

mod check;
mod diag;
mod expand;
mod model;
mod parse;

use proc_macro::TokenStream;
use quote::quote;

/// Turns the `async fn`s of an impl block into the steps of a workflow whose graph is declared
/// by the `flow!` block inside it. Documented on `workflow::workflow`.
#[proc_macro_attribute]
pub fn workflow(args: TokenStream, item: TokenStream) -> TokenStream {
    workflow_impl(args.into(), &item.into()).into()
}

/// Declares the graph of a `#[workflow]` impl block; an error anywhere else.
#[proc_macro]
pub fn flow(_input: TokenStream) -> TokenStream {
    syn::Error::new(proc_macro2::Span::call_site(), diag::FLOW_OUTSIDE)
        .to_compile_error()
        .into()
}

/// Sets the options of a step inside a `#[workflow]` impl block; an error anywhere else.
#[proc_macro_attribute]
pub fn step(_args: TokenStream, item: TokenStream) -> TokenStream {
    let item: proc_macro2::TokenStream = item.into();
    let error =
        syn::Error::new(proc_macro2::Span::call_site(), diag::STEP_OUTSIDE).to_compile_error();
    quote!(#item #error).into()
}

fn workflow_impl(
    args: proc_macro2::TokenStream,
    item: &proc_macro2::TokenStream,
) -> proc_macro2::TokenStream {
    let mut errors = diag::Errors::default();
    let args = parse::args(args, &mut errors);
    let input = match parse::input(item.clone(), &mut errors) {
        Ok(input) => input,
        Err(error) => {
            let error = error.to_compile_error();
            return quote!(#item #error);
        }
    };
    let user_impl = input.item.clone();
    if input.flow.is_none() {
        errors.push(
            syn::spanned::Spanned::span(&input.item.self_ty),
            diag::NO_FLOW,
        );
    }
    let model = model::build(args, input, &mut errors);
    if let Some(model) = &model {
        check::check(model, &mut errors);
    } else if errors.is_empty() {
        errors.push(
            syn::spanned::Spanned::span(&user_impl.self_ty),
            diag::NOT_NAMED,
        );
    }
    let generated = match &model {
        Some(model) if errors.is_empty() => expand::expand(model),
        Some(model) => expand::fallback(model),
        None => proc_macro2::TokenStream::new(),
    };
    let user_impl = match &model {
        Some(model) => expand::step_questions(model, user_impl),
        None => user_impl,
    };
    let errors = errors.to_compile_errors();
    quote!(#user_impl #generated #errors)
}

#[cfg(test)]
mod tests;
