//! The body of `Workflow::transition`: run the step the state names, then route its output.

use proc_macro2::{Group, Ident, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use super::{camel, local, once, private, stop, variant};
use crate::diag;
use crate::model::{Edge, Model, Node, Outgoing};
use crate::parse::StepOptions;

/// The casts that place type errors on the user's edges: one local trait per edge, whose
/// `on_unimplemented` message names the steps involved.
#[derive(Default)]
pub(super) struct Casts {
    items: Vec<TokenStream>,
    names: Vec<String>,
}

/// Where a value crosses an edge, for [`Casts::cast`].
pub(super) struct Crossing<'a> {
    /// Names the generated trait, which rustc shows in its help line: `draft_to_critique`.
    pub(super) name: String,
    pub(super) message: String,
    pub(super) to_end: bool,
    pub(super) target: &'a syn::Type,
    pub(super) first: Span,
    pub(super) last: Span,
}

impl Casts {
    /// Converts `value` across `crossing`, reporting a type mismatch with its message,
    /// underlining the edge from its first to its last token.
    pub(super) fn cast(&mut self, crossing: Crossing<'_>, value: &TokenStream) -> TokenStream {
        let Crossing {
            name,
            message,
            to_end,
            target,
            first,
            last,
        } = crossing;
        let name = self.unique(&name, first);
        let note = to_end.then_some(diag::OUTPUT_NOTE).into_iter();
        self.items.push(quote! {
            #[diagnostic::on_unimplemented(message = #message, label = "this edge" #(, note = #note)*)]
            #[allow(non_camel_case_types)]
            trait #name<__T> {
                fn __cast(self) -> __T;
            }
            impl<__T> #name<__T> for __T {
                fn __cast(self) -> __T {
                    self
                }
            }
        });
        // `(value,).0`: the argument's span runs from `first` to `last`.
        let mut tuple = Group::new(proc_macro2::Delimiter::Parenthesis, quote!(#value,));
        tuple.set_span(first);
        let dot = quote_spanned!(last=> .0);
        quote_spanned!(first=> #name::<#target>::__cast(#tuple #dot))
    }

    /// Collects `value` into a `Vec` of `crossing.target` for a map, reporting a value that is
    /// not a collection of it with the crossing's message.
    pub(super) fn collect(&mut self, crossing: Crossing<'_>, value: &TokenStream) -> TokenStream {
        let Crossing {
            name,
            message,
            target,
            first,
            last,
            ..
        } = crossing;
        let name = self.unique(&name, first);
        let label = diag::ITEMS_LABEL;
        self.items.push(quote! {
            #[diagnostic::on_unimplemented(message = #message, label = #label)]
            #[allow(non_camel_case_types)]
            trait #name<__T> {
                fn __collect(self) -> ::std::vec::Vec<__T>;
            }
            // Not recommended, so that rustc says only our message, not why `IntoIterator` does
            // not hold (whose wording depends on the crates linked).
            #[diagnostic::do_not_recommend]
            impl<__T, __I: ::core::iter::IntoIterator<Item = __T>> #name<__T> for __I {
                fn __collect(self) -> ::std::vec::Vec<__T> {
                    ::core::iter::Iterator::collect(::core::iter::IntoIterator::into_iter(self))
                }
            }
        });
        let mut tuple = Group::new(proc_macro2::Delimiter::Parenthesis, quote!(#value,));
        tuple.set_span(first);
        let dot = quote_spanned!(last=> .0);
        quote_spanned!(first=> #name::<#target>::__collect(#tuple #dot))
    }

    /// A name for a generated trait, unique in the workflow, placed at `first`.
    fn unique(&mut self, name: &str, first: Span) -> Ident {
        let name: String = name
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { '_' })
            .collect();
        let mut name = camel(&name);
        if self.names.contains(&name) {
            name = format!("{name}{}", self.items.len());
        }
        self.names.push(name.clone());
        format_ident!("{}", name, span = Span::mixed_site().located_at(first))
    }

    pub(super) fn items(&self) -> &[TokenStream] {
        &self.items
    }
}

/// One state the drive can be in, before a step or a fork: how its arm binds the variant's
/// content, the code that runs it, and where it goes next.
pub(super) struct Entry {
    /// The state variant.
    pub(super) variant: Ident,
    /// What the code takes the content as: `__input`, `__paused`, `mut __content`.
    pub(super) binding: TokenStream,
    /// The code up to its route: announce the step, run it.
    pub(super) body: TokenStream,
    pub(super) next: Next,
}

/// Where an [`Entry`] goes once it has run.
pub(super) enum Next {
    /// An expression of the next state (its routes may also `return` an error).
    State(TokenStream),
    /// A plain sequence edge to step `step`, which takes `value`: the entry of `step` can
    /// follow right after in the code, with no state in between.
    Step { step: usize, value: TokenStream },
    /// A sequence edge to `end`: the final state, returned at once.
    End(TokenStream),
}

/// The drive: runs the steps from `__state` until `end`, or one step when its `Stop` is
/// `Once`; returns what the `Stop` makes of the state it stops in (the output, for `ToEnd`).
///
/// Each state has an entry, and the entries are laid out one after another in labeled blocks
/// around a `match` on the state, which jumps to the entry of the state it is in:
///
/// ```text
/// loop {
///     __state = 'out: {
///         'b: { 'a: { match __state { A(x) => { slot_a = x; break 'a; } B(x) => … } }
///               // entry a; its sequence edge to b falls through:
///               slot_b = cast(output); }
///         // entry b, which routes with a `match` on its output:
///         break 'out next_state;
///     };
///     if ONCE { return Ok(S::stop(__state)); }
/// }
/// ```
///
/// A chain of steps thus runs as straight-line code, as if written by hand: only routes that
/// choose, loops, forks and pauses go back through the state. With `Once`, each entry leaves
/// after its step instead of falling through.
pub(super) fn drive_body(model: &Model, casts: &mut Casts) -> TokenStream {
    let state = &model.state;
    let mut entries: Vec<(Option<usize>, Entry)> = (0..model.steps.len())
        .filter_map(|index| Some((Some(index), step_entry(model, index, casts)?)))
        .collect();
    entries.extend(
        (0..model.forks.len())
            .filter_map(|index| Some((None, super::fork::fork_entry(model, index, casts)?))),
    );
    let entry_of = |step: usize| entries.iter().position(|(index, _)| *index == Some(step));
    let follows: Vec<Option<usize>> = entries
        .iter()
        .map(|(_, entry)| match entry.next {
            Next::Step { step, .. } => entry_of(step),
            Next::State(_) | Next::End(_) => None,
        })
        .collect();
    let order = layout(&follows);
    let end = variant(model, None);
    let phantom = super::state::phantom_arm(model, false);
    let [state_var, done, taken, bound, next] =
        ["__state", "__done", "__taken", "__bound", "__next"].map(local);
    let once = once(model);
    let ended = stop(model, &quote!(#state::#end(#done)));
    let out = label("out");
    let slots: Vec<Ident> = (0..entries.len())
        .map(|k| local(&format!("__slot{k}")))
        .collect();
    let labels: Vec<syn::Lifetime> = (0..entries.len())
        .map(|k| label(&format!("entry{k}")))
        .collect();
    let arms = entries.iter().enumerate().map(|(k, (_, entry))| {
        let (ident, slot, label) = (&entry.variant, &slots[k], &labels[k]);
        quote!(#state::#ident(#bound) => { #slot = #bound; break #label; })
    });
    let mut code = quote! {
        match #state_var {
            #(#arms)*
            #state::#end(#done) => return #ended,
            #phantom
        }
    };
    for (position, &k) in order.iter().enumerate() {
        let Entry {
            binding,
            body,
            next: go,
            ..
        } = &entries[k].1;
        let then = match go {
            Next::State(expr) => quote!(break #out #expr;),
            Next::End(expr) => {
                let ended = stop(model, expr);
                quote!(return #ended;)
            }
            Next::Step { step, value } => {
                let target = variant(model, Some(*step));
                match follows[k] {
                    Some(after) if order.get(position + 1) == Some(&after) => {
                        let slot = &slots[after];
                        quote! {
                            let #next = #value;
                            if #once {
                                break #out #state::#target(#next);
                            }
                            #slot = #next;
                        }
                    }
                    _ => quote!(break #out #state::#target(#value);),
                }
            }
        };
        let (label, slot) = (&labels[k], &slots[k]);
        code = quote! {
            #label: { #code }
            let #binding = #slot;
            #body
            #then
        };
    }
    let declare = slots.iter().map(|slot| quote!(let #slot;));
    let stopped = stop(model, &quote!(#state_var));
    quote! {
        let mut #taken = ::core::default::Default::default();
        loop {
            #(#declare)*
            #state_var = #out: { #code };
            if #once {
                return #stopped;
            }
        }
    }
}

/// The order of the entries in the code: each entry that `follows` a plain sequence edge into
/// another is placed right before it, so that it falls through; the rest in order.
fn layout(follows: &[Option<usize>]) -> Vec<usize> {
    // The entry each one falls into, at most one per target: the first that goes there.
    let mut falls_into: Vec<Option<usize>> = vec![None; follows.len()];
    let mut claimed = vec![false; follows.len()];
    for (k, target) in follows.iter().enumerate() {
        if let Some(target) = *target {
            if target != k && !claimed[target] {
                claimed[target] = true;
                falls_into[k] = Some(target);
            }
        }
    }
    let mut order = Vec::with_capacity(follows.len());
    let mut placed = vec![false; follows.len()];
    // Chains start at entries nothing falls into; what is left (a chain in a cycle) after.
    let heads = (0..follows.len()).filter(|k| !claimed[*k]);
    for head in heads.chain(0..follows.len()) {
        let mut at = Some(head);
        while let Some(k) = at.filter(|k| !placed[*k]) {
            placed[k] = true;
            order.push(k);
            at = falls_into[k];
        }
    }
    order
}

/// A label of the drive, hygienic like its locals.
fn label(name: &str) -> syn::Lifetime {
    syn::Lifetime::new(&format!("'__{name}"), Span::mixed_site())
}

fn step_entry(model: &Model, index: usize, casts: &mut Casts) -> Option<Entry> {
    if !model.steps[index].branch_of.is_empty() {
        // A branch has no state of its own: it runs in its fork's entry.
        return None;
    }
    let [input, output, taken, cx] = ["__input", "__output", "__taken", "__cx"].map(local);
    let once = once(model);
    let krate = &model.krate;
    let call = run_step(model, index);
    let next = match model.steps[index].outgoing.first() {
        Some(Outgoing::Sequence { source, edge }) => match edge.to {
            Node::Step(to) if edge.bound.is_none() && edge.arg.is_none() && !model.is_pause(to) => {
                let value = step_value(
                    model,
                    From::Step(index),
                    edge,
                    quote!(#output),
                    *source,
                    casts,
                );
                Next::Step { step: to, value }
            }
            _ => {
                let routed = route(
                    model,
                    From::Step(index),
                    edge,
                    quote!(#output),
                    *source,
                    casts,
                );
                if edge.to == Node::End && edge.bound.is_none() {
                    Next::End(routed)
                } else {
                    Next::State(routed)
                }
            }
        },
        Some(Outgoing::Match { token, arms }) => {
            let arms = arms.iter().map(|arm| {
                let pat = &arm.pat;
                let guard = arm.guard.as_ref().map(|guard| quote!(if #guard));
                let matched = local("__matched");
                let fallback = arm
                    .edge
                    .bound
                    .as_ref()
                    .and_then(|bound| bound.fallback.as_deref());
                let pat =
                    if arm.edge.arg.is_none() || fallback.is_some_and(|edge| edge.arg.is_none()) {
                        quote!(#matched @ (#pat))
                    } else {
                        quote!(#pat)
                    };
                let route = route(
                    model,
                    From::Step(index),
                    &arm.edge,
                    quote!(#matched),
                    arm.edge.name.span(),
                    casts,
                );
                quote!(#pat #guard => { #route })
            });
            // rustc reports a non-exhaustive match at its scrutinee: place it on `match`.
            let keyword = quote_spanned!(token.span=> match);
            let scrutinee = Ident::new("__output", Span::mixed_site().located_at(token.span));
            Next::State(quote!(#keyword #scrutinee { #(#arms)* }))
        }
        // `check::graph::no_dead_ends` rejects a reachable step without an outgoing edge, and
        // `reachable_from_start` an unreachable one, so a valid model never gets here, but for
        // the branches of forks, whose entries are the forks'.
        None => return None,
    };
    let (binding, unpause) = if model.is_pause(index) {
        let paused = local("__paused");
        let given = local("__value_given");
        let name = model.step_name(index);
        let unpause = quote! {
            let (#input, #given) = match #paused {
                #krate::__private::PauseState {
                    input: #input,
                    value: #krate::__private::PauseValue::Given(#given),
                } => (#input, #given),
                // `Workflow::pause` says so: the run waits for `Workflow::resume`.
                _ => return ::core::result::Result::Err(#cx.suspended(#name)),
            };
        };
        (paused, unpause)
    } else {
        (input, TokenStream::new())
    };
    Some(Entry {
        variant: variant(model, Some(index)),
        binding: quote!(#binding),
        body: quote! {
            #unpause
            if !#once {
                #krate::__private::RunContext::enter(#cx, &mut #taken, #index)?;
            }
            let #output = #call;
        },
        next,
    })
}

/// Runs step `index` under its policy: `let output = …`. A step with no policy is awaited
/// right here; one with a timeout or retries goes through `Context::step…`.
pub(super) fn run_step(model: &Model, index: usize) -> TokenStream {
    let krate = &model.krate;
    let sig = &model.steps[index].sig;
    let method = &sig.ident;
    let name = method.to_string();
    let [input, cx, value, error] = ["__input", "__cx", "__value", "__error"].map(local);
    let arg = sig.has_input.then(|| quote!(#input));
    let value_local = local("__value_given");
    let given = sig.resume.as_ref().map(|_| quote!(, #value_local));
    let call = quote!(self.#method(#arg #given).await);
    // The step's error as a `BoxError`; the conversion is placed at the error type, where
    // rustc reports an error type that does not convert.
    let boxed = sig.fallible.as_ref().map(|error_ty| {
        let span = error_ty.span();
        let convert = private(model, "step_error", span);
        let placed = Ident::new("__error", Span::mixed_site().located_at(span));
        quote_spanned!(span=> #convert(#placed))
    });
    let policy = &sig.options;
    if policy.retry.is_none_or(|retry| retry == 0) && policy.timeout.is_none() {
        return match boxed {
            Some(boxed) => quote! {
                match #call {
                    ::core::result::Result::Ok(#value) => #value,
                    ::core::result::Result::Err(#error) => {
                        return ::core::result::Result::Err(#cx.step_error(#name, #boxed));
                    }
                }
            },
            None => call,
        };
    }
    let invoke = match boxed {
        Some(boxed) => quote! {
            match #call {
                ::core::result::Result::Ok(#value) => ::core::result::Result::Ok(#value),
                ::core::result::Result::Err(#error) => ::core::result::Result::Err(#boxed),
            }
        },
        None => quote!(::core::result::Result::<_, #krate::__private::BoxError>::Ok(#call)),
    };
    let policy = self::policy(krate, policy);
    if sig.options.retry.is_some_and(|retry| retry > 0) {
        let span = sig.input.span();
        let clone = private(model, "retry_input", span);
        let placed = Ident::new("__input", Span::mixed_site().located_at(span));
        let placed = quote_spanned!(span=> &#placed);
        let given = sig.resume.as_ref().map(|ty| {
            let span = ty.span();
            let clone = private(model, "retry_input", span);
            let placed = Ident::new("__value_given", Span::mixed_site().located_at(span));
            quote_spanned!(span=> let #value_local = #clone(&#placed);)
        });
        quote! {
            #krate::__private::RunContext::steps(#cx).step_with_retry(#name, &#policy, || {
                let #input = #clone(#placed);
                #given
                async move { #invoke }
            }).await?
        }
    } else {
        quote!(#krate::__private::RunContext::steps(#cx).step(#name, &#policy, async { #invoke }).await?)
    }
}

fn policy(krate: &syn::Path, options: &StepOptions) -> TokenStream {
    let mut policy = quote!(#krate::__private::StepPolicy::new());
    let duration = |d: std::time::Duration| {
        let millis = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        quote!(::core::time::Duration::from_millis(#millis))
    };
    if let Some(retry) = options.retry {
        policy.extend(quote!(.retry(#retry)));
    }
    if let Some(backoff) = options.backoff {
        let backoff = duration(backoff);
        policy.extend(quote!(.backoff(#backoff)));
    }
    if let Some(max) = options.max_backoff {
        let max = duration(max);
        policy.extend(quote!(.max_backoff(#max)));
    }
    if let Some(timeout) = options.timeout {
        let timeout = duration(timeout);
        policy.extend(quote!(.timeout(#timeout)));
    }
    quote!({ const POLICY: #krate::__private::StepPolicy = #policy; POLICY })
}

/// Where a value that goes along an edge comes from.
#[derive(Clone, Copy)]
pub(super) enum From {
    Step(usize),
    /// The join of fork `index`: the value is the tuple (or `Vec`) of its branches' outputs.
    Join(usize),
}

impl From {
    fn label(self, model: &Model) -> String {
        match self {
            From::Step(index) => model.step_name(index),
            From::Join(index) => model.fork_label(index),
        }
    }
}

/// Goes along `edge` from `from` with `value`, counting its bound if it has one.
pub(super) fn route(
    model: &Model,
    from: From,
    edge: &Edge,
    value: TokenStream,
    first: Span,
    casts: &mut Casts,
) -> TokenStream {
    let go = goto(model, from, edge, value.clone(), first, casts);
    let Some(bound) = &edge.bound else {
        return go;
    };
    let loops = local("__loops");
    let index = bound.index;
    let max = bound.max;
    let otherwise = match &bound.fallback {
        Some(fallback) => goto(model, from, fallback, value, fallback.name.span(), casts),
        None => {
            let cx = local("__cx");
            let from_name = from.label(model);
            let to_name = edge.name.to_string();
            quote!(return ::core::result::Result::Err(#cx.loop_limit(#from_name, #to_name, #max)))
        }
    };
    quote! {
        if #loops.take(#index, #max) { #go } else { #otherwise }
    }
}

/// The value edge `edge` from `from` to a step gives it: `bare` (or the edge's argument),
/// cast to what the step takes. [`goto`] without the state around it.
fn step_value(
    model: &Model,
    from: From,
    edge: &Edge,
    bare: TokenStream,
    first: Span,
    casts: &mut Casts,
) -> TokenStream {
    let Node::Step(to) = edge.to else {
        return goto(model, from, edge, bare, first, casts);
    };
    let value = edge.arg.as_ref().map_or(bare, |arg| quote!(#arg));
    let message = step_message(model, &from.label(model), edge, to);
    let ty = model.steps[to].sig.input.clone();
    cross(model, from, edge, &value, message, &ty, first, casts)
}

/// The message of a type mismatch on `edge` from `from_name` to step `to`.
fn step_message(model: &Model, from_name: &str, edge: &Edge, to: usize) -> String {
    let to_name = model.step_name(to);
    if edge.arg.is_none() {
        diag::edge_mismatch(from_name, &to_name)
    } else {
        diag::route_mismatch(&to_name)
    }
}

/// Casts `value` across `edge` from `from` to a value of type `ty`.
#[allow(clippy::too_many_arguments)]
fn cross(
    model: &Model,
    from: From,
    edge: &Edge,
    value: &TokenStream,
    message: String,
    ty: &syn::Type,
    first: Span,
    casts: &mut Casts,
) -> TokenStream {
    let to_end = !matches!(edge.to, Node::Step(_));
    let to = if to_end {
        "end".to_owned()
    } else {
        edge.name.to_string()
    };
    let crossing = Crossing {
        name: format!("{}_to_{to}", from.label(model)),
        message,
        to_end,
        target: ty,
        first,
        last: edge.last,
    };
    casts.cast(crossing, value)
}

/// The next state: `State::Next(value)`, with the value (the edge's argument, or else
/// `bare`) cast to what the target takes.
fn goto(
    model: &Model,
    from: From,
    edge: &Edge,
    bare: TokenStream,
    first: Span,
    casts: &mut Casts,
) -> TokenStream {
    let state = &model.state;
    let value = edge.arg.as_ref().map_or(bare, |arg| quote!(#arg));
    let from_name = from.label(model);
    let sequence = edge.arg.is_none();
    if let Node::Fork(fork) = edge.to {
        return super::fork::enter(model, &from_name, fork, &value, first, edge.last, casts);
    }
    if let From::Join(fork) = from {
        if let Some(joined) = super::fork::join(model, fork, edge, &value, first, casts) {
            return joined;
        }
    }
    let (target, ty, message) = match edge.to {
        Node::Step(to) => (
            variant(model, Some(to)),
            model.steps[to].sig.input.clone(),
            step_message(model, &from_name, edge, to),
        ),
        Node::End | Node::Unknown | Node::Fork(_) => {
            let message = if matches!(from, From::Join(_)) {
                diag::join_end_mismatch(&from_name)
            } else if sequence {
                diag::end_mismatch(&from_name)
            } else {
                diag::END_ROUTE_MISMATCH.to_owned()
            };
            let output = model
                .output
                .clone()
                .unwrap_or_else(|| syn::parse_quote!(()));
            (variant(model, None), output, message)
        }
    };
    let cast = cross(model, from, edge, &value, message, &ty, first, casts);
    match edge.to {
        Node::Step(to) if model.is_pause(to) => {
            let krate = &model.krate;
            quote!(#state::#target(#krate::__private::PauseState::waiting(#cast)))
        }
        _ => quote!(#state::#target(#cast)),
    }
}

#[cfg(test)]
mod tests {
    use super::layout;

    #[test]
    fn a_chain_is_laid_out_in_its_order_whatever_the_order_of_its_steps() {
        // 0 -> 2 -> 1, and 3 alone.
        assert_eq!(layout(&[Some(2), None, Some(1), None]), [0, 2, 1, 3]);
    }

    #[test]
    fn a_step_two_others_go_to_follows_only_the_first() {
        // 0 -> 2 and 1 -> 2: 1 jumps to 2 through the state.
        assert_eq!(layout(&[Some(2), Some(2), None]), [0, 2, 1]);
    }

    #[test]
    fn every_entry_is_placed_once_even_in_a_cycle_of_sequences() {
        assert_eq!(layout(&[Some(1), Some(0)]), [0, 1]);
        assert_eq!(layout(&[Some(0)]), [0]);
        assert_eq!(layout(&[]), [0_usize; 0]);
    }
}
