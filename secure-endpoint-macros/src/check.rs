//! Every rule, in one place: the handler's shape, the arguments that need one another or
//! belong to one attribute only, and the arguments that must name a parameter. Each
//! violation is reported on its own token. What passes becomes the [`Plan`] that
//! `expand` follows, so the parameters are searched once, here.

use syn::{FnArg, Type};

use crate::ast::{
    Args, Handler, Kind, OwnerPath, RateKey, first_type_argument, spelled, wrapped_type,
};
use crate::attr::annotation_kind;
use crate::ctxt::Ctxt;

/// What the expansion generates, decided: what fills each parameter.
pub struct Plan<'a> {
    pub kind: Kind,
    pub args: &'a Args,
    pub handler: &'a Handler,
    /// One per parameter, in order.
    pub params: Vec<Fill<'a>>,
}

/// What fills one parameter.
pub enum Fill<'a> {
    /// The resource `owner` or `tenant` names, loaded and checked.
    Resource {
        owner: Option<&'a OwnerPath>,
        tenant: Option<&'a OwnerPath>,
    },
    /// The list `owner = "x[].f"` or `tenant = "x[].f"` names: `Vec<item>`, loaded for
    /// the caller through its `Collection` and every item checked.
    Collection {
        item: &'a Type,
        owner: Option<&'a OwnerPath>,
        tenant: Option<&'a OwnerPath>,
    },
    /// The validated body, in the wrapper the parameter gives it (`Json<T>`, `Form<T>`,
    /// or none: `T`). A `Form<T>` parameter reads a form body, any other JSON.
    Body {
        ty: &'a Type,
        wrapper: Option<&'static str>,
    },
    /// The validated query, in `Query<T>` or as `T`.
    Query {
        ty: &'a Type,
        wrapper: Option<&'static str>,
    },
    /// An extractor of the request's parts.
    Parts,
    /// The last extractor, which may consume the body (only without `validate`).
    Request,
}

pub fn check<'a>(cx: &mut Ctxt, kind: Kind, args: &'a Args, handler: &'a Handler) -> Plan<'a> {
    check_shape(cx, kind, handler);
    match kind {
        Kind::Secure => check_secure(cx, args),
        Kind::Public => check_public(cx, args),
    }
    if let Some(key) = &args.rate_key {
        if args.rate.is_none() {
            cx.error_spanned_by(
                &key.keyword,
                "`rate_key` needs `rate`: it says what the limit counts on, e.g. `rate = \"10/10s\", rate_key = \"ip\"`",
            );
        } else if matches!(key.value, RateKey::User) && args.auth.is_none() {
            cx.error_spanned_by(
                &key.keyword,
                "`rate_key = \"user\"` needs a verified principal: only `#[secure(auth, ...)]` routes have one; count on `\"ip\"` here",
            );
        }
    }
    let params = plan_params(cx, kind, args, handler);
    check_limits(cx, args, handler, &params);
    Plan {
        kind,
        args,
        handler,
        params,
    }
}

/// Each `limit(...)` counts on a key the request has: `"user"` on a route with `auth`,
/// a body field on the parameter `validate` fills.
fn check_limits(cx: &mut Ctxt, args: &Args, handler: &Handler, params: &[Fill<'_>]) {
    let body = params
        .iter()
        .position(|fill| matches!(fill, Fill::Body { .. }))
        .and_then(|index| handler.params[index].ident.as_ref());
    for limit in &args.limits {
        let Some((key, lit)) = &limit.value.key else {
            continue;
        };
        match key {
            RateKey::Ip => {}
            RateKey::User if args.auth.is_some() => {}
            RateKey::User => cx.error_spanned_by(
                lit,
                "`key = \"user\"` needs a verified principal: only `#[secure(auth, ...)]` routes have one; count on `\"ip\"` here, or on a field of the validated body",
            ),
            RateKey::Input(path) => match body {
                None => cx.error_spanned_by(
                    lit,
                    format!(
                        "`key = \"{}\"` counts on a field of the validated body, but the handler has no validated body parameter: add `validate = MyInput` and a parameter `{}: MyInput`",
                        lit.value(),
                        path.binding
                    ),
                ),
                Some(name) if *name != path.binding => cx.error_spanned_by(
                    lit,
                    format!(
                        "`{}` is not the validated body: the key names a field of the parameter `validate` fills, e.g. `key = \"{name}.{}\"`",
                        path.binding,
                        path.fields
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(".")
                    ),
                ),
                Some(_) => {}
            },
        }
    }
}

/// A handler is a plain `async fn` with concrete parameters, annotated once.
fn check_shape(cx: &mut Ctxt, kind: Kind, handler: &Handler) {
    let sig = &handler.sig;
    if sig.asyncness.is_none() {
        cx.error_spanned_by(
            sig.fn_token,
            format!(
                "`#[{}]` handlers must be `async fn`: write `async fn {}`",
                kind.attr_name(),
                sig.ident
            ),
        );
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        cx.error_spanned_by(
            &sig.generics,
            "generic handlers are not supported: give the handler concrete parameter types",
        );
    }
    if let Some(variadic) = &sig.variadic {
        cx.error_spanned_by(variadic, "a handler cannot be variadic");
    }
    for attr in &handler.attrs {
        if let Some(other) = annotation_kind(attr) {
            let message = if other == kind {
                format!("`#[{}]` is given twice on this handler", kind.attr_name())
            } else {
                "a handler is either `#[secure(...)]` or `#[public]`, not both: keep the one that states the handler's policy".to_string()
            };
            cx.error_spanned_by(attr, message);
        }
    }
    for input in &sig.inputs {
        if let FnArg::Receiver(receiver) = input {
            cx.error_spanned_by(receiver, "handlers are free functions: remove `self`");
        }
    }
    for param in &handler.params {
        if let Some(ident) = &param.ident
            && *ident == sig.ident
        {
            cx.error_spanned_by(
                ident,
                format!(
                    "a parameter cannot be named `{ident}` like its handler: the attribute gives that name to the handler itself; rename the parameter"
                ),
            );
        }
    }
}

fn check_secure(cx: &mut Ctxt, args: &Args) {
    if let Some(reason) = &args.reason {
        cx.error_spanned_by(
            &reason.keyword,
            "`reason` belongs to `#[public]`, where it says why anyone may call the handler",
        );
    }
    if let Some(optional) = &args.optional_auth {
        cx.error_spanned_by(
            &optional.keyword,
            "`optional_auth` belongs to `#[public]`: a `#[secure(auth)]` route always requires a credential; write `#[public(optional_auth)]` for one that takes a credential when given",
        );
    }
    if args.auth.is_some() {
        if let (Some(owner_or_role), None) = (&args.owner_or_role, &args.owner) {
            cx.error_spanned_by(
                &owner_or_role.keyword,
                "`owner_or_role` needs `owner`: it names a role that may pass the ownership check, e.g. `owner = \"post.user_id\", owner_or_role = \"admin\"`",
            );
        }
        return;
    }
    let needs_auth = [
        args.roles.as_ref().map(|a| &a.keyword),
        args.scopes.as_ref().map(|a| &a.keyword),
        args.owner.as_ref().map(|a| &a.keyword),
        args.owner_or_role.as_ref().map(|a| &a.keyword),
        args.tenant.as_ref().map(|a| &a.keyword),
    ];
    let mut reported = false;
    for keyword in needs_auth.into_iter().flatten() {
        reported = true;
        cx.error_spanned_by(
            keyword,
            format!("`{keyword}` requires `auth`: write `#[secure(auth, {keyword} = ...)]`"),
        );
    }
    if !reported {
        cx.push(syn::Error::new(
            proc_macro2::Span::call_site(),
            "`#[secure]` without `auth` protects nothing: add `auth`, e.g. `#[secure(auth)]`, or use `#[public]` for a handler anyone may call",
        ));
    }
}

fn check_public(cx: &mut Ctxt, args: &Args) {
    let refused = [
        args.auth.as_ref().map(|a| &a.keyword),
        args.roles.as_ref().map(|a| &a.keyword),
        args.scopes.as_ref().map(|a| &a.keyword),
        args.owner.as_ref().map(|a| &a.keyword),
        args.owner_or_role.as_ref().map(|a| &a.keyword),
        args.tenant.as_ref().map(|a| &a.keyword),
    ];
    for keyword in refused.into_iter().flatten() {
        cx.error_spanned_by(
            keyword,
            format!(
                "`#[public]` does not take `{keyword}`: a handler that checks the caller is `#[secure(auth, ...)]`"
            ),
        );
    }
}

/// Finds the parameters `owner`, `validate` and `validate_query` name (each must name
/// one), refuses a `Json<_>` parameter that is not the validated one, and gives every
/// other parameter to an extractor.
fn plan_params<'a>(
    cx: &mut Ctxt,
    kind: Kind,
    args: &'a Args,
    handler: &'a Handler,
) -> Vec<Fill<'a>> {
    let mut params: Vec<Option<Fill<'a>>> = (0..handler.params.len()).map(|_| None).collect();
    if kind == Kind::Secure {
        plan_loaded(cx, args, handler, &mut params);
    }
    let inputs: [(_, _, &[&'static str], _); 2] = [
        (&args.validate, "validate", &["Json", "Form"], "body"),
        (&args.validate_query, "validate_query", &["Query"], "query"),
    ];
    for (arg, keyword, wrappers, what) in inputs {
        let Some(arg) = arg else { continue };
        let ty = &arg.value;
        let wrapper = wrappers[0];
        match handler.param_of_type(ty, wrappers) {
            Some((index, wrapper)) => {
                params[index] = Some(if what == "body" {
                    Fill::Body { ty, wrapper }
                } else {
                    Fill::Query { ty, wrapper }
                });
            }
            None => {
                let ty = spelled(ty);
                cx.error_spanned_by(
                    &arg.value,
                    format!(
                        "`{keyword} = {ty}` names no parameter of the handler: add a parameter of type `{ty}` (or `{wrapper}<{ty}>`) to receive the validated {what}"
                    ),
                );
            }
        }
    }
    for (index, param) in handler.params.iter().enumerate() {
        if matches!(params[index], Some(Fill::Body { .. } | Fill::Query { .. })) {
            continue;
        }
        let unwrapped = wrapped_type(&param.ty, "Option")
            .or_else(|| first_type_argument(&param.ty, "Result"))
            .unwrap_or(&param.ty);
        // By name here, for the clearest message; under any other spelling (an alias, a
        // path) the expansion's type probe refuses it all the same.
        for wrapper in ["Json", "Form", "Query"] {
            if let Some(inner) = wrapped_type(unwrapped, wrapper) {
                cx.error_spanned_by(&param.ty, unvalidated_input(wrapper, &spelled(inner)));
            }
        }
    }
    // With a validated body, every other parameter reads the request's parts; without
    // one, the last extractor may consume the body.
    let has_body = params.iter().any(|p| matches!(p, Some(Fill::Body { .. })));
    let last_extracted = params.iter().rposition(Option::is_none);
    params
        .into_iter()
        .enumerate()
        .map(|(index, fill)| {
            fill.unwrap_or(if !has_body && Some(index) == last_extracted {
                Fill::Request
            } else {
                Fill::Parts
            })
        })
        .collect()
}

/// The message for a structured input read without validation: `wrapper` is `Json`,
/// `Form` or `Query`, `inner` the type it reads into.
pub fn unvalidated_input(wrapper: &str, inner: &str) -> String {
    match wrapper {
        "Query" => format!(
            "this handler reads a query string without validating it, a missing protection: add `validate_query = {inner}` to the attribute, with `{inner}` deriving `validator::Validate`"
        ),
        "Form" => format!(
            "this handler takes a form body without validating it, a missing protection: add `validate = {inner}` to the attribute, with `{inner}` deriving `validator::Validate`"
        ),
        _ => format!(
            "this handler takes a JSON body without validating it, a missing protection: add `validate = {inner}` to the attribute, with `{inner}` deriving `validator::Validate`"
        ),
    }
}

/// The parameter `owner` and `tenant` name: one resource, or one collection (`x[]`),
/// each path naming the same parameter.
fn plan_loaded<'a>(
    cx: &mut Ctxt,
    args: &'a Args,
    handler: &'a Handler,
    params: &mut [Option<Fill<'a>>],
) {
    let owner = args.owner.as_ref().map(|a| &a.value);
    let tenant = args.tenant.as_ref().map(|a| &a.value);
    let Some(first) = owner.or(tenant) else {
        return;
    };
    if let (Some(owner), Some(tenant)) = (owner, tenant)
        && (owner.binding != tenant.binding || owner.collection != tenant.collection)
    {
        cx.error_spanned_by(
            &tenant.lit,
            format!(
                "`owner` and `tenant` name one parameter the same way: `owner` names `{}{}`, so write `tenant = \"{}{}.…\"`",
                owner.binding,
                if owner.collection { "[]" } else { "" },
                owner.binding,
                if owner.collection { "[]" } else { "" },
            ),
        );
        return;
    }
    let binding = &first.binding;
    let keyword = if owner.is_some() { "owner" } else { "tenant" };
    let Some(index) = handler.param_named(binding) else {
        let what = if first.collection {
            format!(
                "a list of items implementing `secure_endpoint::Collection`, e.g. `{binding}: Vec<Post>`"
            )
        } else {
            format!("one whose type implements `secure_endpoint::Resource`, e.g. `{binding}: Post`")
        };
        cx.error_spanned_by(
            &first.lit,
            format!(
                "`{keyword}` names the parameter `{binding}`, but the handler has no parameter named `{binding}`: add {what}"
            ),
        );
        return;
    };
    if first.collection {
        match wrapped_type(&handler.params[index].ty, "Vec") {
            Some(item) => params[index] = Some(Fill::Collection { item, owner, tenant }),
            None => cx.error_spanned_by(
                &handler.params[index].ty,
                format!(
                    "`{keyword} = \"{binding}[].…\"` names a collection, but `{binding}` is not a `Vec<_>`: declare it `{binding}: Vec<Item>` with `Item` implementing `secure_endpoint::Collection`, or write `{keyword} = \"{binding}.…\"` for one resource"
                ),
            ),
        }
    } else {
        params[index] = Some(Fill::Resource { owner, tenant });
    }
}
