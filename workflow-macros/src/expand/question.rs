//! The `?`s of the steps that return a `Result`, written so that rustc reports an operand or an
//! error `?` cannot take in our words, at the user's `?`.
//!
//! `expr?` in such a step's own body becomes
//!
//! ```text
//! match QuestionOperand::branch(expr) {
//!     Ok(value) => value,
//!     Err(error) => return Err(QuestionInto::question_into(error)),
//! }
//! ```
//!
//! which is `?` for a `Result` (and a `Poll` of one): the error converts with `From`, into the
//! error type of the step's return, however the step names it (`Result<T, E>`,
//! `workflow::Result<T>`, `anyhow::Result<T>`). A `?` inside a closure, an `async` block, a
//! nested item or a macro's arguments returns from something else, and is left as written.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, ExprTry, ImplItem, ItemImpl};

use crate::model::Model;

/// `item` with the `?`s of its steps that return a `Result` rewritten.
pub(crate) fn steps(model: &Model, mut item: ItemImpl) -> ItemImpl {
    for impl_item in &mut item.items {
        let ImplItem::Fn(method) = impl_item else {
            continue;
        };
        let returns_result = model.steps.iter().any(|step| {
            step.sig.ident == method.sig.ident
                && step.sig.fallible.is_some()
                && step.sig.child.is_none()
        });
        if returns_result {
            Questions { model }.visit_block_mut(&mut method.block);
        }
    }
    item
}

/// Rewrites the `?`s that return from the function whose body it visits.
struct Questions<'a> {
    model: &'a Model,
}

impl VisitMut for Questions<'_> {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        match expr {
            // Their `?` returns from the closure or the block, or is the macro's to read.
            Expr::Closure(_) | Expr::Async(_) | Expr::Const(_) | Expr::Macro(_) => {}
            Expr::Try(_) => {
                visit_mut::visit_expr_mut(self, expr);
                if let Expr::Try(question) = expr {
                    if let Some(rewritten) = self.rewrite(question) {
                        *expr = rewritten;
                    }
                }
            }
            _ => visit_mut::visit_expr_mut(self, expr),
        }
    }

    // A nested `fn`, `impl` or `mod` has `?`s of its own.
    fn visit_item_mut(&mut self, _item: &mut syn::Item) {}
}

impl Questions<'_> {
    /// The `match` that does what `question` does, every token at its `?` but `match` itself,
    /// at the operand's start, so that the whole expression spans `expr?`.
    fn rewrite(&self, question: &ExprTry) -> Option<Expr> {
        let span = question.question_token.span;
        let start = syn::spanned::Spanned::span(&question.expr);
        let attrs = &question.attrs;
        let operand = &question.expr;
        let branch = self.private("QuestionOperand", span);
        let into = self.private("QuestionInto", span);
        // At the `?` itself (not `Span::mixed_site()`): rustc places an error in the argument
        // of the conversion at the call's own context, which would be `#[workflow]` otherwise.
        // Nothing of the user's is in scope of these bindings.
        let value = syn::Ident::new("__workflow_value", span);
        let error = syn::Ident::new("__workflow_error", span);
        let keyword = syn::Token![match](start);
        let tokens = quote_spanned! {span=>
            #(#attrs)*
            #keyword #branch::branch(#operand) {
                ::core::result::Result::Ok(#value) => #value,
                ::core::result::Result::Err(#error) => {
                    return ::core::result::Result::Err(#into::question_into(#error));
                }
            }
        };
        syn::parse2(tokens).ok()
    }

    /// The path of an item of `__private`, at `span` as if the user had written it there, so
    /// that rustc's message is the user's code's and not the macro's.
    fn private(&self, item: &str, span: Span) -> TokenStream {
        let krate = &self.model.krate;
        let item = syn::Ident::new(item, span);
        let path = quote!(#krate::__private::#item);
        path.into_iter()
            .map(|mut token| {
                token.set_span(span);
                token
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use proc_macro2::TokenStream;
    use quote::quote;

    /// The user's impl block as the macro emits it, pretty-printed.
    fn user_impl(item: &TokenStream) -> String {
        let output = crate::workflow_impl(TokenStream::new(), item);
        let file: syn::File = syn::parse2(output).expect("the expansion is Rust");
        let first = file.items.into_iter().next().expect("the user's impl");
        prettyplease::unparse(&syn::File {
            shebang: None,
            attrs: Vec::new(),
            items: vec![first],
        })
    }

    #[test]
    fn only_the_steps_own_questions_are_written_out() {
        let printed = user_impl(&quote! {
            impl Count {
                async fn count(&self, text: String) -> Result<usize, Failed> {
                    let first = |text: &str| -> Option<char> { text.chars().next()? .into() };
                    let parsed = async { text.parse::<usize>()? + 1 };
                    fn last(text: &str) -> Option<char> { Some(text.chars().last()?) }
                    let line = format!("{}", read(&text)?);
                    read(&text)?.len();
                    Ok(parsed.await?)
                }
                async fn plain(&self, number: usize) -> usize {
                    number.checked_add(1)?
                }
                flow! { start -> count -> plain -> end; }
            }
        });
        let expected = r#"impl Count {
    #[allow(clippy::unused_async)]
    async fn count(&self, text: String) -> Result<usize, Failed> {
        let first = |text: &str| -> Option<char> { text.chars().next()?.into() };
        let parsed = async { text.parse::<usize>()? + 1 };
        fn last(text: &str) -> Option<char> {
            Some(text.chars().last()?)
        }
        let line = format!("{}", read(& text) ?);
        match ::workflow::__private::QuestionOperand::branch(read(&text)) {
            ::core::result::Result::Ok(__workflow_value) => __workflow_value,
            ::core::result::Result::Err(__workflow_error) => {
                return ::core::result::Result::Err(
                    ::workflow::__private::QuestionInto::question_into(__workflow_error),
                );
            }
        }
            .len();
        Ok(
            match ::workflow::__private::QuestionOperand::branch(parsed.await) {
                ::core::result::Result::Ok(__workflow_value) => __workflow_value,
                ::core::result::Result::Err(__workflow_error) => {
                    return ::core::result::Result::Err(
                        ::workflow::__private::QuestionInto::question_into(
                            __workflow_error,
                        ),
                    );
                }
            },
        )
    }
    #[allow(clippy::unused_async)]
    async fn plain(&self, number: usize) -> usize {
        number.checked_add(1)?
    }
}
"#;
        assert_eq!(printed, expected);
    }
}
