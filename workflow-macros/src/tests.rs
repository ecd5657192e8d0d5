//! Unit tests of the whole pipeline on token input: it never panics, whatever the input; its
//! output is deterministic; errors are all reported together.

use proc_macro2::{Group, TokenStream, TokenTree};
use quote::quote;

use crate::diag::Errors;
use crate::model::Model;
use crate::{model, parse, workflow_impl};

mod expansion;
mod fuzz;

/// The model of `item` under the arguments `args`, before the checks, with the messages of the
/// errors found on the way. Panics if there is no model: a test's input must have one.
pub(crate) fn model_with(args: TokenStream, item: TokenStream) -> (Model, Vec<String>) {
    let mut errors = Errors::default();
    let args = parse::args(args, &mut errors);
    let input = parse::input(item, &mut errors).expect("an impl block");
    let model = model::build(args, input, &mut errors).expect("a model");
    (model, errors.messages())
}

/// The model of `item`, which must read without errors.
pub(crate) fn model_of(item: TokenStream) -> Model {
    let (model, messages) = model_with(TokenStream::new(), item);
    assert_eq!(messages, Vec::<String>::new(), "the input has errors");
    model
}

/// An impl block of steps named `steps`, each `async fn step(&self, x: u8) -> u8`, and `flow`.
pub(crate) fn steps_and_flow(steps: &[&str], flow: &TokenStream) -> TokenStream {
    let steps = steps.iter().map(|name| {
        let name = proc_macro2::Ident::new(name, proc_macro2::Span::call_site());
        quote!(async fn #name(&self, x: u8) -> u8 { x })
    });
    quote! {
        impl W {
            #(#steps)*
            flow! { #flow }
        }
    }
}

/// The messages `rule` reports on the model of `item`, which must read without errors.
pub(crate) fn rule_messages(
    item: TokenStream,
    rule: impl FnOnce(&Model, &mut Errors),
) -> Vec<String> {
    let model = model_of(item);
    let mut errors = Errors::default();
    rule(&model, &mut errors);
    errors.messages()
}

pub(crate) fn sample() -> TokenStream {
    quote! {
        impl Article {
            async fn draft(&self, topic: String) -> String { topic }

            #[step(retry = 3, backoff = "10ms", timeout = "30s")]
            async fn critique(&self, draft: String) -> Result<Verdict, MyError> { todo!() }

            async fn revise(&self, (draft, feedback): (String, String)) -> String { draft }

            flow! {
                type Output = String;
                start -> draft -> critique;
                critique -> match {
                    Verdict::Approved(text) if !text.is_empty() => end(text),
                    Verdict::Revise { draft, feedback } => revise((draft, feedback)) [max 3 else end(draft)],
                };
                revise -> critique;
            }
        }
    }
}

/// Every variant of `tokens` with one token removed, or repeated, at any depth.
fn mutations(tokens: &TokenStream) -> Vec<TokenStream> {
    let trees: Vec<TokenTree> = tokens.clone().into_iter().collect();
    let mut out = Vec::new();
    for (index, tree) in trees.iter().enumerate() {
        let mut removed = trees.clone();
        removed.remove(index);
        out.push(removed.into_iter().collect());
        let mut repeated = trees.clone();
        repeated.insert(index, tree.clone());
        out.push(repeated.into_iter().collect());
        if let TokenTree::Group(group) = tree {
            for inner in mutations(&group.stream()) {
                let mut replaced = trees.clone();
                replaced[index] = TokenTree::Group(Group::new(group.delimiter(), inner));
                out.push(replaced.into_iter().collect());
            }
        }
    }
    out
}

#[test]
fn never_panics_on_mutated_input() {
    let sample = sample();
    let variants = mutations(&sample);
    assert!(variants.len() > 250, "only {} variants", variants.len());
    for variant in variants {
        let input = variant.to_string();
        let result = std::panic::catch_unwind(|| workflow_impl(TokenStream::new(), &variant));
        assert!(result.is_ok(), "the macro panicked on: {input}");
    }
}

pub(crate) fn parallel_sample() -> TokenStream {
    quote! {
        impl Review {
            async fn split(&self, text: String) -> Vec<String> { vec![text] }
            async fn summarize(&self, part: String) -> Result<String, MyError> { Ok(part) }
            async fn sentiment(&self, text: String) -> String { text }
            async fn topic(&self, text: String) -> String { text }
            async fn report(&self, (a, b): (String, String)) -> String { a + &b }
            async fn join(&self, parts: Vec<Result<String, BranchError>>) -> String { String::new() }
            async fn approve(&self, text: String, ok: bool) -> String { text }

            flow! {
                start -> split -> each summarize [concurrency 4, collect] -> join;
                join -> (sentiment, topic) -> report -> pause approve -> end;
            }
        }
    }
}

#[test]
fn never_panics_on_mutated_forks() {
    let sample = parallel_sample();
    assert!(
        !workflow_impl(TokenStream::new(), &sample)
            .to_string()
            .contains("compile_error"),
        "the sample has errors"
    );
    for variant in mutations(&sample) {
        let input = variant.to_string();
        let result = std::panic::catch_unwind(|| workflow_impl(TokenStream::new(), &variant));
        assert!(result.is_ok(), "the macro panicked on: {input}");
    }
}

#[test]
fn never_panics_on_mutated_arguments() {
    let args = quote!(crate = ::workflow, state = ArticleState);
    for variant in mutations(&args) {
        let input = variant.to_string();
        let result = std::panic::catch_unwind(|| workflow_impl(variant, &sample()));
        assert!(result.is_ok(), "the macro panicked on arguments: {input}");
    }
}

/// Regression (issue #14, and the fuzzer's first finds): the state enum of `impl r#Flow` was
/// named `r#FlowState`, the variant of a step `_1` or `__` was `1` or empty, and the type check
/// of an edge from a branch `_1` was a trait `1ToJoin`: the macro panicked on these valid
/// inputs. A step `self_` got the variant `Self`, a keyword: the output was not Rust.
#[test]
fn raw_and_underscore_names_expand() {
    let inputs = [
        quote! {
            impl r#Flow {
                async fn r#match(&self, x: u8) -> u8 { x }
                flow! { start -> r#match -> end; }
            }
        },
        quote! {
            impl Flow {
                async fn _1(&self, x: u8) -> u8 { x }
                async fn __(&self, x: u8) -> u8 { x }
                async fn self_(&self, x: u8) -> u8 { x }
                flow! { start -> _1 -> __ -> self_ -> end; }
            }
        },
        quote! {
            impl Flow {
                async fn a(&self, x: u8) -> u8 { x }
                async fn _1(&self, x: u8) -> u8 { x }
                async fn b(&self, x: u8) -> u8 { x }
                async fn join(&self, (x, y): (u8, u8)) -> u8 { x + y }
                flow! { start -> a -> (_1, b) -> join -> end; }
            }
        },
    ];
    for input in inputs {
        let output = workflow_impl(TokenStream::new(), &input);
        let text = output.to_string();
        assert!(!text.contains("compile_error"), "errors: {text}");
        if let Err(error) = syn::parse2::<syn::File>(output) {
            panic!("not Rust ({error}): {text}");
        }
    }
}

#[test]
fn output_is_deterministic() {
    let first = workflow_impl(TokenStream::new(), &sample()).to_string();
    let second = workflow_impl(TokenStream::new(), &sample()).to_string();
    assert_eq!(first, second);
    assert!(
        !first.contains("compile_error"),
        "the sample has errors: {first}"
    );
}

#[test]
fn reports_every_error_at_once() {
    let input = quote! {
        impl Pipeline {
            fn fetch(&self, url: String) -> String { url }
            async fn parse(&self, page: String) -> String { page }
            async fn unused(&self, page: String) -> String { page }
            flow! {
                start -> fetch -> prase;
                parse -> end -> fetch;
            }
        }
    };
    let output = workflow_impl(TokenStream::new(), &input).to_string();
    for message in [
        "step `fetch` is not `async`",
        "unknown step `prase`; did you mean `parse`?",
        "nothing can follow `end`",
    ] {
        assert!(output.contains(message), "missing {message:?} in {output}");
    }
    assert!(
        output.contains("impl Pipeline"),
        "the user's impl is not kept: {output}"
    );
}

#[test]
fn fingerprint_changes_with_the_graph() {
    let fingerprint = |flow: TokenStream| {
        let input = quote! {
            impl W {
                async fn a(&self, x: u32) -> u32 { x }
                async fn b(&self, x: u32) -> u32 { x }
                flow! { #flow }
            }
        };
        let output = workflow_impl(TokenStream::new(), &input).to_string();
        let start = output.find("FINGERPRINT").expect("no fingerprint");
        output[start..start + 60].to_owned()
    };
    let chain = fingerprint(quote!(start -> a -> b -> end;));
    assert_eq!(chain, fingerprint(quote!(start -> a -> b -> end;)));
    assert_ne!(chain, fingerprint(quote!(start -> b -> a -> end;)));
    let fork = fingerprint(quote!(start -> (a, b) -> end;));
    assert_ne!(fork, chain);
    assert_ne!(fork, fingerprint(quote!(start -> (a, b) [collect] -> end;)));
    assert_ne!(fork, fingerprint(quote!(start -> (b, a) -> end;)));
    // A sleep changes the state of its step; its duration does not (the state holds a time).
    let sleep = fingerprint(quote!(start -> a -> sleep "1h" -> b -> end;));
    assert_ne!(sleep, chain);
    assert_eq!(
        sleep,
        fingerprint(quote!(start -> a -> sleep "2h" -> b -> end;))
    );
}

#[test]
fn a_receive_step_enters_the_fingerprint_unlike_a_pause() {
    let fingerprint = |flow: TokenStream| {
        let input = quote! {
            impl W {
                async fn a(&self, x: u32) -> u32 { x }
                async fn b(&self, x: u32, y: u32) -> u32 { x + y }
                flow! { #flow }
            }
        };
        let output = workflow_impl(TokenStream::new(), &input).to_string();
        let start = output.find("FINGERPRINT").expect("no fingerprint");
        output[start..start + 60].to_owned()
    };
    let pause = fingerprint(quote!(start -> a -> pause b -> end;));
    let receive = fingerprint(quote!(start -> a -> receive b -> end;));
    assert_ne!(pause, receive);
    assert_eq!(
        receive,
        fingerprint(quote!(start -> a -> receive b -> end;))
    );
}

#[test]
fn generated_names_are_reserved() {
    let input = quote! {
        impl Pipeline {
            const MERMAID: &'static str = "mine";
            async fn a(&self, x: u8) -> u8 { x }
            async fn run(&self, x: u8) -> u8 { x }
            flow! { start -> a -> run -> end; }
        }
    };
    let (_, messages) = model_with(TokenStream::new(), input.clone());
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages[0].starts_with("`MERMAID` is generated by `#[workflow]`"));
    assert!(messages[1].starts_with("`run` is generated by `#[workflow]`"));
    // The stand-ins emitted next to the errors leave the user's items alone.
    let output = workflow_impl(TokenStream::new(), &input).to_string();
    assert_eq!(output.matches("fn run").count(), 1, "{output}");
    assert_eq!(output.matches("const MERMAID").count(), 1, "{output}");
}

#[test]
fn borrowed_inputs_are_reported_with_the_owned_type() {
    let messages = |signature: TokenStream| {
        let input = quote! {
            impl Pipeline {
                #signature { todo!() }
                flow! { start -> a -> end; }
            }
        };
        model_with(TokenStream::new(), input).1
    };
    let stored = "a step's input is stored in the run's state, so it must own its data";
    for (signature, expected) in [
        (
            quote!(async fn a(&self, x: &str) -> u8),
            "step `a` takes `&str`, a borrowed value",
        ),
        (
            quote!(async fn a(&self, (x, y): (u8, &'static [u8])) -> u8),
            "take `Vec<u8>` instead",
        ),
        (
            quote!(async fn a(&self, x: u8, answer: &mut Answer) -> u8),
            "take `Answer` instead",
        ),
        (
            quote!(async fn a(&self, x: Vec<Cow<'a, str>>) -> u8),
            "step `a` takes `Cow<'a, str>`, which borrows for `'a`",
        ),
    ] {
        let messages = messages(signature);
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert!(messages[0].contains(expected), "{messages:?}");
        assert!(messages[0].contains(stored), "{messages:?}");
    }
    let owned = quote!(async fn a(&self, x: Cow<'static, str>) -> u8);
    assert_eq!(messages(owned), Vec::<String>::new());
}

#[test]
fn flow_syntax_mistakes_say_what_to_write() {
    let input = quote! {
        impl Pipeline {
            async fn a(&self, x: u8) -> u8 { x }
            async fn b(&self, x: u8) -> u8 { x }
            flow! {
                start -> a -> b
                b -> end;
                a -> match { 0 => (a, b), _ => end };
                a b;
            }
        }
    };
    let (model, messages) = model_with(TokenStream::new(), input);
    assert_eq!(
        messages,
        [
            "missing `;` before `b -> …`: each edge ends with `;`, as in `a -> b;`",
            crate::diag::FORK_IN_ARM,
            "expected `->` after `a`: an edge reads `a -> next_step;`",
        ]
    );
    // The edges on both sides of the missing `;` are kept.
    assert_eq!(model.steps[1].outgoing.len(), 1);
}

#[test]
fn flow_may_be_named_through_the_crate() {
    for flow in [
        quote!(flow!),
        quote!(workflow::flow!),
        quote!(::workflow::prelude::flow!),
    ] {
        let model = model_of(quote! {
            impl W {
                async fn a(&self, x: u8) -> u8 { x }
                #flow { start -> a -> end; }
            }
        });
        assert_eq!(model.steps.len(), 1, "{flow}");
    }
    // Another crate's `flow!` is left alone, as any macro in the impl block is.
    let input = quote! {
        impl W {
            async fn a(&self, x: u8) -> u8 { x }
            other::flow! { start -> a -> end; }
        }
    };
    let output = workflow_impl(TokenStream::new(), &input).to_string();
    assert!(output.contains("no `flow! { … }` block"), "{output}");
}
