//! Every rule, in one place: the handler's shape, the arguments that need one another or
//! belong to one attribute only, and the arguments that must name a parameter. Each
//! violation is reported on its own token. What passes becomes the [`Plan`]: everything
//! `expand` writes is decided here (what fills each parameter, the limits with their
//! keys, which compile-time probes apply), so that `expand` only follows it.

use syn::{FnArg, LitStr, Type};

use crate::ast::{
    Args, Handler, Kind, LimitArgs, Names, OwnerPath, Rate, RateKey, annotation_kind,
};
use crate::ctxt::Ctxt;
use crate::types::{first_type_argument, read_into, spelled, wrapped_type};

/// What the expansion generates, decided.
pub struct Plan<'a> {
    pub handler: &'a Handler,
    /// What the handler's `POLICY` constant declares.
    pub policy: Policy<'a>,
    /// One per parameter, in order.
    pub params: Vec<Fill<'a>>,
    /// The fields of the validated body that limits count on, checked with the route's
    /// other limits once the body is valid.
    pub input_limit_fields: Vec<&'a OwnerPath>,
    /// Whether a limit counts only failures: the handler's 401 or 403 is counted once it
    /// has answered.
    pub counts_failures: bool,
    /// The compile-time checks of the extractor parameters' types.
    pub probes: Vec<Probe<'a>>,
}

/// The route's policy, resolved: every value the runtime's `Policy` builder is given.
pub struct Policy<'a> {
    pub kind: Kind,
    pub auth: Auth<'a>,
    pub tenant: Option<&'a LitStr>,
    pub roles: Option<&'a Names>,
    pub scopes: Option<&'a Names>,
    /// `rate` (one per rate of a list), then each `limit(...)` in order.
    pub limits: Vec<Limit<'a>>,
    pub owner: Option<&'a LitStr>,
    pub owner_or_role: Option<&'a Names>,
    /// The `validate` and `validate_query` types, as spelled.
    pub validate: Option<String>,
    pub validate_query: Option<String>,
    pub reason: Option<&'a LitStr>,
    pub timeout_ms: Option<u64>,
    pub concurrency: Option<u32>,
    /// `can = "…"`, with the type of the resource `on` names, when it names one, and
    /// whether it names a list of them.
    pub permission: Option<(&'a LitStr, Option<&'a Type>, bool)>,
}

/// What the route asks of a credential.
pub enum Auth<'a> {
    /// Nothing: a `#[public]` handler without `optional_auth`.
    Unread,
    /// `auth`, through the named authenticator when one is given.
    Required { via: Option<&'a LitStr> },
    /// `optional_auth`: verified when the request presents one.
    Optional,
}

/// One limit, with the key it counts on resolved.
pub struct Limit<'a> {
    pub rate: &'a Rate,
    pub key: LimitKey<'a>,
    /// `on = "failure"`: only the handler's 401 and 403 count.
    pub failures_only: bool,
    pub group: Option<&'a LitStr>,
    /// `except = "device"`: the name's own devices are counted apart.
    pub except_device: bool,
    /// `mode = "report"`: counted, never refused.
    pub report: bool,
}

/// The key a limit counts on: the one written, or the route's default.
#[derive(Clone, Copy)]
pub enum LimitKey<'a> {
    Ip,
    User,
    /// The verified caller when there is one, else the address (`optional_auth`).
    Caller,
    /// A string field of the validated body, as written (`"input.username"`).
    Input(&'a LitStr),
}

/// The compile-time check of one extractor parameter's type: each type it may not be,
/// with the message rustc reports on the parameter's type.
pub struct Probe<'a> {
    /// The parameter's index.
    pub param: usize,
    pub ty: &'a Type,
    /// For `Json`, `Form` and `Query` (in an `Option` or a `Result` too): a structured
    /// input read without validation.
    pub refused_inputs: Vec<(&'static str, String)>,
    /// On a `#[public]` handler without `optional_auth`: a principal, which it never has.
    pub refused_principal: Option<String>,
}

/// What fills one parameter.
pub enum Fill<'a> {
    /// The resource `owner`, `tenant` or `on` names, loaded and checked (with `can`, the
    /// permission engine asked about it).
    Resource {
        owner: Option<&'a OwnerPath>,
        tenant: Option<&'a OwnerPath>,
        can: Option<&'a LitStr>,
    },
    /// The list `owner = "x[].f"`, `tenant = "x[].f"` or `on = "x[]"` names:
    /// `Vec<item>`, loaded for the caller through its `Collection` (with `can`, the
    /// engine's plan) and every item checked.
    Collection {
        item: &'a Type,
        owner: Option<&'a OwnerPath>,
        tenant: Option<&'a OwnerPath>,
        can: Option<&'a LitStr>,
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
    if let (Some(on), None) = (&args.on, &args.can) {
        cx.error_spanned_by(
            &on.keyword,
            "`on` names the resource `can` asks about, and there is no `can`: write `can = \"edit\", on = \"post\"`",
        );
    }
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
    let limits = check_limits(cx, kind, args, handler, &params);
    let probes = plan_probes(kind, args, handler, &params);
    let on_type = args.on.as_ref().and_then(|on| {
        let ty = &*handler.params[handler.param_named(&on.value.binding)?].ty;
        if on.value.collection {
            wrapped_type(ty, "Vec")
        } else {
            Some(ty)
        }
    });
    let on_list = args.on.as_ref().is_some_and(|on| on.value.collection);
    let mut policy = policy(kind, args, limits);
    // A list's loader validates its `Collection`'s query: the policy says so, by the
    // item's name.
    if policy.validate_query.is_none()
        && let Some(item) = params.iter().find_map(|fill| match fill {
            Fill::Collection { item, .. } => Some(*item),
            _ => None,
        })
    {
        policy.validate_query = Some(format!("{}::Query", spelled(item)));
    }
    policy.permission = args.can.as_ref().map(|can| (&can.value, on_type, on_list));
    Plan {
        handler,
        policy,
        input_limit_fields: args
            .limits
            .iter()
            .filter_map(|limit| match &limit.value.key {
                Some((RateKey::Input(path), _)) => Some(path),
                _ => None,
            })
            .collect(),
        counts_failures: args.limits.iter().any(|limit| limit.value.failure),
        params,
        probes,
    }
}

/// The policy's values, taken from the arguments that passed.
fn policy<'a>(kind: Kind, args: &'a Args, limits: Vec<Limit<'a>>) -> Policy<'a> {
    let auth = match (&args.auth, &args.optional_auth) {
        (Some(auth), _) => Auth::Required {
            via: auth.value.as_ref(),
        },
        (None, Some(_)) => Auth::Optional,
        (None, None) => Auth::Unread,
    };
    Policy {
        kind,
        auth,
        tenant: args.tenant.as_ref().map(|tenant| &tenant.value.lit),
        roles: args.roles.as_ref().map(|roles| &roles.value),
        scopes: args.scopes.as_ref().map(|scopes| &scopes.value),
        limits,
        owner: args.owner.as_ref().map(|owner| &owner.value.lit),
        owner_or_role: args.owner_or_role.as_ref().map(|role| &role.value),
        validate: args.validate.as_ref().map(|body| spelled(&body.value)),
        validate_query: args
            .validate_query
            .as_ref()
            .map(|query| spelled(&query.value)),
        reason: args.reason.as_ref().map(|reason| &reason.value),
        timeout_ms: args.timeout.as_ref().map(|timeout| timeout.value),
        concurrency: args
            .concurrency
            .as_ref()
            .map(|concurrency| concurrency.value),
        permission: None,
    }
}

/// Every limit, with its key resolved: `rate` (one or a list, on `rate_key` or the
/// route's default key), then each `limit(...)` in order. Each `limit(...)` needs a
/// `rate`, and counts on a key the request has: `"user"` on a route with `auth`, a body
/// field on the parameter `validate` fills.
fn check_limits<'a>(
    cx: &mut Ctxt,
    kind: Kind,
    args: &'a Args,
    handler: &Handler,
    params: &[Fill<'_>],
) -> Vec<Limit<'a>> {
    // The verified principal when the route requires one, the caller when it takes one
    // optionally, else the address.
    let default_key = if args.auth.is_some() {
        LimitKey::User
    } else if kind == Kind::Public && args.optional_auth.is_some() {
        LimitKey::Caller
    } else {
        LimitKey::Ip
    };
    let resolve = |key: Option<&'a RateKey>| match key {
        None => default_key,
        Some(RateKey::Ip) => LimitKey::Ip,
        Some(RateKey::User) => LimitKey::User,
        Some(RateKey::Input(path)) => LimitKey::Input(&path.lit),
    };
    let mut limits = Vec::new();
    let report = args.rate_mode.as_ref().is_some_and(|mode| mode.value);
    if let Some(rates) = &args.rate {
        let key = args.rate_key.as_ref().map(|key| &key.value);
        for rate in &rates.value {
            limits.push(Limit {
                rate,
                key: resolve(key),
                failures_only: false,
                group: None,
                except_device: false,
                report,
            });
        }
    } else if let Some(mode) = &args.rate_mode {
        cx.error_spanned_by(
            &mode.keyword,
            "`rate_mode` sets the mode of `rate`, which this attribute does not have: add `rate = \"60/m\"`, or write the limit as `limit(rate = \"60/m\", mode = \"report\")`",
        );
    }
    let body = params
        .iter()
        .position(|fill| matches!(fill, Fill::Body { .. }))
        .and_then(|index| handler.params[index].ident.as_ref());
    for limit in &args.limits {
        match &limit.value.rate {
            Some(rate) => limits.push(Limit {
                rate,
                key: resolve(limit.value.key.as_ref().map(|(key, _)| key)),
                failures_only: limit.value.failure,
                group: limit.value.group.as_ref(),
                except_device: limit.value.except_device.is_some(),
                report: limit.value.report,
            }),
            None => cx.error_spanned_by(
                &limit.keyword,
                format!("`limit(...)` needs a `rate`, e.g. {}", LimitArgs::EXAMPLE),
            ),
        }
        // A device is known by the name it logged in as: the limit must count failures
        // of a name, a field of the body.
        if let Some(except) = &limit.value.except_device {
            let on_a_name = matches!(&limit.value.key, Some((RateKey::Input(_), _)));
            if !limit.value.failure || !on_a_name {
                cx.error_spanned_by(
                    except,
                    "`except = \"device\"` counts an account's own devices apart from the failures of its name: it needs `on = \"failure\"` and a `key` on a field of the validated body, e.g. `limit(rate = \"5/15m\", key = \"input.username\", on = \"failure\", except = \"device\")`",
                );
            }
        }
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
    limits
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
        args.can.as_ref().map(|a| &a.keyword),
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
    if let (Some(can), None) = (&args.can, &args.optional_auth) {
        cx.error_spanned_by(
            &can.keyword,
            "`can` on `#[public]` needs `optional_auth`: the engine is asked about the caller when one is signed in, and about an anonymous caller otherwise; write `#[public(optional_auth, can = \"read\", on = \"post\")]`",
        );
    }
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
    if kind == Kind::Secure || (args.on.is_some() && args.can.is_some()) {
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
fn unvalidated_input(wrapper: &str, inner: &str) -> String {
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

/// A probe on every extractor parameter, whatever its type is called: `plan_params`
/// refuses an unvalidated input by its spelling, the probe under any other (an alias, a
/// path), and on `#[public]` without `optional_auth` a principal, which such a handler
/// never has.
fn plan_probes<'a>(
    kind: Kind,
    args: &Args,
    handler: &'a Handler,
    params: &[Fill<'_>],
) -> Vec<Probe<'a>> {
    let refuses_principal = kind == Kind::Public && args.optional_auth.is_none();
    params
        .iter()
        .zip(&handler.params)
        .enumerate()
        .filter(|(_, (fill, _))| matches!(fill, Fill::Parts | Fill::Request))
        .map(|(index, (_, param))| {
            let ty = &*param.ty;
            let written = spelled(ty);
            let inner = read_into(ty).map_or_else(|| "T".to_owned(), spelled);
            Probe {
                param: index,
                ty,
                refused_inputs: ["Json", "Form", "Query"]
                    .into_iter()
                    .map(|wrapper| {
                        let message = format!(
                            "`{written}` is a {wrapper} extractor: {}",
                            unvalidated_input(wrapper, &inner)
                        );
                        (wrapper, message)
                    })
                    .collect(),
                refused_principal: refuses_principal.then(|| {
                    format!(
                        "`{written}` asks for the verified caller, but a `#[public]` handler has none (every request would be refused with 401): use `#[secure(auth)]` to require one, or `#[public(optional_auth)]` with an `Option<…>` of it"
                    )
                }),
            }
        })
        .collect()
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
    let can = args.can.as_ref().map(|a| &a.value);
    if let (Some(on), Some(_)) = (&args.on, can) {
        let on = &on.value;
        let brackets = if on.collection { "[]" } else { "" };
        // The resource `owner`/`tenant` names, or one of its own.
        if let Some(other) = owner.or(tenant) {
            if other.binding != on.binding || other.collection != on.collection {
                cx.error_spanned_by(
                    &on.lit,
                    format!(
                        "`on` and `{}` name one loaded parameter: `on = \"{}{}\"`",
                        if owner.is_some() { "owner" } else { "tenant" },
                        other.binding,
                        if other.collection { "[]" } else { "" },
                    ),
                );
                return;
            }
        } else {
            let binding = &on.binding;
            let Some(index) = handler.param_named(binding) else {
                let example = if on.collection {
                    format!(
                        "a list of items implementing `secure_endpoint::Collection` and `secure_endpoint::Entity`, e.g. `{binding}: Vec<Post>`"
                    )
                } else {
                    format!(
                        "one whose type implements `secure_endpoint::Resource` and `secure_endpoint::Entity`, e.g. `{binding}: Post`"
                    )
                };
                cx.error_spanned_by(
                    &on.lit,
                    format!(
                        "`on = \"{binding}{brackets}\"` names the parameter `{binding}`, but the handler has no parameter named `{binding}`: add {example}"
                    ),
                );
                return;
            };
            if !on.collection {
                params[index] = Some(Fill::Resource {
                    owner: None,
                    tenant: None,
                    can,
                });
                return;
            }
            match wrapped_type(&handler.params[index].ty, "Vec") {
                Some(item) => {
                    params[index] = Some(Fill::Collection {
                        item,
                        owner: None,
                        tenant: None,
                        can,
                    })
                }
                None => cx.error_spanned_by(
                    &handler.params[index].ty,
                    format!(
                        "`on = \"{binding}[]\"` names a list, but `{binding}` is not a `Vec<_>`: declare it `{binding}: Vec<Item>` with `Item` implementing `secure_endpoint::Collection` and `secure_endpoint::Entity`, or write `on = \"{binding}\"` for one resource"
                    ),
                ),
            }
            return;
        }
    }
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
            Some(item) => {
                let can = args.on.as_ref().and(can);
                params[index] = Some(Fill::Collection {
                    item,
                    owner,
                    tenant,
                    can,
                })
            }
            None => cx.error_spanned_by(
                &handler.params[index].ty,
                format!(
                    "`{keyword} = \"{binding}[].…\"` names a collection, but `{binding}` is not a `Vec<_>`: declare it `{binding}: Vec<Item>` with `Item` implementing `secure_endpoint::Collection`, or write `{keyword} = \"{binding}.…\"` for one resource"
                ),
            ),
        }
    } else {
        let can = args.on.as_ref().and(can);
        params[index] = Some(Fill::Resource { owner, tenant, can });
    }
}
