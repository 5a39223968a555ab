//! The rules that involve more than one argument, or an argument and the attribute it
//! is given to. Each violation is reported on the argument's keyword.

use crate::ast::{Args, Handler, Kind};
use crate::ctxt::Ctxt;

/// Arguments the grammar knows but this version does not enforce yet. Accepting them
/// silently would promise a protection that is not there.
const NOT_YET: &str = "is not supported yet by this version of secure-endpoint; remove it";

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
    for keyword in [
        args.validate.as_ref().map(|a| &a.keyword),
        args.validate_query.as_ref().map(|a| &a.keyword),
        args.rate.as_ref().map(|a| &a.keyword),
        args.rate_key.as_ref().map(|a| &a.keyword),
    ]
    .into_iter()
    .flatten()
    {
        // On `#[public]`, the arguments it never takes were already reported.
        let public_refuses =
            kind == Kind::Public && (keyword == "owner" || keyword == "owner_or_role");
        if !public_refuses {
            cx.error_spanned_by(keyword, format!("`{keyword}` {NOT_YET}"));
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
