//! `impl Workflow for T`: the states, the pauses, and the transition; and `impl Answer<V>` for
//! each type of value a pause waits for.

use proc_macro2::TokenStream;
use quote::quote;

use super::serde::workflow_bounds;
use super::state::{phantom_arm, state_generics};
use super::transition::{steps_in_a_loop, transition_body, Casts};
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
    let input_var = local("input");
    let output = &model.output;
    let name = model.name.to_string();
    let fingerprint = fingerprint::fingerprint(model);
    let max_steps = super::inherent::max_steps(model);
    let steps = model.steps.iter().map(|step| step.sig.ident.to_string());
    let start_state = model.start.first().map(|start| match start.edge.to {
        crate::model::Node::Fork(index) => {
            super::fork::initial_state(model, index, &quote!(#input_var))
        }
        crate::model::Node::Step(index) => super::enter_step(model, index, &quote!(#input_var)),
        crate::model::Node::End | crate::model::Node::Unknown => quote!(::core::unreachable!()),
    });
    let end = variant(model, None);
    let names = step_names(model);
    let indexes = step_indexes(model);
    let phantom = phantom_arm(model, true);
    let pauses = pause_methods(model);
    let sleeps = sleep_method(model);
    let waiting_child = waiting_child_method(model);
    let signals = super::signals::signal_methods(model);
    let mermaid = super::mermaid::mermaid(model);
    let pause_definitions = pause_definitions(model);
    let [state_var, out] = ["state", "out"].map(local);
    let mut casts = Casts::default();
    let body = transition_body(model, &mut casts);
    let casts = casts.items();
    let transition = transition_methods(model, &body, casts);
    quote! {
        #[automatically_derived]
        impl #impl_generics #krate::__private::Workflow for #self_ty #where_clause {
            type Input = #input;
            type Output = #output;
            type State = #state_ty;

            const NAME: &'static str = #name;
            const FINGERPRINT: u64 = #fingerprint;
            const STEPS: &'static [&'static str] = &[#(#steps),*];
            const MAX_STEPS: ::core::option::Option<u64> = #max_steps;
            const MERMAID: &'static str = #mermaid;

            #pause_definitions

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

            fn __step_index(#state_var: &Self::State) -> ::core::option::Option<usize> {
                match #state_var {
                    #(#indexes)*
                    _ => ::core::option::Option::None,
                }
            }

            #pauses

            #sleeps
            #waiting_child

            #signals

            #transition
        }
    }
}

/// `Workflow::transition`, the step `state` is about to run: `body`, after the `casts` its
/// edges use. In a workflow without fan-outs or maps, the same code also takes a plain run's
/// steps one after another (`Workflow::__steps`): the state then stays in a local, in
/// registers from step to step. A fan-out's or a map's arm borrows the state or keeps parts
/// of it across its awaits, so that the local would be a second copy of the state in the
/// future and each turn would copy the state, large there, once more: such a workflow keeps
/// the default `__steps`, one step per call.
fn transition_methods(model: &Model, body: &TokenStream, casts: &[TokenStream]) -> TokenStream {
    let krate = &model.krate;
    let [state_var, cx, once] = ["state", "cx", "once"].map(local);
    let lifetime = syn::Lifetime::new("'__transition", proc_macro2::Span::mixed_site());
    let output = quote! {
        impl ::core::future::Future<
            Output = ::core::result::Result<Self::State, #krate::__private::Error>,
        > + ::core::marker::Send + #lifetime
    };
    let signature = |name: &str, state_mut: Option<TokenStream>, once: Option<&syn::Ident>| {
        let name = syn::Ident::new(name, proc_macro2::Span::call_site());
        let once = once.map(|once| quote!(#once: bool,));
        quote! {
            fn #name<#lifetime>(
                &#lifetime self,
                #state_mut #state_var: Self::State,
                #cx: &#lifetime mut #krate::__private::Context,
                #once
            ) -> #output
        }
    };
    if !steps_in_a_loop(model) {
        // A fan-out's arm fills its branches' slots where they are, in the state (`ref mut`).
        let state_mut = (model.forks.iter())
            .any(|fork| !fork.map && fork.join.is_some())
            .then(|| quote!(mut));
        let transition = signature("transition", state_mut, None);
        return quote! {
            #transition {
                async move {
                    #(#casts)*
                    ::core::result::Result::Ok(#body)
                }
            }
        };
    }
    let transition = signature("transition", None, None);
    let steps = signature("__steps", None, Some(&once));
    let stops = stops(model, &state_var);
    quote! {
        #transition {
            <Self as #krate::__private::Workflow>::__steps(self, #state_var, #cx, true)
        }

        #steps {
            async move {
                #(#casts)*
                let mut #state_var = #state_var;
                loop {
                    #state_var = #body;
                    if #once || #stops {
                        return ::core::result::Result::Ok(#state_var);
                    }
                }
            }
        }
    }
}

/// Whether `state` (the name given) is one at which `__steps` stops taking steps, for the
/// driver to look at: the end, and every state that [`pause_methods`], [`sleep_method`] or the
/// signals' `receives` may say waits. (A step that runs another workflow hands the run back
/// itself when the child waits.)
fn stops(model: &Model, state_var: &syn::Ident) -> TokenStream {
    let state = &model.state;
    let end = variant(model, None);
    let waits = (0..model.steps.len())
        .filter(|&index| model.waits(index) || model.sleep_millis(index).is_some());
    let waits = waits.map(|index| variant(model, Some(index)));
    quote!(::core::matches!(#state_var, #state::#end(_) #(| #state::#waits(_))*))
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

/// The arms of `Workflow::__step_index`: each step's variant, to its index in `STEPS` (the
/// steps in declaration order, branches of forks included, which have no variant).
fn step_indexes(model: &Model) -> Vec<TokenStream> {
    let state = &model.state;
    (model.steps.iter().enumerate())
        .filter(|(_, step)| step.branch_of.is_empty())
        .map(|(index, _)| {
            let ident = variant(model, Some(index));
            quote!(#state::#ident(_) => ::core::option::Option::Some(#index),)
        })
        .collect()
}

/// The pause steps: their index and the type of the value each waits for.
fn pause_steps(model: &Model) -> Vec<(usize, &syn::Type)> {
    (0..model.steps.len())
        .filter(|index| model.is_pause(*index))
        .filter_map(|index| Some((index, model.steps[index].sig.resume.as_ref()?)))
        .collect()
}

/// The JSON Schema of `ty`, a value from outside (a pause's answer, a signal's message), as
/// an expression: `Some` if its type has one, never looked for in a generic workflow, whose
/// types may name its parameters.
pub(super) fn value_schema(model: &Model, ty: &syn::Type) -> TokenStream {
    let krate = &model.krate;
    if model.generics.type_params().next().is_some() {
        return quote!(::core::option::Option::None);
    }
    quote! {{
        use #krate::__private::{WithSchema as _, WithoutSchema as _};
        (&&#krate::__private::SchemaOf::<#ty>::new()).schema()
    }}
}

/// `Workflow::pauses`: the step and value type of each pause step, with the value's JSON
/// Schema if its type has one (never looked for in a generic workflow, whose pause types may
/// name its parameters); then the pauses of the workflows it runs as steps.
fn pause_definitions(model: &Model) -> TokenStream {
    let pauses = pause_steps(model);
    let children = model.inline_children();
    if pauses.is_empty() && children.is_empty() {
        return TokenStream::new();
    }
    let krate = &model.krate;
    let own = pauses.iter().map(|(index, ty)| {
        let step = model.step_name(*index);
        let schema = value_schema(model, ty);
        quote! {
            #krate::__private::PauseDefinition::new(
                #step, ::core::any::type_name::<#ty>(), #schema,
            )
        }
    });
    let all = children.iter().fold(
        quote!(::core::iter::IntoIterator::into_iter([#(#own),*])),
        |all, (_, ty)| {
            let inner = quote!(<#ty as #krate::__private::Workflow>::pauses());
            quote!(::core::iter::Iterator::chain(#all, #inner))
        },
    );
    quote! {
        fn pauses() -> ::std::vec::Vec<#krate::__private::PauseDefinition> {
            ::core::iter::Iterator::collect(#all)
        }
    }
}

/// `Workflow::pause` and `Workflow::answer_json`, for a workflow with pause steps or steps
/// that run another workflow (whose pauses are this one's).
fn pause_methods(model: &Model) -> TokenStream {
    let pauses = pause_steps(model);
    let children = model.inline_children();
    if pauses.is_empty() && children.is_empty() {
        return TokenStream::new();
    }
    let krate = &model.krate;
    let state = &model.state;
    let name = model.name.to_string();
    let [state_var, paused, value, child] = ["state", "paused", "value", "child"].map(local);
    let workflow = quote!(#krate::__private::Workflow);
    let shows = pauses.iter().map(|(index, _)| {
        let ident = variant(model, Some(*index));
        let step = model.step_name(*index);
        quote! {
            #state::#ident(#paused) if #paused.is_waiting() => ::core::option::Option::Some(
                #krate::__private::Pause::new(#step, #krate::__private::pause_payload(&#paused.input)),
            ),
        }
    });
    let child_shows = children.iter().map(|(index, ty)| {
        let ident = variant(model, Some(*index));
        let step = model.step_name(*index);
        quote! {
            #state::#ident(#child) => ::core::option::Option::map(
                <#ty as #workflow>::pause(&#child.state),
                |#paused| #paused.within(#step),
            ),
        }
    });
    let gives = pauses.iter().map(|(index, ty)| {
        let ident = variant(model, Some(*index));
        let step = model.step_name(*index);
        quote! {
            #state::#ident(#paused) if #paused.is_waiting() => {
                let #value = #krate::__private::pause_answer::<#ty>(#name, #step, #value)?;
                ::core::result::Result::Ok(#state::#ident(#paused.give(#value)))
            }
        }
    });
    let child_gives = children.iter().map(|(index, ty)| {
        let given = quote!(<#ty as #workflow>::answer_json(#child.state, #value)?);
        child_answered(model, *index, &child, &given)
    });
    quote! {
        fn pause(#state_var: &Self::State) -> ::core::option::Option<#krate::__private::Pause> {
            match #state_var {
                #(#shows)*
                #(#child_shows)*
                _ => ::core::option::Option::None,
            }
        }

        fn answer_json(
            #state_var: Self::State,
            #value: #krate::__private::serde_json::Value,
        ) -> ::core::result::Result<Self::State, #krate::__private::Error> {
            match #state_var {
                #(#gives)*
                #(#child_gives)*
                #state_var => ::core::result::Result::Err(#krate::__private::Error::NotPaused {
                    workflow: #name,
                    step: <Self as #krate::__private::Workflow>::step_name(&#state_var),
                }),
            }
        }
    }
}

/// `Workflow::waiting_child`, for a workflow with steps that run another workflow: the child
/// such a step holds, if it waits before its first step finished.
fn waiting_child_method(model: &Model) -> TokenStream {
    let children = model.inline_children();
    if children.is_empty() {
        return TokenStream::new();
    }
    let (krate, state) = (&model.krate, &model.state);
    let [state_var, child, at] = ["state", "child", "at"].map(local);
    let arms = children.iter().map(|(index, ty)| {
        let ident = variant(model, Some(*index));
        let step = model.step_name(*index);
        quote! {
            #state::#ident(#child) => #krate::__private::waiting_child::<#ty>(#step, #child, #at),
        }
    });
    quote! {
        fn waiting_child(
            #state_var: &mut Self::State,
            #at: #krate::__private::WaitingAt,
        ) -> ::core::option::Option<#krate::__private::WaitingChild> {
            match #state_var {
                #(#arms)*
                _ => ::core::option::Option::None,
            }
        }
    }
}

/// `Workflow::wakes_at`, for a workflow with steps the run sleeps before, or steps that run
/// another workflow (whose sleeps are this one's).
fn sleep_method(model: &Model) -> TokenStream {
    let sleeps: Vec<usize> = (0..model.steps.len())
        .filter(|index| model.sleep_millis(*index).is_some())
        .collect();
    let children = model.inline_children();
    if sleeps.is_empty() && children.is_empty() {
        return TokenStream::new();
    }
    let (krate, state) = (&model.krate, &model.state);
    let [state_var, sleeping, child] = ["state", "sleeping", "child"].map(local);
    let workflow = quote!(#krate::__private::Workflow);
    let time = quote!(#krate::__private::SystemTime);
    let arms = sleeps.iter().map(|index| {
        let ident = variant(model, Some(*index));
        quote!(#state::#ident(#sleeping) => ::core::option::Option::Some(#sleeping.wakes_at()),)
    });
    let child_arms = children.iter().map(|(index, ty)| {
        let ident = variant(model, Some(*index));
        quote!(#state::#ident(#child) => <#ty as #workflow>::wakes_at(&#child.state),)
    });
    quote! {
        fn wakes_at(#state_var: &Self::State) -> ::core::option::Option<#time> {
            match #state_var {
                #(#arms)*
                #(#child_arms)*
                _ => ::core::option::Option::None,
            }
        }
    }
}

/// The arm that gives a value to the child run of step `index`, bound to `child`: the
/// parent's state, holding the child's state `given`.
fn child_answered(
    model: &Model,
    index: usize,
    child: &syn::Ident,
    given: &TokenStream,
) -> TokenStream {
    let (krate, state) = (&model.krate, &model.state);
    let ident = variant(model, Some(index));
    quote! {
        #state::#ident(#child) => ::core::result::Result::Ok(#state::#ident(
            #krate::__private::ChildState { state: #given, ..#child },
        )),
    }
}

/// `impl<V> Answer<V> for Parent where Child: Answer<V>`, for a workflow whose only pauses are
/// those of the one workflow one of its steps runs: a value the child's pauses do not take
/// does not compile. (With pauses of its own or several children, such impls would overlap:
/// `answer_json` gives those values.)
fn child_answer_impl(model: &Model) -> TokenStream {
    let children = model.inline_children();
    let [(index, ty)] = children.as_slice() else {
        return TokenStream::new();
    };
    if !pause_steps(model).is_empty() {
        return TokenStream::new();
    }
    let krate = &model.krate;
    let self_ty = &model.self_ty;
    let mut generics = model.generics.clone();
    generics.params.push(syn::parse_quote!(__V));
    let (impl_generics, _, _) = generics.split_for_impl();
    let where_clause = workflow_bounds(model);
    let name = model.name.to_string();
    let [state_var, value, child] = ["state", "value", "child"].map(local);
    let answer = quote!(#krate::__private::Answer<__V>);
    let given = quote!(<#ty as #answer>::answer(#child.state, #value)?);
    let arm = child_answered(model, *index, &child, &given);
    quote! {
        #[automatically_derived]
        impl #impl_generics #answer for #self_ty #where_clause, #ty: #answer {
            fn answer(
                #state_var: Self::State,
                #value: __V,
            ) -> ::core::result::Result<Self::State, #krate::__private::Error> {
                match #state_var {
                    #arm
                    #state_var => ::core::result::Result::Err(#krate::__private::Error::NotPaused {
                        workflow: #name,
                        step: <Self as #krate::__private::Workflow>::step_name(&#state_var),
                    }),
                }
            }
        }
    }
}

/// `impl Answer<V>` for each type of value a pause step waits for.
pub(super) fn answer_impls(model: &Model) -> TokenStream {
    let krate = &model.krate;
    let self_ty = &model.self_ty;
    let (impl_generics, _, _) = model.generics.split_for_impl();
    let where_clause = workflow_bounds(model);
    let state = &model.state;
    let name = model.name.to_string();
    let [state_var, paused, value] = ["state", "paused", "value"].map(local);
    let mut types: Vec<(String, &syn::Type, Vec<usize>)> = Vec::new();
    for (index, ty) in pause_steps(model) {
        let key = quote!(#ty).to_string();
        match types.iter_mut().find(|(seen, _, _)| *seen == key) {
            Some((_, _, steps)) => steps.push(index),
            None => types.push((key, ty, vec![index])),
        }
    }
    let impls = types.iter().map(|(_, ty, steps)| {
        let arms = steps.iter().map(|index| {
            let ident = variant(model, Some(*index));
            quote! {
                #state::#ident(#paused) if #paused.is_waiting() => {
                    ::core::result::Result::Ok(#state::#ident(#paused.give(#value)))
                }
            }
        });
        quote! {
            #[automatically_derived]
            impl #impl_generics #krate::__private::Answer<#ty> for #self_ty #where_clause {
                fn answer(
                    #state_var: Self::State,
                    #value: #ty,
                ) -> ::core::result::Result<Self::State, #krate::__private::Error> {
                    match #state_var {
                        #(#arms)*
                        #state_var => ::core::result::Result::Err(#krate::__private::Error::NotPaused {
                            workflow: #name,
                            step: <Self as #krate::__private::Workflow>::step_name(&#state_var),
                        }),
                    }
                }
            }
        }
    });
    let child = child_answer_impl(model);
    let single = (types.len() == 1).then(|| no_other_answer(model));
    quote!(#(#impls)* #child #single)
}

/// For a workflow whose pauses all wait for one type: an impl of `Answer<V>` for the values
/// of a local trait that has none, so that rustc, which would otherwise take the one impl's
/// type for `V` and say only "mismatched types", reports a value of another type with the
/// message of `Answer`.
fn no_other_answer(model: &Model) -> TokenStream {
    let krate = &model.krate;
    let self_ty = &model.self_ty;
    let mut generics = model.generics.clone();
    generics.params.push(syn::parse_quote!(__V: NoPause));
    let (impl_generics, _, _) = generics.split_for_impl();
    let where_clause = workflow_bounds(model);
    let [state_var, value] = ["state", "value"].map(local);
    quote! {
        /// Implemented by no type.
        trait NoPause {}

        #[automatically_derived]
        #[diagnostic::do_not_recommend]
        impl #impl_generics #krate::__private::Answer<__V> for #self_ty #where_clause {
            fn answer(
                #state_var: Self::State,
                #value: __V,
            ) -> ::core::result::Result<Self::State, #krate::__private::Error> {
                let _ = (#state_var, #value);
                ::core::unreachable!()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::{stops, transition_methods};
    use crate::expand::local;
    use crate::tests::{model_of, parallel_sample};

    #[test]
    fn a_plain_run_s_steps_stop_where_the_run_may_wait() {
        let model = model_of(quote! {
            impl Remind {
                async fn write(&self, who: String) -> String { who }
                async fn check(&self, text: String, ok: bool) -> String { text }
                async fn send(&self, text: String) -> String { text }
                async fn hear(&self, text: String, reply: String) -> String { reply }
                async fn done(&self, text: String) -> String { text }

                flow! {
                    start -> write -> pause check -> sleep "1h" -> send -> receive hear -> done
                        -> end;
                }
            }
        });
        let stops = stops(&model, &local("state")).to_string().replace(' ', "");
        for waits in ["Check(_)", "Send(_)", "Hear(_)", "End(_)"] {
            assert!(
                stops.contains(&format!("RemindState::{waits}")),
                "{waits}: {stops}"
            );
        }
        for goes_on in ["Write(_)", "Done(_)"] {
            assert!(!stops.contains(goes_on), "{goes_on}: {stops}");
        }
    }

    #[test]
    fn a_workflow_with_a_fork_takes_one_step_per_call() {
        let model = model_of(parallel_sample());
        let methods = transition_methods(&model, &quote!(state), &[]).to_string();
        assert!(methods.contains("fn transition"), "{methods}");
        assert!(!methods.contains("__steps"), "{methods}");
        let chain = model_of(crate::tests::steps_and_flow(
            &["a", "b"],
            &quote!(start -> a -> b -> end;),
        ));
        let methods = transition_methods(&chain, &quote!(state), &[]).to_string();
        assert!(methods.contains("fn __steps"), "{methods}");
    }
}
