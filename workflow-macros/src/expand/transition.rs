//! The body of `Workflow::transition`: run the step the state names, then route its output.

use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use super::{camel, local, private, variant};
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

    /// `receiver.into()`, converting into `target`: `RouteInto::<target>::route_into(receiver)`
    /// placed at `into`, with a message that says what does not convert into what.
    pub(super) fn route_into(
        &mut self,
        receiver: &syn::Expr,
        target: &syn::Type,
        into: Span,
    ) -> TokenStream {
        let name = Ident::new("RouteInto", Span::mixed_site().located_at(into));
        if !self.names.iter().any(|taken| taken == "RouteInto") {
            self.names.push("RouteInto".to_owned());
            let message = diag::ROUTE_INTO;
            self.items.push(quote! {
                #[diagnostic::on_unimplemented(
                    message = #message,
                    label = "`{T}` does not implement `From<{Self}>`",
                    note = "pass a `{T}`, or implement `From<{Self}>` for `{T}`"
                )]
                trait #name<T> {
                    fn __route_into(self) -> T;
                }
                #[diagnostic::do_not_recommend]
                impl<T, V: ::core::convert::Into<T>> #name<T> for V {
                    fn __route_into(self) -> T {
                        ::core::convert::Into::into(self)
                    }
                }
            });
        }
        let mut tuple = Group::new(Delimiter::Parenthesis, quote!(#receiver,));
        tuple.set_span(into);
        let dot = quote_spanned!(into=> .0);
        quote_spanned!(into=> #name::<#target>::__route_into(#tuple #dot))
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

/// Whether `#[workflow]` generates `__steps` as a loop over the steps ([`transition_body`] its
/// body): for a workflow without fan-outs or maps, whose arms neither borrow the state nor
/// keep parts of it across their awaits. The others take one step per call.
pub(super) fn steps_in_a_loop(model: &Model) -> bool {
    model.forks.is_empty()
}

/// The body of `Workflow::transition` (of `__steps`' loop, [`steps_in_a_loop`]): a `match`
/// on the state, with one arm per step and per fan-out or map, each running its step and
/// routing its output to the next state.
pub(super) fn transition_body(model: &Model, casts: &mut Casts) -> TokenStream {
    let state = &model.state;
    let steps = (0..model.steps.len()).filter_map(|index| step_arm(model, index, casts));
    let steps: Vec<TokenStream> = steps.collect();
    let forks =
        (0..model.forks.len()).filter_map(|index| super::fork::fork_arm(model, index, casts));
    let forks: Vec<TokenStream> = forks.collect();
    let end = variant(model, None);
    let done = local("done");
    let phantom = super::state::phantom_arm(model, false);
    let state_var = local("state");
    // In `__steps`' loop the state is moved whole into the `match`. Matched where it is, the
    // arms' moves out of it made rustc keep a drop flag per variant in the loop's future and
    // store them all again on every turn (twelve for a chain of ten). A fan-out's arm fills
    // its slots where they are.
    let scrutinee = match steps_in_a_loop(model) {
        true => quote!(::core::convert::identity(#state_var)),
        false => quote!(#state_var),
    };
    quote! {
        match #scrutinee {
            #(#steps)*
            #(#forks)*
            // The driver never runs a terminal state: it is its own next state.
            #state::#end(#done) => #state::#end(#done),
            #phantom
        }
    }
}

/// The arm of step `index`: bind its input (and, at a pause, the value given), run it, route
/// its output. `None` for a branch of a fan-out or a map, which runs in its fork's arm.
fn step_arm(model: &Model, index: usize, casts: &mut Casts) -> Option<TokenStream> {
    if !model.steps[index].branch_of.is_empty() {
        return None;
    }
    let [input, output, paused, given] = ["input", "output", "paused", "given"].map(local);
    let krate = &model.krate;
    let state = &model.state;
    let call = run_step(model, index);
    let next = match model.steps[index].outgoing.first()? {
        Outgoing::Sequence { source, edge } => route(
            model,
            From::Step(index),
            edge,
            quote!(#output),
            *source,
            casts,
        ),
        Outgoing::Match { token, arms } => {
            let arms = arms.iter().map(|arm| {
                let pat = &arm.pat;
                let guard = arm.guard.as_ref().map(|guard| quote!(if #guard));
                let matched = local("matched");
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
                // The arm spans the user's, from its pattern to its route, so that rustc's
                // suggestion for a missing pattern lands after it.
                let pat = group(Delimiter::Parenthesis, pat, arm.pat.span());
                let body = group(Delimiter::Brace, route, arm.end);
                quote!(#pat #guard => #body)
            });
            // rustc reports a non-exhaustive match at its scrutinee: place it on `match`.
            let keyword = quote_spanned!(token.span=> match);
            let scrutinee = Ident::new("output", Span::mixed_site().located_at(token.span));
            quote!(#keyword #scrutinee { #(#arms)* })
        }
    };
    let next = match routed_error(model, index, casts) {
        Some((result, handle)) => {
            let error = local("error");
            quote! {
                match #result {
                    ::core::result::Result::Ok(#output) => { #next }
                    ::core::result::Result::Err(#error) => { #handle }
                }
            }
        }
        None => quote! {
            let #output = #call;
            #next
        },
    };
    let variant = variant(model, Some(index));
    let (binding, unpause) = if model.waits(index) {
        let name = model.step_name(index);
        let workflow = model.name.to_string();
        let unpause = quote! {
            let (#input, #given) = match #paused {
                #krate::__private::PauseState {
                    input: #input,
                    value: #krate::__private::PauseValue::Given(#given),
                } => (#input, #given),
                // The driver never runs a state that waits (`Workflow::pause` says so).
                _ => {
                    return ::core::result::Result::Err(#krate::__private::Error::Suspended {
                        workflow: #workflow,
                        step: #name,
                    });
                }
            };
        };
        (quote!(#paused), unpause)
    } else if model.sleep_millis(index).is_some() && model.steps[index].sig.has_input {
        // The driver runs it once its time has come (`Workflow::wakes_at` says when).
        let woken = local("woken");
        (quote!(#woken), quote!(let #input = #woken.input;))
    } else if model.steps[index].sig.has_input {
        (quote!(#input), TokenStream::new())
    } else {
        (quote!(_), TokenStream::new())
    };
    Some(quote! {
        #state::#variant(#binding) => {
            #unpause
            #next
        }
    })
}

/// Runs step `index` under its policy: `let output = …`. A step with no policy is awaited
/// right here; one with a timeout or retries goes through `Context::step…`.
pub(super) fn run_step(model: &Model, index: usize) -> TokenStream {
    call_step(model, index, false)
}

/// The error route of step `index`, if it has one: the step run as a `Result` (its failure
/// after its retries), and what the transition does with its error, `error`: takes the step's
/// own error out of it, or stops the run with it, and goes to the handler with it.
fn routed_error(
    model: &Model,
    index: usize,
    casts: &mut Casts,
) -> Option<(TokenStream, TokenStream)> {
    let error_route = model.error_route(index)?;
    let step = &model.steps[index];
    let fallible = step.sig.fallible.as_ref()?;
    let Node::Step(handler) = error_route.edge.to else {
        return None;
    };
    if step.sig.child.is_some() || !step.branch_of.is_empty() {
        return None;
    }
    let krate = &model.krate;
    let span = fallible.span();
    let error_ty = if step.sig.error_written {
        quote!(#fallible)
    } else {
        let of = quote_spanned!(span=> #krate::__private::ErrorOf);
        quote_spanned!(span=> <#fallible as #of>::Error)
    };
    let [cx, error] = ["cx", "error"].map(local);
    let (name, handler) = (model.step_name(index), model.step_name(handler));
    let go = route(
        model,
        From::Failed(index),
        &error_route.edge,
        quote!(#error),
        error_route.source,
        casts,
    );
    let take = private(model, "RouteError", span);
    let take = quote_spanned!(span=> <#error_ty as #take>::route_error);
    let handle = quote! {
        let #error = #take(#cx, #name, #handler, #error)?;
        #go
    };
    Some((call_step(model, index, true), handle))
}

/// Whether a step with options `policy` runs without a guard: no retry, no timeout.
fn unguarded(policy: &StepOptions) -> bool {
    policy.retry.is_none_or(|retry| retry == 0) && policy.timeout.is_none()
}

/// The future of step `index` on `input`, `self.step(input)`, if running the step is only
/// awaiting it: it takes an input and cannot fail, has no retry or timeout, and is neither a
/// child run nor a step that waits for a value.
pub(super) fn bare_call(model: &Model, index: usize, input: &TokenStream) -> Option<TokenStream> {
    let sig = &model.steps[index].sig;
    let bare = sig.has_input
        && sig.fallible.is_none()
        && sig.child.is_none()
        && sig.resume.is_none()
        && unguarded(&sig.options);
    let method = &sig.ident;
    bare.then(|| quote!(self.#method(#input)))
}

/// Runs step `index` under its policy: its output, or with `routed`, its `Result` (the error
/// left for its error route).
fn call_step(model: &Model, index: usize, routed: bool) -> TokenStream {
    let krate = &model.krate;
    let sig = &model.steps[index].sig;
    if sig.child.is_some() {
        return match model.steps[index].branch_of.is_empty() {
            true => run_child(model, index),
            false => run_child_branch(model, index),
        };
    }
    let method = &sig.ident;
    let name = method.to_string();
    let [input, cx, value, error] = ["input", "cx", "value", "error"].map(local);
    let arg = sig.has_input.then(|| quote!(#input));
    let value_local = local("given");
    let given = sig.resume.as_ref().map(|_| quote!(, #value_local));
    let call = quote!(self.#method(#arg #given).await);
    // The step's error as a `BoxError`; the conversion is placed at the error type, where
    // rustc reports an error type that does not convert.
    let boxed = sig.fallible.as_ref().map(|error_ty| {
        let span = error_ty.span();
        let convert = private(model, "StepError", span);
        let placed = Ident::new("error", Span::mixed_site().located_at(span));
        quote_spanned!(span=> #convert::into_box(#placed))
    });
    let policy = &sig.options;
    if unguarded(policy) {
        return match boxed {
            Some(boxed) if routed => quote! {
                match #call {
                    ::core::result::Result::Ok(#value) => ::core::result::Result::Ok(#value),
                    ::core::result::Result::Err(#error) => {
                        ::core::result::Result::Err(#cx.step_error(#name, #boxed))
                    }
                }
            },
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
        let clone = private(model, "RetryInput", span);
        let placed = Ident::new("input", Span::mixed_site().located_at(span));
        let placed = quote_spanned!(span=> &#placed);
        let given = sig.resume.as_ref().map(|ty| {
            let span = ty.span();
            let clone = private(model, "RetryInput", span);
            let placed = Ident::new("given", Span::mixed_site().located_at(span));
            quote_spanned!(span=> let #value_local = #clone::retry_clone(&#placed);)
        });
        let propagate = (!routed).then(|| quote!(?));
        quote! {
            #cx.step_with_retry(#name, &#policy, || {
                let #input = #clone::retry_clone(#placed);
                #given
                async move { #invoke }
            }).await #propagate
        }
    } else if routed {
        quote!(#cx.step(#name, &#policy, async { #invoke }).await)
    } else {
        quote!(#cx.step(#name, &#policy, async { #invoke }).await?)
    }
}

/// Runs step `index`, which runs another workflow, inline from its state in the parent's:
/// `let output = …` once the child finishes; the parent's next state holds the child's if the
/// child stops at a pause.
fn run_child(model: &Model, index: usize) -> TokenStream {
    let (krate, state) = (&model.krate, &model.state);
    let sig = &model.steps[index].sig;
    let method = &sig.ident;
    let name = method.to_string();
    let [input, cx, value, waiting] = ["input", "cx", "value", "waiting"].map(local);
    let policy = self::policy(krate, &sig.options);
    let target = variant(model, Some(index));
    quote! {
        match #cx.child(#name, &#policy, self.#method(), #input).await? {
            #krate::__private::ChildStop::Finished(#value) => #value,
            #krate::__private::ChildStop::Waiting(#waiting) => {
                return ::core::result::Result::Ok(#state::#target(#waiting));
            }
        }
    }
}

/// Runs step `index`, a branch of a fork that runs another workflow, inline to its end: its
/// output.
fn run_child_branch(model: &Model, index: usize) -> TokenStream {
    let sig = &model.steps[index].sig;
    let method = &sig.ident;
    let name = method.to_string();
    let [input, cx] = ["input", "cx"].map(local);
    let policy = self::policy(&model.krate, &sig.options);
    quote!(#cx.child_branch(#name, &#policy, self.#method(), #input).await?)
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
    let constant = Ident::new("POLICY", Span::mixed_site());
    quote!({ const #constant: #krate::__private::StepPolicy = #policy; #constant })
}

/// Where a value that goes along an edge comes from.
#[derive(Clone, Copy)]
pub(super) enum From {
    Step(usize),
    /// The join of fork `index`: the value is the tuple (or `Vec`) of its branches' outputs.
    Join(usize),
    /// The error route of step `index`: the value is the step's error.
    Failed(usize),
}

impl From {
    fn label(self, model: &Model) -> String {
        match self {
            From::Step(index) | From::Failed(index) => model.step_name(index),
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
    let cx = local("cx");
    let index = bound.index;
    let max = bound.max;
    let otherwise = match &bound.fallback {
        Some(fallback) => goto(model, from, fallback, value, fallback.name.span(), casts),
        None => {
            let krate = &model.krate;
            let workflow = model.name.to_string();
            let from_name = from.label(model);
            let to_name = edge.name.to_string();
            quote! {
                return ::core::result::Result::Err(#krate::__private::Error::LoopLimit {
                    workflow: #workflow,
                    from: #from_name,
                    to: #to_name,
                    max: #max,
                })
            }
        }
    };
    quote! {
        if #cx.take_edge(#index, #max) { #go } else { #otherwise }
    }
}

/// The message of a type mismatch on `edge` from `from` to step `to`.
fn step_message(model: &Model, from: From, edge: &Edge, to: usize) -> String {
    let to_name = model.step_name(to);
    let from_name = from.label(model);
    if let From::Failed(_) = from {
        diag::error_mismatch(&from_name, &to_name)
    } else if edge.arg.is_none() {
        diag::edge_mismatch(&from_name, &to_name)
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
    let via = if let From::Failed(_) = from {
        "_error"
    } else {
        ""
    };
    let crossing = Crossing {
        name: format!("{}{via}_to_{to}", from.label(model)),
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
    let value = edge
        .arg
        .as_ref()
        .map_or(bare, |arg| into_target(model, edge, arg, casts));
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
            step_message(model, from, edge, to),
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
        Node::Step(to) => super::enter_step(model, to, &cast),
        _ => quote!(#state::#target(#cast)),
    }
}

/// A route's argument, with `x.into()` written `RouteInto::<Target>::route_into(x)`: the cast
/// that follows cannot pass the target type back to `into`, whose type would stay unknown.
fn into_target(model: &Model, edge: &Edge, arg: &syn::Expr, casts: &mut Casts) -> TokenStream {
    let syn::Expr::MethodCall(call) = arg else {
        return quote!(#arg);
    };
    if call.method != "into" || !call.args.is_empty() || call.turbofish.is_some() {
        return quote!(#arg);
    }
    let target = match edge.to {
        Node::Step(to) => model.steps[to].sig.input.clone(),
        Node::End => match &model.output {
            Some(output) => output.clone(),
            None => return quote!(#arg),
        },
        Node::Fork(_) | Node::Unknown => return quote!(#arg),
    };
    casts.route_into(&call.receiver, &target, call.method.span())
}

/// `tokens` in a group, placed at `at` but in the macro's own context (like every token the
/// macro adds: lints on generated code stay quiet).
fn group(delimiter: Delimiter, tokens: TokenStream, at: Span) -> Group {
    let mut group = Group::new(delimiter, tokens);
    group.set_span(Span::mixed_site().located_at(at));
    group
}
