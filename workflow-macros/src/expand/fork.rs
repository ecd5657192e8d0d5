//! Fan-outs and maps: their state, the edge into them, their arm of the transition, and the
//! join.
//!
//! A fan-out `(b, c)` holds `(input, (Branch<B>, Branch<C>))`: its arm polls the pending
//! branches in place, saves the state each time one finishes, and fails at the first error
//! (dropping, so cancelling, the others) unless it is `[collect]`. A map `each b` holds
//! `(Vec<input>, Vec<Branch<B>>)` and runs through `__private::run_each`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Index;

use super::transition::{route, run_step, Casts, Crossing, Entry, From, Next};
use super::{fork_variant, local, private};
use crate::diag;
use crate::model::{Edge, Model, Node};

/// The steps of fork `index`'s branches, in order; a valid model names only steps there.
fn branch_steps(model: &Model, index: usize) -> Vec<usize> {
    model.forks[index]
        .branches
        .iter()
        .filter_map(|branch| match branch.to {
            Node::Step(step) => Some(step),
            _ => None,
        })
        .collect()
}

/// What the state variant of fork `index` holds, spanned at the fork so that a branch output
/// that cannot be stored is reported there.
pub(super) fn state_type(model: &Model, index: usize) -> syn::Type {
    let fork = &model.forks[index];
    let krate = &model.krate;
    let steps = branch_steps(model, index);
    let Some(first) = steps.first() else {
        return syn::parse_quote!(());
    };
    let input = &model.steps[*first].sig.input;
    let outputs = (0..fork.branches.len()).filter_map(|branch| model.branch_output(index, branch));
    let tokens = if fork.map {
        let outputs = outputs.collect::<Vec<_>>();
        let output = &outputs[..1];
        quote_spanned!(fork.span=> (
            ::std::vec::Vec<#input>,
            ::std::vec::Vec<#(#krate::__private::Branch<#output>)*>,
        ))
    } else {
        quote_spanned!(fork.span=> (#input, (#(#krate::__private::Branch<#outputs>,)*)))
    };
    syn::parse2(tokens).unwrap_or_else(|_| syn::parse_quote!(()))
}

/// What fork `index` takes: its first branch's input, or a `Vec` of its step's inputs for a map.
pub(super) fn input_type(model: &Model, index: usize) -> Option<syn::Type> {
    let first = *branch_steps(model, index).first()?;
    let input = &model.steps[first].sig.input;
    Some(if model.forks[index].map {
        syn::parse_quote!(::std::vec::Vec<#input>)
    } else {
        input.clone()
    })
}

/// The state of fork `index` about to run on `value`, already of its input type: after the
/// edge into it, or from `Workflow::start`.
pub(super) fn initial_state(model: &Model, index: usize, value: &TokenStream) -> TokenStream {
    let state = &model.state;
    let krate = &model.krate;
    let ident = fork_variant(model, index);
    let fork = &model.forks[index];
    if fork.map {
        return quote!(#state::#ident(#krate::__private::map_state(#value)));
    }
    let pending = fork
        .branches
        .iter()
        .map(|_| quote!(#krate::__private::Branch::Pending));
    quote!(#state::#ident((#value, (#(#pending,)*))))
}

/// The state after the edge `from -> fork` carrying `value`: checked to be what the first
/// branch takes (for a map, a collection of what its step takes).
pub(super) fn enter(
    model: &Model,
    from: &str,
    index: usize,
    value: &TokenStream,
    first: Span,
    last: Span,
    casts: &mut Casts,
) -> TokenStream {
    let Some(step) = branch_steps(model, index).first().copied() else {
        return quote!(::core::unreachable!());
    };
    let target = &model.steps[step].sig.input;
    let to = model.step_name(step);
    let value = if model.forks[index].map {
        let crossing = Crossing {
            name: format!("{from}_to_each_{to}"),
            message: diag::items_mismatch(from, &to),
            to_end: false,
            target,
            first,
            last,
        };
        casts.collect(crossing, value)
    } else {
        let crossing = Crossing {
            name: format!("{from}_to_{to}"),
            message: diag::fork_input_mismatch(from, &to),
            to_end: false,
            target,
            first,
            last,
        };
        casts.cast(crossing, value)
    };
    initial_state(model, index, &value)
}

/// The state after the join of fork `index` goes along `edge` (to a step) with `value`, the
/// joined outputs: element by element when the step takes a tuple of the right size, so that
/// a mismatch names its branch. `None` for `end`, which the caller handles.
pub(super) fn join(
    model: &Model,
    index: usize,
    edge: &Edge,
    value: &TokenStream,
    first: Span,
    casts: &mut Casts,
) -> Option<TokenStream> {
    let Node::Step(to) = edge.to else {
        return None;
    };
    let state = &model.state;
    let fork = &model.forks[index];
    let target = &model.steps[to].sig.input;
    let ident = super::variant(model, Some(to));
    let to_name = model.step_name(to);
    let label = model.fork_label(index);
    let elements = match target {
        syn::Type::Tuple(tuple) if !fork.map && tuple.elems.len() == fork.branches.len() => {
            Some(&tuple.elems)
        }
        _ => None,
    };
    let Some(elements) = elements else {
        let crossing = Crossing {
            name: format!("join_to_{to_name}"),
            message: diag::join_mismatch(&label, &to_name),
            to_end: false,
            target,
            first,
            last: edge.last,
        };
        let cast = casts.cast(crossing, value);
        return Some(quote!(#state::#ident(#cast)));
    };
    let parts: Vec<_> = (0..elements.len())
        .map(|position| format_ident!("__joined{}", position, span = Span::mixed_site()))
        .collect();
    let casts = fork
        .branches
        .iter()
        .zip(elements)
        .zip(&parts)
        .enumerate()
        .map(|(position, ((branch, element), part))| {
            let branch_name = branch.name.to_string();
            let message = if fork.collect {
                diag::collected_mismatch(&branch_name, &to_name, position + 1)
            } else {
                diag::branch_mismatch(&branch_name, &to_name, position + 1)
            };
            let crossing = Crossing {
                name: format!("{branch_name}_to_{to_name}"),
                message,
                to_end: false,
                target: element,
                first: branch.name.span(),
                last: branch.name.span(),
            };
            casts.cast(crossing, &quote!(#part))
        })
        .collect::<Vec<_>>();
    Some(quote! {{
        let (#(#parts,)*) = #value;
        #state::#ident((#(#casts,)*))
    }})
}

/// The entry of the drive that runs fork `index` and goes to its join.
pub(super) fn fork_entry(model: &Model, index: usize, casts: &mut Casts) -> Option<Entry> {
    let fork = &model.forks[index];
    let join = fork.join.as_ref()?;
    let krate = &model.krate;
    let [content, taken, cx, joined] = ["__content", "__taken", "__cx", "__joined"].map(local);
    let once = super::once(model);
    let run = if fork.map {
        map_body(model, index)
    } else {
        fan_out_body(model, index, casts)
    };
    let route = route(
        model,
        From::Join(index),
        join,
        quote!(#joined),
        fork.span,
        casts,
    );
    Some(Entry {
        variant: fork_variant(model, index),
        binding: quote!(mut #content),
        body: quote! {
            if !#once {
                #krate::__private::RunContext::enter(#cx, &mut #taken, usize::MAX)?;
            }
            let #joined = { #run };
        },
        next: Next::State(route),
    })
}

/// Where fork `index` saves the state: the state enum's name, the variant's number and tag.
fn view(model: &Model, index: usize) -> TokenStream {
    let state = model.state.to_string();
    let before = model
        .steps
        .iter()
        .filter(|step| step.branch_of.is_empty())
        .count();
    let number = u32::try_from(before + index).unwrap_or(u32::MAX);
    let tag = model.fork_label(index);
    quote!((#state, #number, #tag))
}

/// The future of one run of branch step `step` on `value` (an expression of its input type):
/// its output, or with `[collect]` what `settle` makes of it.
fn branch_future(model: &Model, fork: usize, step: usize, value: &TokenStream) -> TokenStream {
    let krate = &model.krate;
    let [input, output] = ["__input", "__output"].map(local);
    let call = run_step(model, step);
    let body = quote! {
        let #input = #value;
        let #output = #call;
        ::core::result::Result::<_, #krate::__private::Error>::Ok(#output)
    };
    if model.forks[fork].collect {
        let name = model.step_name(step);
        quote!(async move { #krate::__private::settle(#name, async move { #body }.await) })
    } else {
        quote!(async move { #body })
    }
}

/// Runs the pending branches of a fan-out at once, polled in place, until each is done;
/// evaluates to the tuple of their outputs.
fn fan_out_body(model: &Model, index: usize, casts: &mut Casts) -> TokenStream {
    let krate = &model.krate;
    let fork = &model.forks[index];
    let steps = branch_steps(model, index);
    let [content, cx, loops, task, result] =
        ["__content", "__cx", "__loops", "__task", "__result"].map(local);
    let clone = private(model, "fork_input", fork.span);
    let futures: Vec<_> = (0..steps.len())
        .map(|position| format_ident!("__branch{}", position, span = Span::mixed_site()))
        .collect();
    let slots: Vec<Index> = (0..steps.len()).map(Index::from).collect();
    let outs: Vec<_> = (0..steps.len())
        .map(|position| format_ident!("__out{}", position, span = Span::mixed_site()))
        .collect();
    let shared = local("__shared");
    let starts = steps.iter().enumerate().map(|(position, &step)| {
        let branch = &fork.branches[position];
        // The argument placed at the fork too: rustc reports a missing `Clone` there.
        let placed = proc_macro2::Ident::new("__shared", Span::mixed_site().located_at(fork.span));
        let copy = quote_spanned!(fork.span=> #clone(#placed));
        let value = if position == 0 {
            copy
        } else {
            let name = model.step_name(step);
            let crossing = Crossing {
                name: format!("fork_to_{name}"),
                message: diag::branch_input_mismatch(&model.step_name(steps[0]), &name),
                to_end: false,
                target: &model.steps[step].sig.input,
                first: branch.name.span(),
                last: branch.name.span(),
            };
            casts.cast(crossing, &quote!(#copy))
        };
        let future = branch_future(model, index, step, &value);
        let future_ident = &futures[position];
        quote! {
            let mut #future_ident = ::core::pin::pin!(#cx.branch(#step, #position, #future));
        }
    });
    let view = view(model, index);
    let done = quote!(#krate::__private::Branch::Done);
    let moved: Vec<_> = (0..steps.len())
        .map(|position| format_ident!("__slot{}", position, span = Span::mixed_site()))
        .collect();
    // Each pass polls every pending branch and stores what finished in place, like
    // `tokio::join!`; the state is saved after a pass in which a branch finished.
    quote! {
        let #shared = &#content.0;
        #(#starts)*
        let __saves = #cx.saves_checkpoints();
        loop {
            match (#(#content.1.#slots,)*) {
                (#(#done(#outs),)*) => break (#(#outs,)*),
                (#(#moved,)*) => {
                    #(#content.1.#slots = #moved;)*
                }
            }
            ::core::future::poll_fn(|#task| {
                let mut __finished = false;
                #(
                    if #content.1.#slots.is_pending() {
                        if let ::core::task::Poll::Ready(#result) =
                            ::core::future::Future::poll(#futures.as_mut(), #task)
                        {
                            match #result {
                                ::core::result::Result::Ok(#result) => {
                                    #content.1.#slots = #done(#result);
                                    __finished = true;
                                }
                                ::core::result::Result::Err(__error) => {
                                    return ::core::task::Poll::Ready(
                                        ::core::result::Result::Err(__error),
                                    );
                                }
                            }
                        }
                    }
                )*
                if __finished {
                    ::core::task::Poll::Ready(::core::result::Result::Ok(()))
                } else {
                    ::core::task::Poll::Pending
                }
            })
            .await?;
            if __saves {
                let (__name, __number, __variant) = #view;
                #cx.checkpoint(
                    &#krate::__private::StateView::new(__name, __number, __variant, &#content),
                    &*#loops,
                )
                .await?;
            }
        }
    }
}

/// Runs a map through `run_each`; evaluates to the `Vec` of its outputs.
fn map_body(model: &Model, index: usize) -> TokenStream {
    let krate = &model.krate;
    let fork = &model.forks[index];
    let Some(step) = branch_steps(model, index).first().copied() else {
        return quote!(::core::unreachable!());
    };
    let [content, cx, loops, item] = ["__content", "__cx", "__loops", "__item"].map(local);
    let clone = private(model, "map_item", fork.span);
    let future = branch_future(model, index, step, &{
        let placed = proc_macro2::Ident::new("__item", Span::mixed_site().located_at(fork.span));
        quote_spanned!(fork.span=> #clone(#placed))
    });
    let view = view(model, index);
    let concurrency = fork.concurrency.map_or_else(
        || quote!(usize::MAX),
        |n| {
            let n = n as usize;
            quote!(#n)
        },
    );
    quote! {
        #krate::__private::run_each(
            #cx,
            &*#loops,
            #view,
            &mut #content,
            #step,
            #concurrency,
            move |#item| #future,
        )
        .await?
    }
}
