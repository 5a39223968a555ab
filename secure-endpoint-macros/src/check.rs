//! The rules that involve more than one argument, or an argument and the attribute it
//! is given to. Each violation is reported on the argument's keyword.

use crate::ast::{Args, Handler, Kind, RateKey, first_type_argument, wrapped_type};
use crate::ctxt::Ctxt;

pub fn check(cx: &mut Ctxt, kind: Kind, args: &Args, handler: &Handler) {
    match kind {
        Kind::Secure => check_secure(cx, args),
        Kind::Public => check_public(cx, args),
    }
    if kind == Kind::Secure
        && let Some(owner) = &args.owner
        && handler.param_named(&owner.value.binding).is_none()
    {
        let binding = &owner.value.binding;
        cx.error_spanned_by(
            &owner.value.lit,
            format!(
                "`owner` names the parameter `{binding}`, but the handler has no parameter named `{binding}`: add one whose type implements `secure_endpoint::Resource`, e.g. `{binding}: Post`"
            ),
        );
    }
    check_input(cx, args, handler);
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
}

fn check_secure(cx: &mut Ctxt, args: &Args) {
    if let Some(reason) = &args.reason {
        cx.error_spanned_by(
            &reason.keyword,
            "`reason` belongs to `#[public]`, where it says why anyone may call the handler",
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

/// `validate = T` and `validate_query = T` name a parameter; a `Json<_>` parameter is
/// validated.
fn check_input(cx: &mut Ctxt, args: &Args, handler: &Handler) {
    let body = args.validate.as_ref().and_then(|arg| {
        let found = handler.param_of_type(&arg.value, "Json");
        if found.is_none() {
            let ty = crate::ast::spelled(&arg.value);
            cx.error_spanned_by(
                &arg.value,
                format!(
                    "`validate = {ty}` names no parameter of the handler: add a parameter of type `{ty}` (or `Json<{ty}>`) to receive the validated body"
                ),
            );
        }
        found
    });
    if let Some(arg) = &args.validate_query
        && handler.param_of_type(&arg.value, "Query").is_none()
    {
        let ty = crate::ast::spelled(&arg.value);
        cx.error_spanned_by(
            &arg.value,
            format!(
                "`validate_query = {ty}` names no parameter of the handler: add a parameter of type `{ty}` (or `Query<{ty}>`) to receive the validated query"
            ),
        );
    }
    for (index, param) in handler.params.iter().enumerate() {
        if body.is_some_and(|(validated, _)| validated == index) {
            continue;
        }
        let unwrapped = wrapped_type(&param.ty, "Option")
            .or_else(|| first_type_argument(&param.ty, "Result"))
            .unwrap_or(&param.ty);
        if let Some(inner) = wrapped_type(unwrapped, "Json") {
            let inner = crate::ast::spelled(inner);
            cx.error_spanned_by(
                &param.ty,
                format!(
                    "this handler takes a JSON body without validating it, a missing protection: add `validate = {inner}` to the attribute, with `{inner}` deriving `validator::Validate`"
                ),
            );
        }
    }
}
