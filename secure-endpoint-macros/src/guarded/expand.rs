//! The `Guarded` impl of a checked struct: which fields a viewer may read (left out of
//! its answer otherwise), which ones a writer may not send, and the one-pass serializer
//! that writes a struct for its viewer.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::Ident;

use super::ast::Container;

pub fn expand(container: &Container<'_>) -> TokenStream {
    let private = quote!(::secure_endpoint::__private);
    let ident = container.ident;
    // A type parameter may hold guarded values: the impl holds where each parameter is
    // `Guarded` and the struct is `Serialize` (for the answers it is written in), so a
    // field of that type is walked, never written plainly.
    let mut generics = container.generics.clone();
    if generics.type_params().next().is_some() {
        let params: Vec<Ident> = generics.type_params().map(|p| p.ident.clone()).collect();
        let (_, ty, _) = container.generics.split_for_impl();
        let clause = generics.make_where_clause();
        for param in &params {
            clause
                .predicates
                .push(syn::parse_quote!(#param: ::secure_endpoint::Guarded));
        }
        clause
            .predicates
            .push(syn::parse_quote!(#ident #ty: #private::Serialize));
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let mut flattened = Vec::new();
    let mut redactions = Vec::new();
    let mut writes = Vec::new();
    let mut keys = Vec::new();
    let mut serialized = Vec::new();
    for field in container.fields.iter().filter(|f| !f.skipped) {
        let name = field.ident;
        let key = &field.key;
        // A nested guarded value in this field, redacted or written for the caller.
        let redact_nested = quote! {
            if let ::core::option::Option::Some(nested) = object.get_mut(#key) {
                (&#private::Nested(&self.#name)).redact_nested(nested, viewer);
            }
        };
        let serialize_nested = quote! {
            (&#private::Nested(&self.#name)).serialize_nested(key, state, viewer)
        };
        let write_nested = quote! {
            if let ::core::option::Option::Some(field) = (&#private::Nested(&self.#name)).write_nested(viewer) {
                return ::core::option::Option::Some(field);
            }
        };
        match &field.guard {
            Some(guard) => {
                let role = match &guard.role {
                    Some(role) => quote!(::core::option::Option::Some(#role)),
                    None => quote!(::core::option::Option::None),
                };
                let owner = match &guard.owner {
                    Some(lit) => quote!(::core::option::Option::Some(#lit)),
                    None => quote!(::core::option::Option::None),
                };
                keys.push(quote! {
                    #private::GuardedKey { key: #key, role: #role, owner: #owner }
                });
                // Never empty: a guard has an owner or a role (`ast`), and the owner
                // names a field (`check`).
                let owns = guard.owner.iter().map(|lit| {
                    let owner = Ident::new(&lit.value(), lit.span());
                    quote!(viewer.owns(&self.#owner))
                });
                let has_role = guard.role.iter().map(|role| quote!(viewer.has_role(#role)));
                let tests: Vec<_> = owns.chain(has_role).collect();
                let may_read = quote!(#(#tests)||*);
                redactions.push(quote_spanned! {field.span=>
                    if #may_read {
                        #redact_nested
                    } else {
                        object.remove(#key);
                    }
                });
                serialized.push(quote_spanned! {field.span=>
                    #key => if #may_read {
                        #serialize_nested
                    } else {
                        ::core::result::Result::Ok(#private::FieldFor::Hidden)
                    },
                });
                // A role guards writes too, beside an owner or not: the body's owner
                // field is the writer's own input and cannot authorise a write.
                if let Some(role) = &guard.role {
                    let field_name = name.to_string();
                    writes.push(quote_spanned! {field.span=>
                        if (&#private::Field(&self.#name)).is_sent() && !viewer.has_role(#role) {
                            return ::core::option::Option::Some(#field_name);
                        }
                    });
                }
                // What the writer may write here may hold guarded values of its own.
                writes.push(write_nested);
            }
            None if field.custom => {}
            None if field.flattened => {
                flattened.push(quote! {
                    (&#private::Nested(&self.#name)).redact_nested(value, viewer);
                });
                writes.push(write_nested);
            }
            None => {
                redactions.push(redact_nested);
                serialized.push(quote! {
                    #key => #serialize_nested,
                });
                writes.push(write_nested);
            }
        }
    }
    // serde writes a struct with a flattened field as a map, whose keys arrive as values:
    // that one is filtered as a `Value`, every other one field by field as it is written.
    let serialize = if container.fields.iter().any(|f| f.flattened) {
        quote!(serialize_through_value)
    } else {
        quote!(serialize_fields)
    };
    quote! {
        impl #impl_generics ::secure_endpoint::Guarded for #ident #ty_generics #where_clause {
            const KEYS: &'static [#private::GuardedKey] = &[#(#keys),*];

            #[allow(unused_imports)]
            fn redact(&self, value: &mut #private::Value, viewer: &#private::Viewer<'_>) {
                use #private::{NestedGuarded as _, NestedPlain as _};
                #(#flattened)*
                let ::core::option::Option::Some(object) = value.as_object_mut() else {
                    return;
                };
                let _ = &object;
                #(#redactions)*
            }

            #[allow(unused_imports)]
            fn forbidden_write(&self, viewer: &#private::Viewer<'_>) -> ::core::option::Option<&'static str> {
                use #private::{AnyField as _, NestedGuarded as _, NestedPlain as _, OptionalField as _};
                let _ = viewer;
                #(#writes)*
                ::core::option::Option::None
            }

            #[allow(unused_imports)]
            fn serialize_for<__S: #private::Serializer>(
                &self,
                viewer: &#private::Viewer<'_>,
                serializer: __S,
            ) -> ::core::result::Result<__S::Ok, __S::Error> {
                use #private::{SerializeKnown as _, SerializeUnknown as _};
                (&#private::SerializeProbe(self)).#serialize(viewer, serializer)
            }

            #[allow(unused_imports, unreachable_patterns)]
            fn field_for<__S: #private::SerializeStruct>(
                &self,
                key: &'static str,
                state: &mut __S,
                viewer: &#private::Viewer<'_>,
            ) -> ::core::result::Result<#private::FieldFor, __S::Error> {
                use #private::{NestedGuarded as _, NestedPlain as _};
                let _ = (&state, viewer);
                match key {
                    #(#serialized)*
                    _ => ::core::result::Result::Ok(#private::FieldFor::Plain),
                }
            }
        }
    }
}
