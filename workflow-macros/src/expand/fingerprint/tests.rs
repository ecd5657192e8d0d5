//! The fingerprint is pinned for a sample workflow, blind to spacing, and sees every change to
//! what a run stores or where it goes.

use std::str::FromStr;

use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};
use quote::quote;

use super::{description, own_fingerprint as fingerprint};
use crate::tests::{model_of, model_with};

/// The sample of the facade's `tests/fingerprint.rs`, whose `FINGERPRINT` is pinned to the
/// same value: bodies do not count.
fn sample() -> TokenStream {
    quote! {
        impl Sample {
            async fn draft(&self, topic: String) -> String { todo!() }
            #[step(retry = 2)]
            async fn critique(&self, draft: String) -> Result<Verdict> { todo!() }
            async fn revise(&self, (draft, feedback): (String, String)) -> String { todo!() }
            async fn prepare(&self, text: String) -> String { todo!() }
            async fn polish(&self, text: String) -> String { todo!() }
            async fn title(&self, text: String) -> String { todo!() }
            async fn publish(&self, (text, title): (String, String)) -> String { todo!() }

            flow! {
                type Output = String;
                start -> draft -> critique;
                critique -> match {
                    Verdict::Approved(text) if !text.is_empty() => prepare(text),
                    Verdict::Approved(text) => end(text),
                    Verdict::Revise { draft, feedback } => revise((draft, feedback)) [max 3 else end(draft)],
                };
                revise -> critique;
                prepare -> (polish, title) -> publish -> end;
            }
        }
    }
}

const SAMPLE_DESCRIPTION: &str = "\
fingerprint v2
workflow Sample
version 0
output String
step draft input String output String fallible false error false pause none
step critique input String output Verdict fallible true error false pause none
step revise input ( String , String ) output String fallible false error false pause none
step prepare input String output String fallible false error false pause none
step polish input String output String fallible false error false pause none
step title input String output String fallible false error false pause none
step publish input ( String , String ) output String fallible false error false pause none
edge start -> draft ()
fork (polish, title) map false collect false concurrency none
edge (polish, title) -> publish ()
edge draft -> critique ()
match critique arms 3
arm Verdict :: Approved ( text ) if ! text . is_empty ( )
edge critique -> prepare (text)
arm Verdict :: Approved ( text ) if
edge critique -> end (text)
arm Verdict :: Revise { draft , feedback } if
edge critique -> revise (( draft , feedback )) max 3 #0 else (edge critique -> end (draft))
edge revise -> critique ()
edge prepare -> (polish, title) ()
edge publish -> end ()
";

#[test]
fn the_sample_is_pinned() {
    let model = model_of(sample());
    assert_eq!(description(&model), SAMPLE_DESCRIPTION);
    assert_eq!(fingerprint(&model), 0xa3f2_0299_97de_50fb);
}

/// The fingerprint of `source`, read as the compiler would read a file.
fn of_source(source: &str) -> u64 {
    fingerprint(&model_of(TokenStream::from_str(source).expect("tokens")))
}

#[test]
fn spacing_and_printing_do_not_count() {
    let tight = "impl W{async fn a(&self,x:Vec<Vec<u8>>)->Result<(u8,),E>{x}\
                 async fn b(&self,x:(u8,))->u8{x.0}\
                 flow!{start->a->b;b->match{0|1=>end(x.0),_=>end}}}";
    let loose = "impl   W {\n  async fn a ( & self , x : Vec < Vec < u8 > > ) -> Result < ( u8 , ) , E > { x }\n\
                 async fn b(&self, x: (u8,)) -> u8 { x.0 }\n\
                 flow! {\n start -> a -> b ;\n b -> match { 0 | 1 => end ( x . 0 ) , _ => end , } ; } }";
    let raw = "impl r#W { async fn r#a(&self, x: Vec<Vec<u8> >,) -> Result<(u8,), E,> { x }\
               async fn b(&self, x: (u8,),) -> u8 { x.0 }\
               flow! { start -> r#a -> b; b -> match { 0 | 1 => end(x.0), _ => end }; } }";
    assert_eq!(of_source(tight), of_source(loose));
    assert_eq!(of_source(tight), of_source(raw));
    // A one-element tuple is not its element.
    let not_a_tuple = tight.replace("x:(u8,)", "x:(u8)");
    assert_ne!(of_source(tight), of_source(&not_a_tuple));
}

#[test]
fn a_type_passed_through_a_macro_reads_as_written() {
    // `$t:ty` reaches the macro in an invisible group.
    let wrapped = |tokens: TokenStream| TokenTree::Group(Group::new(Delimiter::None, tokens));
    let ty = wrapped(quote!(Vec<String>));
    let through = quote! {
        impl W {
            async fn a(&self, x: #ty) -> u8 { 0 }
            flow! { start -> a -> end; }
        }
    };
    let direct = quote! {
        impl W {
            async fn a(&self, x: Vec<String>) -> u8 { 0 }
            flow! { start -> a -> end; }
        }
    };
    assert_eq!(
        fingerprint(&model_of(through)),
        fingerprint(&model_of(direct))
    );
}

/// The fingerprint of a workflow of steps `a` and `b` whose signatures and graph are given.
fn of_parts(a: &TokenStream, b: &TokenStream, flow: &TokenStream) -> u64 {
    of_args(TokenStream::new(), a, b, flow)
}

fn of_args(args: TokenStream, a: &TokenStream, b: &TokenStream, flow: &TokenStream) -> u64 {
    let item = quote! {
        impl W {
            #a { todo!() }
            #b { todo!() }
            flow! { #flow }
        }
    };
    let (model, messages) = model_with(args, item);
    assert_eq!(messages, Vec::<String>::new(), "the input has errors");
    fingerprint(&model)
}

#[test]
fn every_part_of_the_definition_counts() {
    let a = quote!(async fn a(&self, x: String) -> Result<Verdict, E>);
    let b = quote!(async fn b(&self, x: String) -> String);
    let flow = quote! {
        type Output = String;
        start -> a;
        a -> match {
            Verdict::Yes(x) if x.is_empty() => b(x) [max 2 else end(x)],
            Verdict::No(x) => end(x),
        };
        b -> a;
    };
    let base = of_parts(&a, &b, &flow);
    let changed = |a: &TokenStream, b: &TokenStream, flow: &str| {
        let flow = TokenStream::from_str(flow).expect("tokens");
        of_parts(a, b, &flow)
    };
    let flow_text = flow.to_string();
    let edited = |from: &str, to: &str| {
        assert!(flow_text.contains(from), "no {from:?} in {flow_text}");
        changed(&a, &b, &flow_text.replace(from, to))
    };
    let variants = [
        ("the same", changed(&a, &b, &flow_text), true),
        (
            "an input type",
            changed(
                &quote!(async fn a(&self, x: Box<str>) -> Result<Verdict, E>),
                &b,
                &flow_text,
            ),
            false,
        ),
        (
            "an output type",
            changed(
                &a,
                &quote!(async fn b(&self, x: String) -> Box<str>),
                &flow_text,
            ),
            false,
        ),
        (
            "the error type written out",
            changed(
                &quote!(async fn a(&self, x: String) -> Result<Verdict>),
                &b,
                &flow_text,
            ),
            false,
        ),
        (
            "the fallibility",
            changed(
                &a,
                &quote!(async fn b(&self, x: String) -> Result<String, E>),
                &flow_text,
            ),
            false,
        ),
        ("the output type", edited("String", "Box < str >"), false),
        ("a bound", edited("max 2", "max 3"), false),
        (
            "an else route",
            edited("else end (x)", "else end (x . clone ())"),
            false,
        ),
        (
            "a pattern",
            edited("Verdict :: No", "Verdict :: Maybe"),
            false,
        ),
        ("a guard", edited("is_empty", "is_ascii"), false),
        (
            "an argument",
            edited("=> b (x)", "=> b (x . clone ())"),
            false,
        ),
        ("an edge", edited("b -> a", "b -> end"), false),
    ];
    for (what, value, same) in variants {
        assert_eq!(value == base, same, "{what}");
    }
    let versioned = of_args(quote!(version = 1), &a, &b, &flow);
    assert_ne!(versioned, base, "a version");
    let zero = of_args(quote!(version = 0), &a, &b, &flow);
    assert_eq!(zero, base, "version 0 is the default");
}

#[test]
fn pauses_and_forks_count() {
    let a = quote!(async fn a(&self, x: String) -> String);
    let b = quote!(async fn b(&self, x: String, v: bool) -> String);
    let pause = of_parts(&a, &b, &quote!(start -> a -> pause b -> end;));
    let other = quote!(async fn b(&self, x: String, v: u8) -> String);
    assert_ne!(
        pause,
        of_parts(&a, &other, &quote!(start -> a -> pause b -> end;)),
        "the value type"
    );

    let a = quote!(async fn a(&self, x: u8) -> u8);
    let b = quote!(async fn b(&self, x: u8) -> u8);
    let fork = |flow: TokenStream| of_parts(&a, &b, &flow);
    let both = fork(quote!(start -> (a, b) -> end;));
    assert_ne!(
        both,
        fork(quote!(start -> (b, a) -> end;)),
        "the order of branches"
    );
    assert_ne!(
        both,
        fork(quote!(start -> (a, b) [collect] -> end;)),
        "collect"
    );
    let map = fork(quote!(start -> a -> each b -> end;));
    assert_ne!(
        map,
        fork(quote!(start -> a -> each b [concurrency 2] -> end;)),
        "concurrency"
    );
}

#[test]
fn step_policies_do_not_count() {
    let a = quote!(async fn a(&self, x: u8) -> u8);
    let retried = quote!(#[step(retry = 3, timeout = "1s")] async fn a(&self, x: u8) -> u8);
    let b = quote!(async fn b(&self, x: u8) -> u8);
    let flow = quote!(start -> a -> b -> end;);
    assert_eq!(of_parts(&a, &b, &flow), of_parts(&retried, &b, &flow));
}

#[test]
fn error_routes_count() {
    let of = |flow: TokenStream| {
        fingerprint(&model_of(quote! {
            impl Fetch {
                async fn fetch(&self, url: String) -> Result<String, Unreachable> { todo!() }
                async fn give_up(&self, error: Unreachable) -> String { todo!() }
                async fn retry(&self, error: Unreachable) -> String { todo!() }
                flow! { #flow }
            }
        }))
    };
    let give_up = of(quote! {
        start -> fetch -> end; fetch? -> give_up -> end; retry -> end;
    });
    let retry = of(quote! {
        start -> fetch -> end; fetch? -> retry -> end; give_up -> end;
    });
    let none = of(quote! {
        start -> fetch -> end; give_up -> end; retry -> end;
    });
    assert_ne!(give_up, retry);
    assert_ne!(give_up, none);
    assert_ne!(retry, none);
}
