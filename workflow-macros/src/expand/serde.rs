//! `Serialize` and `Deserialize` for the state enum, written out so that a step type that is not
//! serializable is reported at that type, in the step's signature.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::state::{phantom_arm, state_generics};
use super::{local, private, Variant};
use crate::model::Model;

pub(super) fn state_serde(model: &Model) -> TokenStream {
    let krate = &model.krate;
    let state = &model.state;
    let generics = state_generics(model);
    let (impl_generics, ty_generics, _) = generics.split_for_impl();
    let data = data_bounds(model);
    let bounds = quote!(where #(#data),*);
    let state_name = state.to_string();
    let variants = super::variants(model);
    let names: Vec<&String> = variants.iter().map(|variant| &variant.tag).collect();
    let [serializer, deserializer, value] = ["serializer", "deserializer", "value"].map(local);
    let [variant_access, index_var] = ["variant", "index"].map(local);
    let serialize_arms = variants.iter().enumerate().map(
        |(
            index,
            Variant {
                ident, tag: name, ..
            },
        )| {
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            quote! {
                #state::#ident(#value) => #krate::__private::StepData::serialize_variant(
                    #value, #serializer, #state_name, #index, #name,
                ),
            }
        },
    );
    let deserialize_arms = variants
        .iter()
        .enumerate()
        .map(|(index, Variant { ident, ty, .. })| {
            quote! {
                #index => <#ty as #krate::__private::StepData>::deserialize_variant(#variant_access)
                    .map(#state::#ident),
            }
        });
    let phantom = phantom_arm(model, true);
    let mut de_generics = generics.clone();
    de_generics.params.insert(0, syn::parse_quote!('de));
    let (de_impl_generics, _, _) = de_generics.split_for_impl();
    quote! {
            impl #impl_generics #krate::__private::serde::Serialize for #state #ty_generics #bounds {
                fn serialize<__S>(&self, #serializer: __S) -> ::core::result::Result<__S::Ok, __S::Error>
                where
                    __S: #krate::__private::serde::Serializer,
                {
                    match self {
                        #(#serialize_arms)*
                        #phantom
                    }
                }
            }

            impl #de_impl_generics #krate::__private::serde::Deserialize<'de> for #state #ty_generics #bounds {
                fn deserialize<__D>(#deserializer: __D) -> ::core::result::Result<Self, __D::Error>
                where
                    __D: #krate::__private::serde::Deserializer<'de>,
                {
                    #krate::__private::deserialize_state(#deserializer)
                }
            }

            impl #impl_generics #krate::__private::StateEnum for #state #ty_generics #bounds {
                const NAME: &'static str = #state_name;
                const VARIANTS: &'static [&'static str] = &[#(#names),*];

                fn deserialize_variant<'de, __A>(#index_var: usize, #variant_access: __A) -> ::core::result::Result<Self, __A::Error>
                where
                    __A: #krate::__private::serde::de::VariantAccess<'de>,
                {
                    match #index_var {
                        #(#deserialize_arms)*
                        _ => ::core::result::Result::Err(
                            <__A::Error as #krate::__private::serde::de::Error>::custom("unknown state variant"),
                        ),
                    }
                }
            }
    }
}

/// `where T: StepData` for every type stored in the state, spanned at the type as written. Each
/// type once. A type that names nothing the impl is generic over is only assumed here
/// (`for<'_> T: StepData`, which rustc does not check where it is written) and checked by
/// [`data_checks`], once, at the type in the step's signature.
pub(super) fn data_bounds(model: &Model) -> Vec<TokenStream> {
    stored_types(model)
        .into_iter()
        .map(|ty| {
            let data = private(model, "StepData", ty.span());
            if mentions_generics(model, &ty) {
                quote_spanned!(ty.span()=> #ty: #data)
            } else {
                quote_spanned!(ty.span()=> for<'__workflow> #ty: #data)
            }
        })
        .collect()
}

/// The checks that each type stored in the state which names none of the impl's generics is
/// `StepData`, each placed at the type: statements for a `const` block. The state of a fork,
/// a type of ours, is checked through its parts: the input of its branches (as their step
/// takes it) and their outputs.
pub(super) fn data_checks(model: &Model) -> TokenStream {
    let krate = &model.krate;
    let key = |ty: &syn::Type| quote!(#ty).to_string();
    let forks: Vec<String> = (0..model.forks.len())
        .map(|index| key(&super::fork::state_type(model, index)))
        .collect();
    let mut types: Vec<syn::Type> = stored_types(model)
        .into_iter()
        .filter(|ty| !forks.contains(&key(ty)))
        .collect();
    for fork in &model.forks {
        let Some(crate::model::Node::Step(step)) = fork.branches.first().map(|b| b.to) else {
            continue;
        };
        let input = &model.steps[step].sig.input;
        if !types.iter().any(|ty| key(ty) == key(input)) {
            types.push(input.clone());
        }
    }
    let checks = types
        .into_iter()
        .filter(|ty| !mentions_generics(model, ty))
        .map(|ty| {
            let data = private(model, "StepData", ty.span());
            quote_spanned! {ty.span()=>
                let _ = <#ty as #data>::serialize_value::<#krate::__private::serde_json::value::Serializer>;
            }
        });
    quote!(#(#checks)*)
}

/// Every type stored in the state, each once, in order.
fn stored_types(model: &Model) -> Vec<syn::Type> {
    let mut seen = Vec::new();
    let mut types = Vec::new();
    for ty in super::variants(model)
        .into_iter()
        .flat_map(|variant| variant.parts)
    {
        let key = quote!(#ty).to_string();
        if !seen.contains(&key) {
            seen.push(key);
            types.push(ty);
        }
    }
    types
}

/// Whether `ty` names a parameter the impl is generic over, `Self`, or a lifetime other than
/// `'static`.
fn mentions_generics(model: &Model, ty: &syn::Type) -> bool {
    fn names(tokens: TokenStream, generic: &[String]) -> bool {
        tokens.into_iter().any(|token| match token {
            proc_macro2::TokenTree::Ident(ident) => generic.contains(&ident.to_string()),
            proc_macro2::TokenTree::Group(group) => names(group.stream(), generic),
            proc_macro2::TokenTree::Punct(_) | proc_macro2::TokenTree::Literal(_) => false,
        })
    }
    let mut generic: Vec<String> = model
        .generics
        .params
        .iter()
        .map(|param| match param {
            syn::GenericParam::Lifetime(param) => param.lifetime.ident.to_string(),
            syn::GenericParam::Type(param) => param.ident.to_string(),
            syn::GenericParam::Const(param) => param.ident.to_string(),
        })
        .collect();
    generic.push("Self".to_owned());
    let text = quote!(#ty).to_string().replace("'static", "");
    text.contains('\'') || names(quote!(#ty), &generic)
}

/// The impl's own where clause plus [`data_bounds`], for `impl Workflow`: the state is only
/// serializable under those bounds, and repeating them keeps a missing impl from being reported
/// a second time there.
///
/// Also, for a workflow without generics, `for<'_> Self: WorkflowSync`, which rustc assumes
/// without checking it there: a workflow that is not `Send + Sync` is reported once, by the
/// check `expand` adds, and not by each impl.
pub(crate) fn workflow_bounds(model: &Model) -> TokenStream {
    let mut data = data_bounds(model);
    // Only without generics: for a generic workflow, the bound is not trivial (and a
    // higher-ranked one confuses rustc's proofs that the transition's future is `Send`).
    if model.generics.params.is_empty() {
        let self_ty = &model.self_ty;
        let sync = private(model, "WorkflowSync", self_ty.span());
        data.push(quote_spanned!(self_ty.span()=> for<'__workflow> #self_ty: #sync));
    }
    let Some(clause) = &model.generics.where_clause else {
        return quote!(where #(#data),*);
    };
    let predicates = clause.predicates.iter();
    quote!(where #(#predicates,)* #(#data),*)
}
