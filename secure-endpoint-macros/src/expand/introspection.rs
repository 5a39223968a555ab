//! `impl SecureHandler`: what the route table, the OpenAPI document and the scanner read
//! about the handler without calling it: its name, its policy, the proof that an
//! attribute declared it, the principals it asks for, its types' schemas and their
//! guarded keys.

use proc_macro2::TokenStream;
use quote::quote;

use super::contains_impl;
use crate::check::{Fill, Plan};

pub fn secure_handler_impl(plan: &Plan<'_>) -> TokenStream {
    let private = quote!(::secure_endpoint::__private);
    let ident = plan.handler.ident();
    let name = ident.to_string();
    let policy = super::policy::policy_expr(&plan.policy);
    let schemas = schemas(plan);
    let guarded_keys = guarded_keys(plan);
    quote! {
        impl #private::SecureHandler for #ident {
            const NAME: &'static str = #name;
            const POLICY: &'static #private::Policy = &#policy;
            #[doc(hidden)]
            #[allow(deprecated)]
            const DECISION: #private::Decision = #private::Decision::declared_by_attribute();

            fn requested_principals() -> ::std::vec::Vec<(::core::any::TypeId, &'static str)> {
                #ident::__requested_principals()
            }

            #schemas

            #guarded_keys
        }
    }
}

/// The JSON Schemas of the validated body and query, of the path's key (a loaded
/// resource's, or an extractor's path parameter), and of the answer.
fn schemas(plan: &Plan<'_>) -> TokenStream {
    let private = quote!(::secure_endpoint::__private);
    let probe = |ty: Option<&syn::Type>| match ty {
        Some(ty) => {
            quote!((&#private::SchemaProbe::<#private::schema_role::Body, #ty>::new()).schema())
        }
        None => quote!(::core::option::Option::None),
    };
    let body_schema = probe(plan.params.iter().find_map(|fill| match fill {
        Fill::Body { ty, .. } => Some(*ty),
        _ => None,
    }));
    let body_form = plan.params.iter().any(|fill| {
        matches!(
            fill,
            Fill::Body {
                wrapper: Some("Form"),
                ..
            }
        )
    });
    // The validated query, or the query a list's `Collection` validates.
    let query_schema = match plan.params.iter().find_map(|fill| match fill {
        Fill::Query { ty, .. } => Some(*ty),
        _ => None,
    }) {
        Some(ty) => probe(Some(ty)),
        None => match plan.params.iter().find_map(|fill| match fill {
            Fill::Collection { item, .. } => Some(*item),
            _ => None,
        }) {
            Some(item) => {
                quote!((&#private::SchemaProbe::<#private::schema_role::Body, <#item as ::secure_endpoint::Collection>::Query>::new()).schema())
            }
            None => probe(None),
        },
    };
    let keys: Vec<TokenStream> = plan
        .params
        .iter()
        .zip(&plan.handler.params)
        .filter_map(|(fill, param)| {
            let ty = &param.ty;
            match fill {
                Fill::Resource { .. } => {
                    Some(quote!((&#private::SchemaProbe::<#private::schema_role::Key, #ty>::new()).schema()))
                }
                Fill::Parts | Fill::Request => {
                    Some(quote!((&#private::SchemaProbe::<#private::schema_role::PathParameter, #ty>::new()).schema()))
                }
                _ => None,
            }
        })
        .collect();
    let key_schema = match keys.as_slice() {
        [] => quote!(::core::option::Option::None),
        [one] => one.clone(),
        _ => quote!(#private::path_keys(::std::vec![#(#keys),*])),
    };
    let answer_schema = match &plan.handler.sig.output {
        syn::ReturnType::Type(_, ret) if !contains_impl(ret) => {
            quote!((&#private::SchemaProbe::<#private::schema_role::Answer, #ret>::new()).schema())
        }
        _ => quote!(::core::option::Option::None),
    };
    quote! {
        #[allow(unused_imports)]
        fn schemas() -> #private::Schemas {
            use #private::{WithSchema as _, WithoutSchema as _};
            #private::Schemas {
                body: #body_schema,
                body_form: #body_form,
                query: #query_schema,
                path_key: #key_schema,
                response: #answer_schema,
            }
        }
    }
}

/// The guarded keys of the validated body and of the answer.
fn guarded_keys(plan: &Plan<'_>) -> TokenStream {
    let private = quote!(::secure_endpoint::__private);
    let body = plan
        .params
        .iter()
        .find_map(|fill| match fill {
            Fill::Body { ty, .. } => Some(quote!((&#private::BodyProbe::<#ty>::new()).keys())),
            _ => None,
        })
        .unwrap_or_else(|| quote!(&[]));
    let response = match &plan.handler.sig.output {
        syn::ReturnType::Type(_, ret) if !contains_impl(ret) => {
            quote!((&#private::ReturnProbe::<#ret>::new()).keys())
        }
        _ => quote!(&[]),
    };
    quote! {
        #[allow(unused_imports)]
        fn guarded_keys() -> #private::Guards {
            use #private::{BodyGuarded as _, BodyPlain as _, ReturnGuarded as _, ReturnPlain as _};
            #private::Guards { body: #body, response: #response }
        }
    }
}
