//! The typed form of an annotated handler: its attribute arguments (which `attr`
//! parses) and the item, parsed here into a [`Handler`]. Nothing here judges the two
//! together; that is `check`'s work.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::{
    Attribute, Block, FnArg, Ident, Item, LitStr, Path, ReturnType, Signature, Type, Visibility,
};

use crate::types;

/// Which attribute is being expanded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Secure,
    Public,
}

impl Kind {
    pub fn attr_name(self) -> &'static str {
        match self {
            Kind::Secure => "secure",
            Kind::Public => "public",
        }
    }
}

/// One argument as written, kept with the keyword's span for diagnostics.
pub struct Arg<T> {
    /// The argument's keyword, e.g. `role`.
    pub keyword: Ident,
    pub value: T,
}

/// A rate written as `COUNT/PERIOD`, already parsed.
pub struct Rate {
    pub count: u32,
    pub period_ms: u64,
}

/// Which key a rate limit is counted on.
pub enum RateKey {
    Ip,
    User,
    /// `key = "input.username"`: a string field of the validated body.
    Input(OwnerPath),
}

/// `limit(rate = …, key = …, on = …, group = …)`, as written.
pub struct LimitArgs {
    pub rate: Option<Rate>,
    /// The key and the string it was written as.
    pub key: Option<(RateKey, LitStr)>,
    /// `on = "failure"`.
    pub failure: bool,
    pub group: Option<LitStr>,
    /// `except = "device"`: an account's own devices are counted apart.
    pub except_device: Option<LitStr>,
    /// `mode = "report"`: counted, never refused.
    pub report: bool,
}

impl LimitArgs {
    /// How a `limit(...)` is written, for the diagnostics about one.
    pub const EXAMPLE: &str =
        "`limit(rate = \"5/15m\", key = \"input.username\", on = \"failure\")`";
}

/// Role or scope names, written one way: as strings (`"admin"`, declared in the settings
/// where the application declares them) or as variants of a type deriving
/// `secure_endpoint::Role` or `Scope` (`Role::Admin`), which rustc checks.
pub enum Names {
    Strings(Vec<LitStr>),
    Typed(Vec<Path>),
}

/// `owner = "binding.field.field"`, or `"binding[].field"` for a collection (the same
/// for `tenant`).
pub struct OwnerPath {
    pub binding: Ident,
    pub fields: Vec<Ident>,
    pub lit: LitStr,
    /// `binding[]`: the parameter is a list, every item of which holds the field.
    pub collection: bool,
}

/// Every argument the grammar knows; each appears at most once.
#[derive(Default)]
pub struct Args {
    /// `auth`, or `auth = "name"` for a named authenticator.
    pub auth: Option<Arg<Option<LitStr>>>,
    /// `role = "a"` or `roles = ["a", "b"]`, or typed: `role = Role::Admin`.
    pub roles: Option<Arg<Names>>,
    /// `scope = "a"` or `scopes = ["a", "b"]`, or typed: `scope = Scope::PostsWrite`.
    pub scopes: Option<Arg<Names>>,
    pub owner: Option<Arg<OwnerPath>>,
    pub owner_or_role: Option<Arg<Names>>,
    pub validate: Option<Arg<Type>>,
    pub validate_query: Option<Arg<Type>>,
    /// `rate = "10/10s"` or `rate = ["10/s", "1000/d"]`.
    pub rate: Option<Arg<Vec<Rate>>>,
    pub rate_key: Option<Arg<RateKey>>,
    /// `rate_mode = "report"`: `rate`'s limits are counted, never refused.
    pub rate_mode: Option<Arg<bool>>,
    /// Every `limit(...)`, in order.
    pub limits: Vec<Arg<LimitArgs>>,
    pub reason: Option<Arg<LitStr>>,
    /// `timeout = "5s"`, in milliseconds.
    pub timeout: Option<Arg<u64>>,
    /// `concurrency = 8`.
    pub concurrency: Option<Arg<u32>>,
    /// `tenant = "post.org_id"` / `"posts[].org_id"`.
    pub tenant: Option<Arg<OwnerPath>>,
    /// `optional_auth` (on `#[public]`).
    pub optional_auth: Option<Arg<()>>,
    /// `can = "edit"`: the action the permission engine is asked about.
    pub can: Option<Arg<LitStr>>,
    /// `on = "post"`: the loaded resource it is asked about.
    pub on: Option<Arg<OnPath>>,
}

/// `on = "post"`: the parameter the permission is asked about; `on = "posts[]"`: a list,
/// loaded with the engine's plan and every item asked about.
pub struct OnPath {
    pub binding: Ident,
    pub lit: LitStr,
    pub collection: bool,
}

/// The annotated `async fn`, taken apart.
pub struct Handler {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub sig: Signature,
    pub block: Box<Block>,
    pub params: Vec<Param>,
}

/// One handler parameter: its pattern stays on the user's function, its type drives
/// extraction.
pub struct Param {
    /// The parameter's name, when its pattern is a plain binding (`post: Post`).
    pub ident: Option<Ident>,
    pub ty: Box<Type>,
}

impl Handler {
    pub fn ident(&self) -> &Ident {
        &self.sig.ident
    }

    /// The index of the parameter bound to `name`.
    pub fn param_named(&self, name: &Ident) -> Option<usize> {
        self.params
            .iter()
            .position(|p| p.ident.as_ref().is_some_and(|i| i == name))
    }

    /// The index of the parameter of type `ty`, or of `Wrapper<ty>` for one of
    /// `wrappers` (`Json`, `Form`, `Query`), with the wrapper it was given in.
    pub fn param_of_type(
        &self,
        ty: &Type,
        wrappers: &[&'static str],
    ) -> Option<(usize, Option<&'static str>)> {
        self.params
            .iter()
            .enumerate()
            .find_map(|(i, p)| types::receives(&p.ty, ty, wrappers).map(|wrapper| (i, wrapper)))
    }

    pub fn output_span(&self) -> Span {
        match &self.sig.output {
            ReturnType::Default => self.sig.ident.span(),
            ReturnType::Type(_, ty) => syn::spanned::Spanned::span(&**ty),
        }
    }
}

/// Parses the annotated item; anything but a function is an error on its first
/// meaningful token. The rules a handler's shape must follow are checked by
/// [`crate::check`].
pub fn parse_handler(kind: Kind, item: TokenStream) -> syn::Result<Handler> {
    let item: Item = syn::parse2(item)?;
    let func = match item {
        Item::Fn(func) => func,
        other => {
            return Err(syn::Error::new_spanned(
                item_keyword(&other),
                format!(
                    "`#[{}]` goes on an `async fn` handler, not on this item",
                    kind.attr_name()
                ),
            ));
        }
    };
    let params = func
        .sig
        .inputs
        .iter()
        .filter_map(|input| match input {
            FnArg::Receiver(_) => None,
            FnArg::Typed(typed) => Some(Param {
                ident: match &*typed.pat {
                    syn::Pat::Ident(binding) if binding.by_ref.is_none() => {
                        Some(binding.ident.clone())
                    }
                    _ => None,
                },
                ty: typed.ty.clone(),
            }),
        })
        .collect();
    Ok(Handler {
        attrs: func.attrs,
        vis: func.vis,
        sig: func.sig,
        block: func.block,
        params,
    })
}

/// Recognises our own attributes, by their last path segment (`secure`,
/// `secure_endpoint::public`).
pub fn annotation_kind(attr: &Attribute) -> Option<Kind> {
    let last = attr.path().segments.last()?;
    if last.ident == "secure" {
        Some(Kind::Secure)
    } else if last.ident == "public" {
        Some(Kind::Public)
    } else {
        None
    }
}

/// The token that says what kind of item this is, to put the error on.
fn item_keyword(item: &Item) -> TokenStream {
    match item {
        Item::Struct(i) => i.struct_token.into_token_stream(),
        Item::Enum(i) => i.enum_token.into_token_stream(),
        Item::Const(i) => i.const_token.into_token_stream(),
        Item::Static(i) => i.static_token.into_token_stream(),
        Item::Impl(i) => i.impl_token.into_token_stream(),
        Item::Mod(i) => i.mod_token.into_token_stream(),
        Item::Trait(i) => i.trait_token.into_token_stream(),
        Item::Type(i) => i.type_token.into_token_stream(),
        Item::Use(i) => i.use_token.into_token_stream(),
        other => other.into_token_stream(),
    }
}
