//! Snapshots of the code the macro generates, pretty-printed: a change to the expansion shows
//! in review as a diff of readable Rust. `cargo insta review` (or `INSTA_UPDATE=always`)
//! accepts a deliberate change.

use proc_macro2::TokenStream;
use quote::quote;

use crate::workflow_impl;

/// Checks the expansion of `item` against the snapshot `name`.
fn snapshot(name: &str, item: &TokenStream) {
    let mut settings = insta::Settings::clone_current();
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!(name, expand(item)));
}

/// The expansion of `item`, which must have no errors, as formatted Rust.
fn expand(item: &TokenStream) -> String {
    let output = workflow_impl(TokenStream::new(), item);
    let text = output.to_string();
    assert!(
        !text.contains("compile_error"),
        "the input has errors: {text}"
    );
    match syn::parse2::<syn::File>(output) {
        Ok(file) => prettyplease::unparse(&file),
        Err(error) => panic!("the expansion is not Rust ({error}): {text}"),
    }
}

/// A chain, a routing `match` and a bounded loop, with a step's retry and timeout.
#[test]
fn chain_with_loop() {
    snapshot("chain_with_loop", &super::sample());
}

/// A static fan-out of three branches and their join.
#[test]
fn fan_out() {
    snapshot(
        "fan_out",
        &quote! {
        impl Review {
            async fn sentiment(&self, text: String) -> String { text }
            async fn topic(&self, text: String) -> String { text }
            async fn length(&self, text: String) -> usize { text.len() }
            async fn report(&self, (a, b, n): (String, String, usize)) -> String { a + &b }

            flow! {
                start -> (sentiment, topic, length) -> report -> end;
            }
        }
        },
    );
}

/// A map over a list with bounded concurrency, whose failures are collected.
#[test]
fn map() {
    snapshot(
        "map",
        &quote! {
        impl Summaries {
            async fn split(&self, text: String) -> Vec<String> { vec![text] }
            async fn summarize(&self, part: String) -> Result<String, MyError> { Ok(part) }
            async fn join(&self, parts: Vec<Result<String, BranchError>>) -> usize { parts.len() }

            flow! {
                start -> split -> each summarize [concurrency 4, collect] -> join -> end;
            }
        }
        },
    );
}

/// An error route: the step runs as a `Result`, and its error goes to the handler.
#[test]
fn error_route() {
    snapshot(
        "error_route",
        &quote! {
        impl Fetch {
            #[step(retry = 2)]
            async fn fetch(&self, url: String) -> Result<String, Unreachable> { Ok(url) }
            async fn give_up(&self, error: Unreachable) -> String { error.0 }

            flow! {
                start -> fetch -> end;
                fetch? -> give_up -> end;
            }
        }
        },
    );
}
