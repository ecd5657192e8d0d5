//! The rule on pauses, on inputs that break it both ways and on one that does not.

use proc_macro2::TokenStream;
use quote::quote;

use super::pauses_take_a_value;
use crate::tests::rule_messages;

fn report(b: &TokenStream, flow: &TokenStream) -> Vec<String> {
    let item = quote! {
        impl W {
            async fn a(&self, x: u8) -> u8 { x }
            #b
            flow! { #flow }
        }
    };
    rule_messages(item, pauses_take_a_value)
}

#[test]
fn a_pause_step_and_only_it_takes_a_value() {
    let takes_value = quote!(
        async fn b(&self, x: u8, ok: bool) -> u8 {
            x
        }
    );
    let takes_none = quote!(
        async fn b(&self, x: u8) -> u8 {
            x
        }
    );
    assert_eq!(
        report(&takes_value, &quote!(start -> a -> b -> end;)),
        ["step `b` takes a second parameter, which makes it a pause step waiting for that value from outside: mark it in `flow!` with `-> pause b` (or `-> receive b` to take it as a signal's message), or take one tuple instead: `(a, b): (A, B)`"]
    );
    assert_eq!(
        report(&takes_none, &quote!(start -> a -> pause b -> end;)),
        ["a pause step takes the value it waits for as its second parameter: `async fn b(&self, input: T, value: V)`"]
    );
    assert!(report(&takes_value, &quote!(start -> a -> pause b -> end;)).is_empty());
    assert!(report(&takes_none, &quote!(start -> a -> b -> end;)).is_empty());
}

#[test]
fn a_receive_step_takes_its_message_and_is_not_a_pause() {
    let takes_value = quote!(
        async fn b(&self, x: u8, note: String) -> u8 {
            x
        }
    );
    let takes_none = quote!(
        async fn b(&self, x: u8) -> u8 {
            x
        }
    );
    assert!(report(&takes_value, &quote!(start -> a -> receive b -> end;)).is_empty());
    assert_eq!(
        report(&takes_none, &quote!(start -> a -> receive b -> end;)),
        ["a step that receives a signal takes the message as its second parameter: `async fn b(&self, input: T, message: M)`"]
    );
    let both = quote!(start -> a -> match { 0 => pause b, _ => receive b };);
    assert_eq!(
        report(&takes_value, &both),
        ["step `b` is marked both `pause` and `receive`; a step waits for one of them: a value given to its pause (`pause`), or a message sent as a signal (`receive`)"]
    );
}
