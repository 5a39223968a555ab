//! The struct `#[derive(Guarded)]` is given, parsed: each field with the key serde
//! writes it under, what its `#[serde(...)]` does to it, and its `#[guarded(...)]` as
//! written. A mistake in one attribute's own arguments is reported here, where it is
//! read; a rule about fields or attributes together is `check`'s.
//!
//! `#[guarded(...)]` is this crate's grammar, read by keyword. `#[serde(...)]` is serde's:
//! it is walked as serde reads it, for the few names that move or rename a field, and
//! serde reports its own mistakes.

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::parse::ParseStream;
use syn::spanned::Spanned;
use syn::{Attribute, Data, DeriveInput, Fields, Generics, Ident, LitStr, Path, Token};

use super::case::RenameRule;
use crate::ctxt::Ctxt;
use crate::suggest;

mod kw {
    syn::custom_keyword!(role);
    syn::custom_keyword!(owner);
}

/// Every argument name of `#[guarded(...)]`, for did-you-mean hints.
const ARGUMENTS: &[&str] = &["role", "owner"];

/// serde's container attributes that move fields where the derive cannot follow them.
const MOVES_FIELDS: &[&str] = &[
    "tag",
    "untagged",
    "content",
    "transparent",
    "into",
    "remote",
];

/// A struct with named fields, the only shape a guard can name fields of.
pub struct Container<'a> {
    pub ident: &'a Ident,
    pub generics: &'a Generics,
    /// Each of serde's container attributes that move fields, with where it is written.
    pub moved_by: Vec<(&'static str, Path)>,
    pub fields: Vec<Field<'a>>,
}

/// One field, with what serde makes of it.
pub struct Field<'a> {
    pub ident: &'a Ident,
    /// Its key in the serialized object.
    pub key: String,
    pub skipped: bool,
    pub flattened: bool,
    /// Serialized by a function of the application's: its shape is not the type's.
    pub custom: bool,
    pub guard: Option<Guard>,
    pub span: Span,
}

/// One field's guard, as written: what of it was well formed.
pub struct Guard {
    pub role: Option<LitStr>,
    /// The name of the field that holds the owner's id.
    pub owner: Option<LitStr>,
}

impl<'a> Container<'a> {
    /// `None` when the input is not a struct with named fields, which is reported.
    pub fn from_ast(cx: &mut Ctxt, input: &'a DeriveInput) -> Option<Self> {
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
            return None;
        };
        let (rule, moved_by) = container_serde(cx, &input.attrs);
        let fields = named
            .named
            .iter()
            .filter_map(|field| Some(Field::from_ast(cx, field.ident.as_ref()?, field, rule)))
            .collect();
        Some(Container {
            ident: &input.ident,
            generics: &input.generics,
            moved_by,
            fields,
        })
    }
}

impl<'a> Field<'a> {
    fn from_ast(
        cx: &mut Ctxt,
        ident: &'a Ident,
        field: &'a syn::Field,
        rule: Option<RenameRule>,
    ) -> Self {
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
                if let Err(error) = field_serde(attr, &mut parsed) {
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
                parsed.guard = Some(guard(cx, attr));
            }
        }
        parsed
    }
}

/// The field name as serde sees it, without `r#`.
pub fn unraw(ident: &Ident) -> String {
    ident.unraw().to_string()
}

/// The container's `rename_all` rule (for serialization), and the attributes that move
/// fields.
fn container_serde(
    cx: &mut Ctxt,
    attrs: &[Attribute],
) -> (Option<RenameRule>, Vec<(&'static str, Path)>) {
    let mut rename_all: Option<LitStr> = None;
    let mut moved_by = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename_all") {
                if meta.input.peek(Token![=]) {
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
            if let Some(name) = MOVES_FIELDS.iter().find(|n| meta.path.is_ident(n)) {
                moved_by.push((*name, meta.path.clone()));
            }
            skip_value(meta.input)
        });
        if let Err(error) = parsed {
            cx.push(error);
        }
    }
    // An unknown rule is serde's own error on the same token; one report is enough.
    let rule = rename_all
        .as_ref()
        .and_then(|lit| RenameRule::from_str(&lit.value()));
    (rule, moved_by)
}

/// What one `#[serde(...)]` does to a field: its key, whether it is written at all, and
/// whether serde writes it the type's way.
fn field_serde(attr: &Attribute, field: &mut Field<'_>) -> syn::Result<()> {
    attr.parse_nested_meta(|meta| {
        if meta.path.is_ident("rename") {
            if meta.input.peek(Token![=]) {
                field.key = meta.value()?.parse::<LitStr>()?.value();
            } else {
                meta.parse_nested_meta(|inner| {
                    let value: LitStr = inner.value()?.parse()?;
                    if inner.path.is_ident("serialize") {
                        field.key = value.value();
                    }
                    Ok(())
                })?;
            }
            return Ok(());
        }
        if meta.path.is_ident("skip") || meta.path.is_ident("skip_serializing") {
            field.skipped = true;
        } else if meta.path.is_ident("flatten") {
            field.flattened = true;
        } else if meta.path.is_ident("serialize_with") || meta.path.is_ident("with") {
            field.custom = true;
        }
        skip_value(meta.input)
    })
}

/// `#[guarded(role = "…", owner = "field")]`. Every malformed argument is reported, and
/// what was well formed is kept, so that the rules about the field are checked too.
fn guard(cx: &mut Ctxt, attr: &Attribute) -> Guard {
    let mut guard = Guard {
        role: None,
        owner: None,
    };
    let mut given = false;
    let parsed = attr.parse_args_with(|input: ParseStream| {
        while !input.is_empty() {
            given = true;
            let lookahead = input.lookahead1();
            if lookahead.peek(kw::role) {
                let keyword: kw::role = input.parse()?;
                input.parse::<Token![=]>()?;
                let lit: LitStr = input.parse()?;
                if guard.role.is_some() {
                    cx.error_spanned_by(
                        keyword,
                        "`role` given twice in one `#[guarded]`: a field takes one role, keep one",
                    );
                } else if lit.value().trim().is_empty() {
                    cx.error_spanned_by(
                        &lit,
                        "`role` cannot be empty: name the role that may see or write this field, e.g. `role = \"admin\"`",
                    );
                } else {
                    guard.role = Some(lit);
                }
            } else if lookahead.peek(kw::owner) {
                let keyword: kw::owner = input.parse()?;
                input.parse::<Token![=]>()?;
                let lit: LitStr = input.parse()?;
                if guard.owner.is_some() {
                    cx.error_spanned_by(
                        keyword,
                        "`owner` given twice in one `#[guarded]`: a field has one owner field, keep one",
                    );
                } else {
                    guard.owner = Some(lit);
                }
            } else if input.peek(Ident::peek_any) {
                let name = input.call(Ident::parse_any)?;
                let hint = match suggest::closest(&name.to_string(), ARGUMENTS) {
                    Some(known) => format!(": did you mean `{known}`?"),
                    None => "; `guarded` takes `role = \"…\"` and `owner = \"field\"`".to_owned(),
                };
                cx.error_spanned_by(&name, format!("unknown `guarded` argument `{name}`{hint}"));
                skip_value(input)?;
            } else {
                return Err(lookahead.error());
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(())
    });
    match parsed {
        Err(error) => cx.push(error),
        Ok(()) if !given => cx.error_spanned_by(
            attr,
            "`#[guarded]` needs `role = \"…\"`, `owner = \"field\"`, or both",
        ),
        Ok(()) => {}
    }
    guard
}

/// Consumes the value of an argument that is not read (`= …` or `(…)`).
fn skip_value(input: ParseStream) -> syn::Result<()> {
    if input.peek(Token![=]) {
        input.parse::<Token![=]>()?;
        let _: syn::Expr = input.parse()?;
    } else if input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in input);
        let _: TokenStream = content.parse()?;
    }
    Ok(())
}
