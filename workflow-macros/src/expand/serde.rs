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

/// `where T: StepData` for every type stored in the state, spanned at the type as written, so a
/// type that is not serializable is reported in the step's signature. Each type once.
pub(super) fn data_bounds(model: &Model) -> Vec<TokenStream> {
    let mut seen = Vec::new();
    let mut predicates = Vec::new();
    for ty in super::variants(model)
        .into_iter()
        .flat_map(|variant| variant.parts)
    {
        let key = quote!(#ty).to_string();
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let data = private(model, "StepData", ty.span());
        predicates.push(quote_spanned!(ty.span()=> #ty: #data));
    }
    predicates
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
