//! Fan-outs and maps: their state, the edge into them, their arm of the transition, and the
//! join.
//!
//! A fan-out `(b, c)` holds `(input, (Branch<B>, Branch<C>))`: its arm runs each pending
//! branch through `Context::branch`, polled in place as `try_join!` does, so the first error
//! drops (cancels) the others unless it is `[collect]`. A map `each b` holds
//! `(Vec<input>, Vec<Branch<B>>)` and runs through `Context::each`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use super::transition::{bare_call, route, run_step, Casts, Crossing, From};
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

/// What each branch of fork `index` gives, as `Context::branch` saves it: each step's output,
/// or with `[collect]` its `Result`; spanned at the step's output type, where a type that
/// cannot be saved is reported.
pub(super) fn branch_outputs(model: &Model, index: usize) -> Vec<syn::Type> {
    let fork = &model.forks[index];
    let steps = branch_steps(model, index);
    let steps = if fork.map {
        &steps[..steps.len().min(1)]
    } else {
        &steps[..]
    };
    let krate = &model.krate;
    steps
        .iter()
        .filter_map(|&step| {
            let output = &model.steps[step].sig.output;
            let span = syn::spanned::Spanned::span(output);
            let tokens = if fork.collect {
                quote_spanned!(span=> ::core::result::Result<#output, #krate::__private::BranchError>)
            } else {
                quote_spanned!(span=> #output)
            };
            syn::parse2(tokens).ok()
        })
        .collect()
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

/// The arm of the transition that runs fork `index` and routes what its join gets.
pub(super) fn fork_arm(model: &Model, index: usize, casts: &mut Casts) -> Option<TokenStream> {
    let fork = &model.forks[index];
    let join = fork.join.as_ref()?;
    let state = &model.state;
    let joined = local("joined");
    let (binding, run) = if fork.map {
        map_body(model, index)?
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
    let variant = fork_variant(model, index);
    Some(quote! {
        #state::#variant(#binding) => {
            let #joined = { #run };
            #route
        }
    })
}

/// The future of one run of branch step `step` on `value` (an expression of its input type):
/// its output, or with `[collect]` what `settle` makes of it. A step that only needs awaiting
/// is that future itself, its output made `Ok` (`Succeeds`), rather than inside an `async`
/// block: a future and a state of its own less in every branch.
/// A map's future owns what it uses (`moving`): it outlives the closure that makes it.
fn branch_future(
    model: &Model,
    fork: usize,
    step: usize,
    value: &TokenStream,
    moving: bool,
) -> TokenStream {
    let krate = &model.krate;
    let collect = model.forks[fork].collect;
    if let Some(call) = bare_call(model, step, value).filter(|_| !collect) {
        return quote!(#krate::__private::Succeeds::new(#call));
    }
    let [input, output] = ["input", "output"].map(local);
    let call = run_step(model, step);
    let body = quote! {
        let #input = #value;
        let #output = #call;
        ::core::result::Result::<_, #krate::__private::Error>::Ok(#output)
    };
    let capture = moving.then(|| quote!(move));
    if collect {
        let name = model.step_name(step);
        quote!(async #capture { #krate::__private::settle(#name, async { #body }.await) })
    } else {
        quote!(async #capture { #body })
    }
}

/// Runs the pending branches of a fan-out at once, each through `Context::branch`, polled in
/// place as `tokio::try_join!` polls its futures; evaluates to the tuple of their outputs.
/// Binds the state's content as `(input, (slot, …))`.
fn fan_out_body(model: &Model, index: usize, casts: &mut Casts) -> (TokenStream, TokenStream) {
    let krate = &model.krate;
    let fork = &model.forks[index];
    let steps = branch_steps(model, index);
    let [input, cx, shared] = ["input", "cx", "shared"].map(local);
    let clone = private(model, "ForkInput", fork.span);
    let names = |prefix: &str| -> Vec<proc_macro2::Ident> {
        (0..steps.len())
            .map(|position| format_ident!("{prefix}{position}", span = Span::mixed_site()))
            .collect()
    };
    let (slots, futures, outs, moved) =
        (names("slot"), names("branch"), names("out"), names("moved"));
    let branches = steps.iter().enumerate().map(|(position, &step)| {
        let branch = &fork.branches[position];
        // The argument placed at the fork too: rustc reports a missing `Clone` there.
        let placed = proc_macro2::Ident::new("shared", Span::mixed_site().located_at(fork.span));
        let copy = quote_spanned!(fork.span=> #clone::fork_clone(#placed));
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
        let future = branch_future(model, index, step, &value, false);
        let (name, pinned) = (model.step_name(step), &futures[position]);
        quote! {
            let mut #pinned = ::core::pin::pin!(
                #cx.branch(#name, #position, #krate::__private::Branch::Pending, #future)
            );
        }
    });
    // The slots are bound where they are, in the state: the arm fills them in place rather
    // than copying every slot out of the state first.
    let binding = quote!((ref #input, (#(ref mut #slots,)*)));
    let [task, result, waiting] = ["task", "result", "waiting"].map(local);
    let done = quote!(#krate::__private::Branch::Done);
    let pending = quote!(#krate::__private::Branch::Pending);
    let (poll, pinned) = (quote!(::core::task::Poll), &futures);
    // Each wake polls every pending branch in place and stores what finished in its slot,
    // as `tokio::join!` does; the first error ends the fan-out (and drops the others). A
    // branch finished before a resume is never polled.
    let run = quote! {
        let #shared = #input;
        let #cx = &*#cx;
        #(#branches)*
        loop {
            ::core::future::poll_fn(|#task| {
                let mut #waiting = false;
                #(
                    if let #pending = *#slots {
                        match ::core::future::Future::poll(#pinned.as_mut(), #task) {
                            #poll::Ready(::core::result::Result::Ok(#result)) => {
                                *#slots = #done(#result);
                            }
                            #poll::Ready(::core::result::Result::Err(#result)) => {
                                return #poll::Ready(::core::result::Result::Err(#result));
                            }
                            #poll::Pending => #waiting = true,
                        }
                    }
                )*
                match #waiting {
                    true => #poll::Pending,
                    false => #poll::Ready(::core::result::Result::Ok(())),
                }
            })
            .await?;
            // Every slot is done now; the second arm only gives the slots back.
            match (#(::core::mem::replace(#slots, #pending),)*) {
                (#(#done(#outs),)*) => break (#(#outs,)*),
                (#(#moved,)*) => {
                    #(*#slots = #moved;)*
                }
            }
        }
    };
    (binding, run)
}

/// Runs a map through `Context::each`; evaluates to the `Vec` of its outputs. Binds the
/// state's content as `(items, done)`.
fn map_body(model: &Model, index: usize) -> Option<(TokenStream, TokenStream)> {
    let fork = &model.forks[index];
    let step = branch_steps(model, index).first().copied()?;
    let [items, done, cx, item] = ["items", "done", "cx", "item"].map(local);
    let clone = private(model, "MapItem", fork.span);
    let placed = proc_macro2::Ident::new("item", Span::mixed_site().located_at(fork.span));
    let value = quote_spanned!(fork.span=> #clone::map_clone(#placed));
    let future = branch_future(model, index, step, &value, true);
    let concurrency = fork.concurrency.map_or_else(
        || quote!(::core::primitive::usize::MAX),
        |n| {
            let n = n as usize;
            quote!(#n)
        },
    );
    let name = model.step_name(step);
    let run = quote! {
        let #cx = &*#cx;
        #cx.each(#name, &#items, #done, #concurrency, |#item| #future).await?
    };
    Some((quote!((#items, #done)), run))
}
