//! The typed form of an annotated handler: its attribute arguments and its signature.

use proc_macro2::Span;
use syn::{Attribute, Block, Ident, LitStr, ReturnType, Signature, Type, Visibility};

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
    /// `role = "a"` or `roles = ["a", "b"]`.
    pub roles: Option<Arg<Vec<LitStr>>>,
    /// `scope = "a"` or `scopes = ["a", "b"]`.
    pub scopes: Option<Arg<Vec<LitStr>>>,
    pub owner: Option<Arg<OwnerPath>>,
    pub owner_or_role: Option<Arg<LitStr>>,
    pub validate: Option<Arg<Type>>,
    pub validate_query: Option<Arg<Type>>,
    /// `rate = "10/10s"` or `rate = ["10/s", "1000/d"]`.
    pub rate: Option<Arg<Vec<Rate>>>,
    pub rate_key: Option<Arg<RateKey>>,
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
        let wanted = spelled(ty);
        self.params.iter().enumerate().find_map(|(i, p)| {
            if spelled(&p.ty) == wanted {
                return Some((i, None));
            }
            wrappers
                .iter()
                .find_map(|wrapper| match wrapped_type(&p.ty, wrapper) {
                    Some(inner) if spelled(inner) == wanted => Some((i, Some(*wrapper))),
                    _ => None,
                })
        })
    }

    pub fn output_span(&self) -> Span {
        match &self.sig.output {
            ReturnType::Default => self.sig.ident.span(),
            ReturnType::Type(_, ty) => syn::spanned::Spanned::span(&**ty),
        }
    }
}

/// A type as written, without whitespace, for comparing what the attribute names with
/// what the signature declares. Aliases are not seen through: `validate` must name the
/// type the way the parameter does.
pub fn spelled(ty: &Type) -> String {
    quote::ToTokens::to_token_stream(ty)
        .to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// The first type argument of `Outer<T, …>` (the last path segment is `outer`).
pub fn first_type_argument<'t>(ty: &'t Type, outer: &str) -> Option<&'t Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != outer {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        syn::GenericArgument::Type(inner) => Some(inner),
        _ => None,
    }
}

/// `T` of `Wrapper<T>` (the last path segment is `wrapper`), a best-effort hint by name.
pub fn wrapped_type<'t>(ty: &'t Type, wrapper: &str) -> Option<&'t Type> {
    let Type::Path(path) = ty else { return None };
    match &path.path.segments.last()?.arguments {
        syn::PathArguments::AngleBracketed(args) if args.args.len() == 1 => {
            first_type_argument(ty, wrapper)
        }
        _ => None,
    }
}
