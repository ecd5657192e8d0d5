//! Reads the steps of a `#[workflow]` impl: their signatures and `#[step(...)]` options.

use std::time::Duration;

use proc_macro2::Span;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{
    Expr, ExprLit, FnArg, GenericArgument, ImplItemFn, Lit, Meta, PathArguments, ReturnType, Token,
    Type,
};

use crate::diag::{self, Errors};

/// One step as written: its name, the types it takes and returns, and its options.
pub(crate) struct StepFn {
    pub(crate) ident: syn::Ident,
    /// The input type; `()` for a step that takes none.
    pub(crate) input: Type,
    /// Whether the method has an input parameter.
    pub(crate) has_input: bool,
    /// The type of a second parameter: the value a pause step waits for.
    pub(crate) resume: Option<Type>,
    /// Whether the signature is a valid step's: the types above can be used.
    pub(crate) valid: bool,
    /// The output type: `U` of `-> Result<U, E>` or `-> U`.
    pub(crate) output: Type,
    /// If the step returns a `Result`: its error type as written, or the whole return type for
    /// `Result<T>` (an alias with a default error).
    pub(crate) fallible: Option<Type>,
    /// Whether the return type names its error type: `Result<U, E>`, not `Result<U>`.
    pub(crate) error_written: bool,
    pub(crate) options: StepOptions,
    /// `fn research(&self) -> &Research`: the step is a run of this workflow type. Its input
    /// and output are that workflow's, filled in by `model`.
    pub(crate) child: Option<Type>,
}

/// The options of `#[step(...)]`.
#[derive(Default)]
pub(crate) struct StepOptions {
    pub(crate) retry: Option<u32>,
    /// Where `retry` is written.
    pub(crate) retry_span: Option<Span>,
    pub(crate) backoff: Option<Duration>,
    pub(crate) max_backoff: Option<Duration>,
    pub(crate) timeout: Option<Duration>,
}

/// Reads a method of the impl as a step, removing its `#[step]` attributes. Problems are
/// reported; the step is still returned so that the graph can name it without cascading errors.
pub(crate) fn step(method: &mut ImplItemFn, errors: &mut Errors) -> StepFn {
    let before = errors.len();
    let options = take_options(method, errors);
    let sig = &method.sig;
    let ident = sig.ident.clone();
    let name = ident.to_string();
    if super::is_reserved(&ident) {
        errors.push(ident.span(), diag::step_reserved(&super::unraw(&ident)));
    }
    if super::is_generated(&ident) {
        errors.push(ident.span(), diag::generated_name(&super::unraw(&ident)));
    }
    if let Some(child) = child_workflow(sig) {
        if let Some(span) = options.retry_span {
            errors.push(span, diag::child_retry(&name, &written(&child)));
        }
        return StepFn {
            ident,
            valid: errors.len() == before,
            input: syn::parse_quote!(()),
            has_input: true,
            resume: None,
            output: syn::parse_quote!(()),
            fallible: None,
            error_written: false,
            options,
            child: Some(child),
        };
    }
    check_qualifiers(sig, &name, errors);
    let (input, resume) = input_type(sig, &name, errors);
    let has_input = sig.inputs.len() > 1;
    let Output {
        ok: output,
        fallible,
        error_written,
    } = output_type(&sig.output, &name, errors);
    StepFn {
        ident,
        valid: errors.len() == before,
        input,
        has_input,
        resume,
        output,
        fallible,
        error_written,
        options,
        child: None,
    }
}

/// The workflow type `T` of a step written `fn name(&self) -> &T`: not `async`, no parameter
/// but `&self`, returning a shared reference. Such a step runs the workflow `T` returns.
fn child_workflow(sig: &syn::Signature) -> Option<Type> {
    let plain = sig.asyncness.is_none()
        && sig.constness.is_none()
        && sig.unsafety.is_none()
        && sig.abi.is_none()
        && sig.variadic.is_none()
        && sig.generics.params.is_empty()
        && sig.generics.where_clause.is_none();
    let by_ref = matches!(
        sig.inputs.first(),
        Some(FnArg::Receiver(receiver))
            if receiver.reference.is_some()
                && receiver.mutability.is_none()
                && receiver.colon_token.is_none()
    );
    match &sig.output {
        ReturnType::Type(_, ty) if plain && by_ref && sig.inputs.len() == 1 => match &**ty {
            Type::Reference(reference) if reference.mutability.is_none() => {
                Some((*reference.elem).clone())
            }
            _ => None,
        },
        _ => None,
    }
}

fn check_qualifiers(sig: &syn::Signature, name: &str, errors: &mut Errors) {
    if sig.asyncness.is_none() {
        errors.push(sig.fn_token.span, diag::step_not_async(name));
    }
    if let Some(token) = &sig.constness {
        errors.push(token.span, diag::step_qualifier(name, "const"));
    }
    if let Some(token) = &sig.unsafety {
        errors.push(token.span, diag::step_qualifier(name, "unsafe"));
    }
    if let Some(abi) = &sig.abi {
        errors.push(abi.extern_token.span, diag::step_qualifier(name, "extern"));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.push(sig.generics.span(), diag::step_generic(name));
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(variadic.span(), diag::step_many_inputs(name));
    }
}

/// The input type, and the type of the value a pause waits for if there is a second parameter.
fn input_type(sig: &syn::Signature, name: &str, errors: &mut Errors) -> (Type, Option<Type>) {
    let mut inputs = sig.inputs.iter();
    match inputs.next() {
        Some(FnArg::Receiver(receiver)) => {
            if receiver.reference.is_none()
                || receiver.mutability.is_some()
                || receiver.colon_token.is_some()
            {
                errors.push(receiver.span(), diag::step_bad_receiver(name));
            }
        }
        Some(FnArg::Typed(typed)) => errors.push(typed.span(), diag::step_no_receiver(name)),
        None => errors.push(sig.paren_token.span.join(), diag::step_no_receiver(name)),
    }
    let input = match inputs.next() {
        Some(FnArg::Typed(typed)) => {
            check_stored(&typed.ty, name, errors);
            (*typed.ty).clone()
        }
        _ => syn::parse_quote_spanned!(sig.paren_token.span.join()=> ()),
    };
    let resume = match inputs.next() {
        Some(FnArg::Typed(typed)) => {
            check_stored(&typed.ty, name, errors);
            Some((*typed.ty).clone())
        }
        _ => None,
    };
    if let Some(extra) = inputs.next() {
        errors.push(extra.span(), diag::step_many_inputs(name));
    }
    (input, resume)
}

/// A step's return type, split: see the fields of [`StepFn`] of the same names.
struct Output {
    ok: Type,
    fallible: Option<Type>,
    error_written: bool,
}

/// Splits `-> Result<U, E>` into `U` and the fallible return type; `-> U` is infallible.
fn output_type(output: &ReturnType, name: &str, errors: &mut Errors) -> Output {
    let infallible = |ok: Type| Output {
        ok,
        fallible: None,
        error_written: false,
    };
    let ty = match output {
        ReturnType::Default => return infallible(syn::parse_quote!(())),
        ReturnType::Type(_, ty) => ty,
    };
    if contains_impl_trait(ty) {
        errors.push(ty.span(), diag::step_impl_trait(name));
    }
    if let Type::Path(path) = &**ty {
        if let Some(last) = path.path.segments.last() {
            if let (true, PathArguments::AngleBracketed(args)) =
                (last.ident == "Result", &last.arguments)
            {
                if let Some(GenericArgument::Type(ok)) = args.args.first() {
                    let (error, error_written) = match args.args.iter().nth(1) {
                        Some(GenericArgument::Type(error)) => (error.clone(), true),
                        _ => ((**ty).clone(), false),
                    };
                    return Output {
                        ok: ok.clone(),
                        fallible: Some(error),
                        error_written,
                    };
                }
            }
        }
    }
    infallible((**ty).clone())
}

/// A type the run's state stores (a step's input, or the value a pause waits for) names a
/// concrete type, and owns its data.
fn check_stored(ty: &Type, name: &str, errors: &mut Errors) {
    if contains_impl_trait(ty) {
        errors.push(ty.span(), diag::step_impl_trait(name));
    } else if let Some(borrow) = borrowed(ty) {
        let message = match borrow {
            Borrow::Reference(reference) => {
                diag::borrowed_input(name, &written(reference), &owned(reference))
            }
            Borrow::Lifetime(ty, lifetime) => {
                diag::input_with_lifetime(name, &written(ty), &written(lifetime))
            }
        };
        let error = match borrow {
            Borrow::Reference(reference) => syn::Error::new_spanned(reference, message),
            Borrow::Lifetime(ty, _) => syn::Error::new_spanned(ty, message),
        };
        errors.add(error);
    }
}

/// The part of a type that borrows: a reference, or a type with a lifetime other than
/// `'static`.
#[derive(Clone, Copy)]
enum Borrow<'a> {
    Reference(&'a syn::TypeReference),
    Lifetime(&'a Type, &'a syn::Lifetime),
}

/// The first part of `ty` that borrows, if any.
fn borrowed(ty: &Type) -> Option<Borrow<'_>> {
    let not_static = |lifetime: &&syn::Lifetime| lifetime.ident != "static";
    match ty {
        Type::Reference(reference) => Some(Borrow::Reference(reference)),
        Type::Paren(paren) => borrowed(&paren.elem),
        Type::Group(group) => borrowed(&group.elem),
        Type::Tuple(tuple) => tuple.elems.iter().find_map(borrowed),
        Type::Slice(slice) => borrowed(&slice.elem),
        Type::Array(array) => borrowed(&array.elem),
        Type::Path(path) => path.path.segments.iter().find_map(|segment| {
            let PathArguments::AngleBracketed(args) = &segment.arguments else {
                return None;
            };
            args.args.iter().find_map(|arg| match arg {
                GenericArgument::Lifetime(lifetime) => Some(lifetime)
                    .filter(not_static)
                    .map(|lt| Borrow::Lifetime(ty, lt)),
                GenericArgument::Type(inner) => borrowed(inner),
                _ => None,
            })
        }),
        Type::TraitObject(object) => object.bounds.iter().find_map(|bound| match bound {
            syn::TypeParamBound::Lifetime(lifetime) => Some(lifetime)
                .filter(not_static)
                .map(|lt| Borrow::Lifetime(ty, lt)),
            _ => None,
        }),
        _ => None,
    }
}

/// The owned type to take instead of `reference`: `String` for `&str`, `Vec<T>` for `&[T]`,
/// `T` for `&T`.
fn owned(reference: &syn::TypeReference) -> String {
    match &*reference.elem {
        Type::Path(path) if path.path.is_ident("str") => "String".to_owned(),
        Type::Path(path) if path.path.is_ident("Path") => "PathBuf".to_owned(),
        Type::Slice(slice) => format!("Vec<{}>", written(&slice.elem)),
        elem => written(elem),
    }
}

/// Tokens as a user would write them in a message: `&str`, not `& str`.
fn written(tokens: &impl quote::ToTokens) -> String {
    let text = tokens.to_token_stream().to_string();
    [
        ("& ", "&"),
        (" <", "<"),
        ("< ", "<"),
        (" >", ">"),
        (" ,", ","),
        (" ::", "::"),
        (":: ", "::"),
        ("' ", "'"),
    ]
    .iter()
    .fold(text, |text, (from, to)| text.replace(from, to))
}

fn contains_impl_trait(ty: &Type) -> bool {
    match ty {
        Type::ImplTrait(_) => true,
        Type::Reference(reference) => contains_impl_trait(&reference.elem),
        Type::Paren(paren) => contains_impl_trait(&paren.elem),
        Type::Tuple(tuple) => tuple.elems.iter().any(contains_impl_trait),
        Type::Slice(slice) => contains_impl_trait(&slice.elem),
        Type::Array(array) => contains_impl_trait(&array.elem),
        Type::Path(path) => path
            .path
            .segments
            .iter()
            .any(|segment| match &segment.arguments {
                PathArguments::AngleBracketed(args) => args.args.iter().any(
                    |arg| matches!(arg, GenericArgument::Type(inner) if contains_impl_trait(inner)),
                ),
                _ => false,
            }),
        _ => false,
    }
}

/// Removes the `#[step(...)]` attributes of a method and reads their options.
fn take_options(method: &mut ImplItemFn, errors: &mut Errors) -> StepOptions {
    let mut options = StepOptions::default();
    let mut seen: Vec<(String, Span)> = Vec::new();
    let attrs = std::mem::take(&mut method.attrs);
    for attr in attrs {
        if !attr.path().is_ident("step") {
            method.attrs.push(attr);
            continue;
        }
        let metas = match &attr.meta {
            Meta::Path(_) => continue,
            _ => attr.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated),
        };
        match metas {
            Ok(metas) => {
                for meta in metas {
                    option(&meta, &mut options, &mut seen, errors);
                }
            }
            Err(error) => errors.add(error),
        }
    }
    options
}

fn option(
    meta: &Meta,
    options: &mut StepOptions,
    seen: &mut Vec<(String, Span)>,
    errors: &mut Errors,
) {
    let path = meta.path();
    let name = path
        .get_ident()
        .map_or_else(|| quote::quote!(#path).to_string(), ToString::to_string);
    let value = match meta {
        Meta::NameValue(pair) => Some(&pair.value),
        _ => None,
    };
    if !diag::STEP_OPTIONS.contains(&name.as_str()) {
        errors.push(path.span(), diag::unknown_step_option(&name));
        return;
    }
    if let Some((_, first)) = seen.iter().find(|(seen, _)| *seen == name) {
        errors.push(*first, diag::duplicate_arg(&name));
        errors.push(path.span(), diag::duplicate_arg(&name));
        return;
    }
    seen.push((name.clone(), path.span()));
    let span = value.map_or_else(|| meta.span(), Spanned::span);
    match name.as_str() {
        "retry" => match value.and_then(int_literal) {
            Some(retry) => {
                options.retry = Some(retry);
                options.retry_span = Some(path.span());
            }
            None => errors.push(span, diag::bad_retry()),
        },
        _ => match value.and_then(duration_literal) {
            Some(duration) => match name.as_str() {
                "backoff" => options.backoff = Some(duration),
                "max_backoff" => options.max_backoff = Some(duration),
                _ => options.timeout = Some(duration),
            },
            None => errors.push(span, diag::bad_duration(&name)),
        },
    }
}

fn int_literal(expr: &Expr) -> Option<u32> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Int(int), ..
        }) => int.base10_parse().ok(),
        _ => None,
    }
}

fn duration_literal(expr: &Expr) -> Option<Duration> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(text),
            ..
        }) => parse_duration(&text.value()),
        _ => None,
    }
}

/// Parses `"250ms"`, `"30s"`, `"2m"`, `"1h"` or `"7d"`.
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let digits = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(digits);
    let number: u64 = number.parse().ok()?;
    let millis = match unit.trim() {
        "ms" => Some(number),
        "s" => number.checked_mul(1_000),
        "m" => number.checked_mul(60_000),
        "h" => number.checked_mul(3_600_000),
        "d" => number.checked_mul(86_400_000),
        _ => None,
    }?;
    Some(Duration::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("7d"), Some(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("30"), None);
        assert_eq!(parse_duration("s"), None);
        assert_eq!(parse_duration("3 days"), None);
        assert_eq!(parse_duration("99999999999999999999h"), None);
    }
}
