//! The rule on generated names, on steps whose names clash and on close ones that do not.

use proc_macro2::TokenStream;
use quote::quote;

use super::variants_are_distinct;
use crate::tests::{model_with, rule_messages, steps_and_flow};

fn report(steps: &[&str], flow: &TokenStream) -> Vec<String> {
    rule_messages(steps_and_flow(steps, flow), variants_are_distinct)
}

#[test]
fn steps_that_read_the_same_in_camel_case_clash() {
    let same = |name: &str, others: &str| {
        format!(
            "step `{name}` would get the same variant of the generated state enum as {others}, \
             because their names read the same in UpperCamelCase; rename one of them"
        )
    };
    assert_eq!(
        report(&["a_b", "a__b"], &quote!(start -> a_b -> a__b -> end;)),
        [same("a_b", "step `a__b`"), same("a__b", "step `a_b`")]
    );
    assert_eq!(
        report(
            &["a_b", "a__b", "aB"],
            &quote!(start -> a_b -> a__b -> aB -> end;)
        ),
        [
            same("a_b", "steps `a__b` and `aB`"),
            same("a__b", "steps `a_b` and `aB`"),
            same("aB", "steps `a_b` and `a__b`"),
        ]
    );
    // `_1` and `step1` both fall back to the same safe name.
    assert_eq!(
        report(&["_1", "step1"], &quote!(start -> _1 -> step1 -> end;)),
        [same("_1", "step `step1`"), same("step1", "step `_1`")]
    );
    assert!(report(&["a_b", "a_c"], &quote!(start -> a_b -> a_c -> end;)).is_empty());
    assert!(report(&["_1", "__"], &quote!(start -> _1 -> __ -> end;)).is_empty());
}

#[test]
fn branches_have_no_variant_to_clash() {
    assert!(report(
        &["a", "b_c", "bC", "d"],
        &quote!(start -> a -> (b_c, bC) -> d -> end;)
    )
    .is_empty());
}

#[test]
fn no_step_reads_as_end() {
    assert_eq!(
        report(&["a", "end_"], &quote!(start -> a -> end_ -> end;)),
        [
            "step `end_` would get the variant of the generated state enum that holds the output \
          of a finished run, because its name reads as `end` in UpperCamelCase; rename the method"
        ]
    );
    // `end` itself is reported when the step is read.
    let (model, messages) = model_with(
        TokenStream::new(),
        steps_and_flow(&["a", "end"], &quote!(start -> a -> end;)),
    );
    assert_eq!(
        messages,
        ["`end` is a reserved word of `flow!` and cannot name a step; rename the method"]
    );
    let mut errors = crate::diag::Errors::default();
    variants_are_distinct(&model, &mut errors);
    assert!(errors.is_empty());
}

#[test]
fn a_step_defined_twice_is_reported() {
    let twice = "step `a` is defined twice; rename or remove one of them";
    assert_eq!(
        report(&["a", "a", "b"], &quote!(start -> a -> b -> end;)),
        [twice, twice]
    );
    let raw = quote! {
        impl W {
            async fn a(&self, x: u8) -> u8 { x }
            async fn r#a(&self, x: u8) -> u8 { x }
            flow! { start -> a -> end; }
        }
    };
    assert_eq!(rule_messages(raw, variants_are_distinct), [twice, twice]);
}
