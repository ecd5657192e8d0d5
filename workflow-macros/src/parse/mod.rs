//! Reads the macro input: the `#[workflow(...)]` arguments, the impl block, its steps and its
//! `flow!` block. Only syntax here; names and the graph are resolved in `model`.

mod flow;
mod step;

pub(crate) use flow::{Chain, Flow, Fork, Route, Sleep, Target};
pub(crate) use step::{StepFn, StepOptions};

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{ImplItem, ItemImpl};

use crate::diag::{self, Errors};

/// `#[workflow(crate = path, state = [vis] Name, version = N)]`
#[derive(Default)]
pub(crate) struct Args {
    pub(crate) krate: Option<syn::Path>,
    pub(crate) state: Option<StateName>,
    /// The definition's declared version, which enters its fingerprint.
    pub(crate) version: Option<u32>,
}

/// `state = pub(crate) Name`: the name of the state enum, and the visibility of that name.
pub(crate) struct StateName {
    pub(crate) vis: syn::Visibility,
    pub(crate) ident: syn::Ident,
}

impl syn::parse::Parse for StateName {
    fn parse(input: syn::parse::ParseStream<'_>) -> syn::Result<Self> {
        Ok(StateName {
            vis: input.parse()?,
            ident: input.parse()?,
        })
    }
}

/// The impl block, with its `flow!` and `#[step]` attributes taken out.
pub(crate) struct Input {
    pub(crate) item: ItemImpl,
    pub(crate) steps: Vec<StepFn>,
    pub(crate) flow: Option<Flow>,
    /// The names of [`GENERATED_ITEMS`] the impl block defines itself (an error).
    pub(crate) taken: Vec<String>,
}

pub(crate) fn args(tokens: TokenStream, errors: &mut Errors) -> Args {
    let mut args = Args::default();
    let parser = syn::meta::parser(|meta| {
        let name = meta
            .path
            .get_ident()
            .map_or_else(String::new, ToString::to_string);
        match name.as_str() {
            "crate" if args.krate.is_none() => args.krate = Some(meta.value()?.parse()?),
            "state" if args.state.is_none() => args.state = Some(meta.value()?.parse()?),
            "version" if args.version.is_none() => args.version = Some(version(&meta)?),
            "crate" | "state" | "version" => return Err(meta.error(diag::duplicate_arg(&name))),
            _ => {
                let path = &meta.path;
                let written = quote::quote!(#path).to_string().replace(' ', "");
                return Err(meta.error(diag::unknown_workflow_arg(&written)));
            }
        }
        Ok(())
    });
    if let Err(error) = parser.parse2(tokens) {
        errors.add(error);
    }
    args
}

/// `version = N`, with `N` a `u32` literal.
fn version(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<u32> {
    let span = meta.path.span();
    if !meta.input.peek(syn::Token![=]) {
        return Err(syn::Error::new(span, diag::BAD_VERSION));
    }
    let value: syn::Expr = meta
        .value()?
        .parse()
        .map_err(|error| syn::Error::new(error.span(), diag::BAD_VERSION))?;
    match &value {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(int),
            ..
        }) => int
            .base10_parse()
            .map_err(|_| syn::Error::new(int.span(), diag::VERSION_RANGE)),
        syn::Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr,
            ..
        }) if matches!(
            &**expr,
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Int(_),
                ..
            })
        ) =>
        {
            Err(syn::Error::new_spanned(&value, diag::VERSION_RANGE))
        }
        _ => Err(syn::Error::new_spanned(&value, diag::BAD_VERSION)),
    }
}

/// Parses the impl block. `Err` carries the error when the item is not an impl block at all.
pub(crate) fn input(tokens: TokenStream, errors: &mut Errors) -> Result<Input, syn::Error> {
    let span = first_span(&tokens);
    let mut item: ItemImpl =
        syn::parse2(tokens).map_err(|_| syn::Error::new(span, diag::NOT_AN_IMPL))?;
    if let Some((_, path, _)) = &item.trait_ {
        errors.push(path.span(), diag::TRAIT_IMPL);
    }
    let mut steps = Vec::new();
    let mut flow = None;
    let mut kept = Vec::with_capacity(item.items.len());
    let mut taken = Vec::new();
    for impl_item in std::mem::take(&mut item.items) {
        match impl_item {
            ImplItem::Fn(mut method) => {
                if is_generated(&method.sig.ident) {
                    taken.push(unraw(&method.sig.ident));
                }
                steps.push(step::step(&mut method, errors));
                // A step is `async` by contract, even if its body does not await.
                method
                    .attrs
                    .push(syn::parse_quote!(#[allow(clippy::unused_async)]));
                kept.push(ImplItem::Fn(method));
            }
            ImplItem::Macro(mac) if is_flow(&mac.mac.path) => {
                let span = mac.mac.path.span();
                if flow.is_some() {
                    errors.push(span, diag::SECOND_FLOW);
                } else {
                    flow = Some(flow::parse(span, mac.mac.tokens, errors));
                }
            }
            ImplItem::Const(konst) => {
                if is_generated(&konst.ident) {
                    taken.push(unraw(&konst.ident));
                    errors.push(
                        konst.ident.span(),
                        diag::generated_name(&unraw(&konst.ident)),
                    );
                }
                kept.push(ImplItem::Const(konst));
            }
            other => kept.push(other),
        }
    }
    item.items = kept;
    Ok(Input {
        item,
        steps,
        flow,
        taken,
    })
}

/// `name` without the `r#` of a raw identifier: `r#a` and `a` name the same step.
pub(crate) fn unraw(name: &syn::Ident) -> String {
    let text = name.to_string();
    text.strip_prefix("r#")
        .map_or_else(|| text.clone(), str::to_owned)
}

/// Whether `name` is a word of `flow!` that cannot name a step: `start` or `end`.
pub(crate) fn is_reserved(name: &syn::Ident) -> bool {
    matches!(unraw(name).as_str(), "start" | "end")
}

/// The associated items `#[workflow]` generates on the workflow type next to the user's, in
/// the same namespace as methods and constants: the user's impl block cannot define them.
pub(crate) const GENERATED_ITEMS: &[&str] = &["run", "MERMAID", "MAX_STEPS", "GRAPH"];

/// Whether `name` is one of [`GENERATED_ITEMS`].
pub(crate) fn is_generated(name: &syn::Ident) -> bool {
    GENERATED_ITEMS.contains(&unraw(name).as_str())
}

fn first_span(tokens: &TokenStream) -> Span {
    tokens
        .clone()
        .into_iter()
        .next()
        .map_or_else(Span::call_site, |token| token.span())
}

/// Whether `path` names the `flow!` macro: `flow`, or a path to it through the `workflow`
/// crate (`workflow::flow`, `::workflow::prelude::flow`).
fn is_flow(path: &syn::Path) -> bool {
    let mut names = path.segments.iter().map(|segment| &segment.ident);
    match (names.next(), names.next_back()) {
        (Some(only), None) => only == "flow",
        (Some(first), Some(last)) => first == "workflow" && last == "flow",
        _ => false,
    }
}
