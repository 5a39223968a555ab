//! `#[derive(Entity)]`: what a permission engine reads of a struct, for the plain case.
//! The type's name is the struct's (or `#[entity(type = "…")]`), the id is the field
//! marked `#[entity(id)]` (or the field named `id`), and the attributes are the struct as
//! serde serializes it: the derive needs `serde::Serialize` beside it.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Fields, LitStr};

use crate::ctxt::Ctxt;

pub fn derive(input: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(input) => input,
        Err(error) => return error.to_compile_error(),
    };
    let mut cx = Ctxt::default();
    let type_name = type_name(&mut cx, &input);
    let id = id_field(&mut cx, &input);
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let private = quote!(::secure_endpoint::__private);
    match (cx.check(), id) {
        (Ok(()), Some(id)) => quote! {
            impl #impl_generics #private::Entity for #ident #ty_generics #where_clause {
                const TYPE: &'static str = #type_name;

                fn entity_id(&self) -> ::std::string::String {
                    ::std::string::ToString::to_string(&self.#id)
                }

                fn attributes(&self) -> #private::Map<::std::string::String, #private::Value> {
                    #private::entity_attributes(self)
                }
            }
        },
        (Err(errors), _) => errors.to_compile_error(),
        (Ok(()), None) => quote!(),
    }
}

/// `#[entity(type = "…")]` on the struct, else its name.
fn type_name(cx: &mut Ctxt, input: &DeriveInput) -> String {
    let mut name = input.ident.to_string();
    for attr in input
        .attrs
        .iter()
        .filter(|attr| attr.path().is_ident("entity"))
    {
        let parsed = attr.parse_nested_meta(|meta| {
            if !meta.path.is_ident("type") {
                return Err(meta.error(
                    "`#[entity(...)]` on the struct takes only `type = \"…\"`, the type's name in the engine's schema",
                ));
            }
            let lit: LitStr = meta.value()?.parse()?;
            if lit.value().is_empty() || lit.value().contains(char::is_whitespace) {
                return Err(syn::Error::new_spanned(
                    &lit,
                    "a type's name is not empty and has no spaces, e.g. `type = \"Post\"`",
                ));
            }
            name = lit.value();
            Ok(())
        });
        if let Err(error) = parsed {
            cx.push(error);
        }
    }
    name
}

/// The field marked `#[entity(id)]`, else the one named `id`.
fn id_field(cx: &mut Ctxt, input: &DeriveInput) -> Option<syn::Ident> {
    let Data::Struct(data) = &input.data else {
        cx.error_spanned_by(
            &input.ident,
            "`Entity` is derived on a struct with named fields; implement `secure_endpoint::Entity` by hand for anything else",
        );
        return None;
    };
    let Fields::Named(fields) = &data.fields else {
        cx.error_spanned_by(
            &input.ident,
            "`Entity` is derived on a struct with named fields; implement `secure_endpoint::Entity` by hand for anything else",
        );
        return None;
    };
    let mut marked = Vec::new();
    for field in &fields.named {
        for attr in field
            .attrs
            .iter()
            .filter(|attr| attr.path().is_ident("entity"))
        {
            let parsed = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("id") {
                    marked.push(field.ident.clone().expect("a named field"));
                    Ok(())
                } else {
                    Err(meta.error("`#[entity(...)]` on a field takes only `id`"))
                }
            });
            if let Err(error) = parsed {
                cx.push(error);
            }
        }
    }
    match marked.as_slice() {
        [one] => Some(one.clone()),
        [] => {
            let named_id = fields
                .named
                .iter()
                .filter_map(|field| field.ident.clone())
                .find(|ident| ident == "id");
            if named_id.is_none() {
                cx.error_spanned_by(
                    &input.ident,
                    "which field is the id? Mark it `#[entity(id)]`, or name it `id`",
                );
            }
            named_id
        }
        [_, second, ..] => {
            cx.error_spanned_by(second, "a second `#[entity(id)]`: an entity has one id");
            None
        }
    }
}
