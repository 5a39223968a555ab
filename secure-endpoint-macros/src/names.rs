//! `#[derive(Role)]` and `#[derive(Scope)]`: an enum whose unit variants name the roles
//! (or scopes) tokens carry, so that `role = Role::Admin` is checked by rustc. Each
//! variant's name is its own in snake case (`SuperUser` is `"super_user"`) unless
//! `#[role(rename = "...")]` (`#[scope(rename = "...")]`) gives it.
//!
//! The impl lists the names in the variants' order: the attribute reads a variant's name
//! as `NAMES[Variant as usize]`, so a variant with an explicit discriminant (which would
//! break that order) or with fields (which has no name to give) is refused here.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Fields, LitStr};

use crate::ctxt::Ctxt;

/// Which derive: its attribute's name and the trait it implements.
#[derive(Clone, Copy)]
pub enum Kind {
    Role,
    Scope,
}

impl Kind {
    fn attribute(self) -> &'static str {
        match self {
            Kind::Role => "role",
            Kind::Scope => "scope",
        }
    }

    fn trait_name(self) -> &'static str {
        match self {
            Kind::Role => "RoleNames",
            Kind::Scope => "ScopeNames",
        }
    }
}

pub fn derive(kind: Kind, input: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(input) => input,
        Err(error) => return error.to_compile_error(),
    };
    let mut cx = Ctxt::default();
    let names = names(&mut cx, kind, &input);
    let ident = &input.ident;
    let trait_name = syn::Ident::new(kind.trait_name(), proc_macro2::Span::call_site());
    match cx.check() {
        Ok(()) => {
            let variants = names.iter().map(|(variant, _)| variant);
            let values = names.iter().map(|(_, name)| name);
            let all = names.iter().map(|(_, name)| name);
            quote! {
                impl ::secure_endpoint::__private::#trait_name for #ident {
                    const NAMES: &'static [&'static str] = &[#(#all),*];

                    fn name(&self) -> &'static str {
                        match self {
                            #(#ident::#variants => #values,)*
                        }
                    }
                }
            }
        }
        // The impl stands in beside the errors, so that the attributes naming the type
        // get only these errors, not also an unmet bound.
        Err(errors) => {
            let errors = errors.to_compile_error();
            quote! {
                #errors

                impl ::secure_endpoint::__private::#trait_name for #ident {
                    const NAMES: &'static [&'static str] = &[];

                    fn name(&self) -> &'static str {
                        ""
                    }
                }
            }
        }
    }
}

/// Each variant with its name, in order; every mistake reported on its own token.
fn names(cx: &mut Ctxt, kind: Kind, input: &DeriveInput) -> Vec<(syn::Ident, String)> {
    let attribute = kind.attribute();
    let derive = match kind {
        Kind::Role => "Role",
        Kind::Scope => "Scope",
    };
    let Data::Enum(data) = &input.data else {
        cx.push(syn::Error::new_spanned(
            &input.ident,
            format!(
                "`{derive}` is derived on an enum whose unit variants are the {attribute}s, e.g. `enum {derive} {{ Admin, Editor }}`"
            ),
        ));
        return Vec::new();
    };
    if !input.generics.params.is_empty() {
        cx.push(syn::Error::new_spanned(
            &input.generics,
            format!("a `{derive}` enum takes no generic parameters: its variants are names"),
        ));
    }
    if data.variants.is_empty() {
        cx.push(syn::Error::new_spanned(
            &input.ident,
            format!("a `{derive}` enum needs at least one variant: one per {attribute}"),
        ));
    }
    let mut names: Vec<(syn::Ident, String)> = Vec::new();
    for variant in &data.variants {
        if !matches!(variant.fields, Fields::Unit) {
            cx.push(syn::Error::new_spanned(
                &variant.fields,
                format!(
                    "a {attribute} is a unit variant: remove the fields of `{}`",
                    variant.ident
                ),
            ));
        }
        if let Some((_, discriminant)) = &variant.discriminant {
            cx.push(syn::Error::new_spanned(
                discriminant,
                format!(
                    "a `{derive}` enum's variants take no explicit value: the attribute reads a variant's name by its position; give the name with `#[{attribute}(rename = \"...\")]`"
                ),
            ));
        }
        let name = match rename(cx, attribute, &variant.attrs) {
            Some(name) => name,
            None => snake_case(&variant.ident.to_string()),
        };
        if let Some((other, _)) = names.iter().find(|(_, seen)| *seen == name) {
            cx.push(syn::Error::new_spanned(
                &variant.ident,
                format!(
                    "`{}` names the {attribute} \"{name}\" that `{other}` names already",
                    variant.ident
                ),
            ));
        }
        names.push((variant.ident.clone(), name));
    }
    names
}

/// The variant's `#[role(rename = "...")]`, when it has one.
fn rename(cx: &mut Ctxt, attribute: &str, attrs: &[syn::Attribute]) -> Option<String> {
    let mut renamed = None;
    for attr in attrs.iter().filter(|attr| attr.path().is_ident(attribute)) {
        let parsed = attr.parse_nested_meta(|meta| {
            if !meta.path.is_ident("rename") {
                return Err(meta.error(format!(
                    "`#[{attribute}(...)]` takes only `rename = \"...\"`"
                )));
            }
            let lit: LitStr = meta.value()?.parse()?;
            let name = lit.value();
            if name.trim().is_empty() || name.chars().any(char::is_whitespace) {
                return Err(syn::Error::new_spanned(
                    &lit,
                    format!("a {attribute}'s name is not empty and has no spaces"),
                ));
            }
            renamed = Some(name);
            Ok(())
        });
        if let Err(error) = parsed {
            cx.push(error);
        }
    }
    renamed
}

/// `SuperUser` → `super_user`.
fn snake_case(ident: &str) -> String {
    let mut out = String::with_capacity(ident.len() + 4);
    for (i, c) in ident.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 && !out.ends_with('_') {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn a_variant_is_named_in_snake_case() {
        assert_eq!(snake_case("Admin"), "admin");
        assert_eq!(snake_case("SuperUser"), "super_user");
        assert_eq!(snake_case("Posts_Write"), "posts_write");
    }
}
