//! `#[derive(Guarded)]`: parse the struct and its `#[guarded(...)]` and `#[serde(...)]`
//! field attributes, check them, expand the `Guarded` impl. Each mistake is reported on
//! its own token, all at once.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, Ident, LitStr};

use crate::ctxt::Ctxt;

/// One field's guard, as written.
struct Guard {
    role: Option<LitStr>,
    owner: Option<(LitStr, Ident)>,
}

/// One field, with what serde makes of it.
struct Field<'a> {
    ident: &'a Ident,
    /// Its key in the serialized object.
    key: String,
    skipped: bool,
    flattened: bool,
    /// Serialized by a function of the application's: its shape is not the type's.
    custom: bool,
    guard: Option<Guard>,
    span: Span,
}

/// Container attributes that move fields where the derive cannot follow them.
const UNSUPPORTED_CONTAINER: &[&str] = &[
    "tag",
    "untagged",
    "content",
    "transparent",
    "into",
    "remote",
];

pub fn derive(input: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(input) => input,
        Err(error) => return error.to_compile_error(),
    };
    let mut cx = Ctxt::default();
    let fields = parse(&mut cx, &input);
    match cx.check() {
        Ok(()) => expand(&input, &fields),
        Err(errors) => errors.to_compile_error(),
    }
}

fn parse<'a>(cx: &mut Ctxt, input: &'a DeriveInput) -> Vec<Field<'a>> {
    let named = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(named) => Some(named),
            _ => None,
        },
        _ => None,
    };
    let Some(named) = named else {
        cx.error_spanned_by(
            &input.ident,
            "`Guarded` derives only on a struct with named fields, since its guards name fields: put the guarded data in a struct such as `struct Account { email: String }`",
        );
        return Vec::new();
    };
    if let Some(param) = input.generics.type_params().next() {
        cx.error_spanned_by(
            &param.ident,
            format!(
                "`Guarded` does not derive on a struct with a type parameter: a field of type `{}` could hold guarded values the derive cannot see, and they would be sent to everyone; derive it on a concrete struct, e.g. `struct AccountPage {{ items: Vec<Account>, next: Option<u64> }}`",
                param.ident
            ),
        );
        return Vec::new();
    }
    let mut rename_all: Option<LitStr> = None;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename_all") {
                if meta.input.peek(syn::Token![=]) {
                    rename_all = Some(meta.value()?.parse()?);
                } else {
                    meta.parse_nested_meta(|inner| {
                        if inner.path.is_ident("serialize") {
                            rename_all = Some(inner.value()?.parse()?);
                        } else {
                            let _: LitStr = inner.value()?.parse()?;
                        }
                        Ok(())
                    })?;
                }
                return Ok(());
            }
            if let Some(name) = UNSUPPORTED_CONTAINER.iter().find(|n| meta.path.is_ident(n)) {
                cx.error_spanned_by(
                    &meta.path,
                    format!(
                        "`Guarded` cannot follow `#[serde({name})]`, which moves the fields it guards: serialize a struct of plain fields, or leave the guard out"
                    ),
                );
            }
            skip_value(&meta)
        });
        if let Err(error) = parsed {
            cx.push(error);
        }
    }
    // An unknown rule is serde's own error on the same token; one report is enough.
    let rule = rename_all
        .as_ref()
        .and_then(|lit| RenameRule::from_str(&lit.value()));
    let names: Vec<String> = named
        .named
        .iter()
        .filter_map(|f| f.ident.as_ref().map(unraw))
        .collect();
    let mut fields = Vec::new();
    for field in &named.named {
        let Some(ident) = &field.ident else { continue };
        let mut parsed = Field {
            ident,
            key: rule.map_or_else(|| unraw(ident), |rule| rule.apply(&unraw(ident))),
            skipped: false,
            flattened: false,
            custom: false,
            guard: None,
            span: field.span(),
        };
        for attr in &field.attrs {
            if attr.path().is_ident("serde") {
                let result = attr.parse_nested_meta(|meta| {
                    if meta.path.is_ident("rename") {
                        if meta.input.peek(syn::Token![=]) {
                            parsed.key = meta.value()?.parse::<LitStr>()?.value();
                        } else {
                            meta.parse_nested_meta(|inner| {
                                let value: LitStr = inner.value()?.parse()?;
                                if inner.path.is_ident("serialize") {
                                    parsed.key = value.value();
                                }
                                Ok(())
                            })?;
                        }
                        return Ok(());
                    }
                    if meta.path.is_ident("skip") || meta.path.is_ident("skip_serializing") {
                        parsed.skipped = true;
                    } else if meta.path.is_ident("flatten") {
                        parsed.flattened = true;
                    } else if meta.path.is_ident("serialize_with") || meta.path.is_ident("with") {
                        parsed.custom = true;
                    }
                    skip_value(&meta)
                });
                if let Err(error) = result {
                    cx.push(error);
                }
            } else if attr.path().is_ident("guarded") {
                if parsed.guard.is_some() {
                    cx.error_spanned_by(
                        attr,
                        "`#[guarded(...)]` given twice on this field: put every argument in one",
                    );
                    continue;
                }
                parsed.guard = parse_guard(cx, attr, &names);
            }
        }
        if parsed.guard.is_some() && parsed.flattened {
            cx.error_spanned_by(
                ident,
                "a guarded field cannot be `#[serde(flatten)]`: its keys would be the inner struct's; guard the inner struct's fields instead",
            );
        }
        if parsed.guard.is_some() && parsed.custom {
            cx.error_spanned_by(
                ident,
                "a guarded field cannot be serialized with `serialize_with`/`with`: the guard could not tell what it writes; remove the custom serializer from this field, or guard a plain field that holds the serialized form",
            );
        }
        fields.push(parsed);
    }
    fields
}

/// Consumes the value of an argument the derive does not read (`= …` or `(…)`).
fn skip_value(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        let _: syn::Expr = meta.value()?.parse()?;
    } else if meta.input.peek(syn::token::Paren) {
        let _: TokenStream = {
            let content;
            syn::parenthesized!(content in meta.input);
            content.parse()?
        };
    }
    Ok(())
}

fn parse_guard(cx: &mut Ctxt, attr: &syn::Attribute, names: &[String]) -> Option<Guard> {
    let mut guard = Guard {
        role: None,
        owner: None,
    };
    let mut reported = false;
    let result = attr.parse_nested_meta(|meta| {
        if meta.path.is_ident("role") {
            let lit: LitStr = meta.value()?.parse()?;
            if guard.role.is_some() {
                reported = true;
                cx.error_spanned_by(
                    &meta.path,
                    "`role` given twice in one `#[guarded]`: a field takes one role, keep one",
                );
            } else if lit.value().trim().is_empty() {
                reported = true;
                cx.error_spanned_by(
                    &lit,
                    "`role` cannot be empty: name the role that may see or write this field, e.g. `role = \"admin\"`",
                );
            } else {
                guard.role = Some(lit);
            }
            return Ok(());
        }
        if meta.path.is_ident("owner") {
            let lit: LitStr = meta.value()?.parse()?;
            if guard.owner.is_some() {
                reported = true;
                cx.error_spanned_by(
                    &meta.path,
                    "`owner` given twice in one `#[guarded]`: a field has one owner field, keep one",
                );
                return Ok(());
            }
            let name = lit.value();
            if !names.contains(&name) {
                reported = true;
                cx.error_spanned_by(
                    &lit,
                    format!(
                        "`owner` names the field `{name}`, but the struct has no field of that name: the available fields are {}",
                        names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                    ),
                );
                return Ok(());
            }
            guard.owner = Some((lit.clone(), Ident::new(&name, lit.span())));
            return Ok(());
        }
        let name = meta
            .path
            .get_ident()
            .map_or_else(String::new, ToString::to_string);
        let hint = match name.as_str() {
            "roles" | "rol" | "rolle" => ": did you mean `role`?",
            "owners" | "own" | "ownr" => ": did you mean `owner`?",
            _ => "; `guarded` takes `role = \"…\"` and `owner = \"field\"`",
        };
        reported = true;
        cx.error_spanned_by(&meta.path, format!("unknown `guarded` argument `{name}`{hint}"));
        skip_value(&meta)
    });
    if let Err(error) = result {
        cx.push(error);
        return None;
    }
    if reported {
        return None;
    }
    if guard.role.is_none() && guard.owner.is_none() {
        cx.error_spanned_by(
            attr,
            "`#[guarded]` needs `role = \"…\"`, `owner = \"field\"`, or both",
        );
        return None;
    }
    Some(guard)
}

fn expand(input: &DeriveInput, fields: &[Field<'_>]) -> TokenStream {
    let private = quote!(::secure_endpoint::__private);
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let mut flattened = Vec::new();
    let mut redactions = Vec::new();
    let mut writes = Vec::new();
    let mut keys = Vec::new();
    let mut serialized = Vec::new();
    for field in fields.iter().filter(|f| !f.skipped) {
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
        match &field.guard {
            Some(guard) => {
                let role = match &guard.role {
                    Some(role) => quote!(::core::option::Option::Some(#role)),
                    None => quote!(::core::option::Option::None),
                };
                let owner = match &guard.owner {
                    Some((lit, _)) => quote!(::core::option::Option::Some(#lit)),
                    None => quote!(::core::option::Option::None),
                };
                keys.push(quote! {
                    #private::GuardedKey { key: #key, role: #role, owner: #owner }
                });
                let may_read = match (&guard.owner, &guard.role) {
                    (Some((_, owner)), Some(role)) => {
                        quote!(viewer.owns(&self.#owner) || viewer.has_role(#role))
                    }
                    (Some((_, owner)), None) => quote!(viewer.owns(&self.#owner)),
                    (None, Some(role)) => quote!(viewer.has_role(#role)),
                    (None, None) => quote!(true),
                };
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
                if let (None, Some(role)) = (&guard.owner, &guard.role) {
                    let field_name = name.to_string();
                    writes.push(quote_spanned! {field.span=>
                        if (&#private::Field(&self.#name)).is_sent() && !viewer.has_role(#role) {
                            return ::core::option::Option::Some(#field_name);
                        }
                    });
                }
            }
            None if field.custom => {}
            None if field.flattened => {
                flattened.push(quote! {
                    (&#private::Nested(&self.#name)).redact_nested(value, viewer);
                });
                writes.push(quote! {
                    if let ::core::option::Option::Some(field) = (&#private::Nested(&self.#name)).write_nested(viewer) {
                        return ::core::option::Option::Some(field);
                    }
                });
            }
            None => {
                redactions.push(redact_nested);
                serialized.push(quote! {
                    #key => #serialize_nested,
                });
                writes.push(quote! {
                    if let ::core::option::Option::Some(field) = (&#private::Nested(&self.#name)).write_nested(viewer) {
                        return ::core::option::Option::Some(field);
                    }
                });
            }
        }
    }
    // serde writes a struct with a flattened field as a map, whose keys arrive as values:
    // that one is filtered as a `Value`, every other one field by field as it is written.
    let serialize = if fields.iter().any(|f| f.flattened) {
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

fn unraw(ident: &Ident) -> String {
    let name = ident.to_string();
    name.strip_prefix("r#").map_or(name.clone(), str::to_owned)
}

/// serde's `rename_all` rules, applied to a field name in snake case.
#[derive(Clone, Copy)]
enum RenameRule {
    Lower,
    Upper,
    Pascal,
    Camel,
    Snake,
    ScreamingSnake,
    Kebab,
    ScreamingKebab,
}

impl RenameRule {
    fn from_str(rule: &str) -> Option<Self> {
        Some(match rule {
            "lowercase" => RenameRule::Lower,
            "UPPERCASE" => RenameRule::Upper,
            "PascalCase" => RenameRule::Pascal,
            "camelCase" => RenameRule::Camel,
            "snake_case" => RenameRule::Snake,
            "SCREAMING_SNAKE_CASE" => RenameRule::ScreamingSnake,
            "kebab-case" => RenameRule::Kebab,
            "SCREAMING-KEBAB-CASE" => RenameRule::ScreamingKebab,
            _ => return None,
        })
    }

    fn apply(self, field: &str) -> String {
        match self {
            RenameRule::Lower | RenameRule::Snake => field.to_owned(),
            RenameRule::Upper | RenameRule::ScreamingSnake => field.to_ascii_uppercase(),
            RenameRule::Pascal | RenameRule::Camel => {
                let mut out = String::new();
                let mut capital = matches!(self, RenameRule::Pascal);
                for c in field.chars() {
                    if c == '_' {
                        capital = true;
                    } else if capital {
                        out.push(c.to_ascii_uppercase());
                        capital = false;
                    } else {
                        out.push(c);
                    }
                }
                out
            }
            RenameRule::Kebab => field.replace('_', "-"),
            RenameRule::ScreamingKebab => field.replace('_', "-").to_ascii_uppercase(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RenameRule;

    #[test]
    fn rename_rules_are_serdes() {
        let cases = [
            ("camelCase", "user_id", "userId"),
            ("PascalCase", "user_id", "UserId"),
            ("kebab-case", "user_id", "user-id"),
            ("SCREAMING_SNAKE_CASE", "user_id", "USER_ID"),
            ("SCREAMING-KEBAB-CASE", "user_id", "USER-ID"),
            ("lowercase", "user_id", "user_id"),
        ];
        for (rule, field, want) in cases {
            assert_eq!(
                RenameRule::from_str(rule).unwrap().apply(field),
                want,
                "{rule}"
            );
        }
    }
}
