//! The `POLICY` constant: the resolved policy as a constant expression of the runtime's
//! `Policy` builder. What the policy means is decided in `check`; this writes it out.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::{Kind, Names};
use crate::check::{Auth, Limit, LimitKey, Policy};

pub fn policy_expr(policy: &Policy<'_>) -> TokenStream {
    let private = quote!(::secure_endpoint::__private);
    let mut expr = match policy.kind {
        Kind::Secure => quote!(#private::Policy::secure()),
        Kind::Public => quote!(#private::Policy::public()),
    };
    match &policy.auth {
        Auth::Unread => {}
        Auth::Required { via } => {
            expr = quote!(#expr.require_auth());
            if let Some(name) = via {
                expr = quote!(#expr.via(#name));
            }
        }
        Auth::Optional => expr = quote!(#expr.allow_optional_auth()),
    }
    if let Some(tenant) = policy.tenant {
        expr = quote!(#expr.with_tenant(#tenant));
    }
    if let Some(roles) = policy.roles {
        let list = list(names(roles, "RoleNames"));
        expr = quote!(#expr.any_role(#list));
        if let Names::Typed(_) = roles {
            expr = quote!(#expr.roles_typed());
        }
    }
    if let Some(scopes) = policy.scopes {
        let list = list(names(scopes, "ScopeNames"));
        expr = quote!(#expr.all_scopes(#list));
        if let Names::Typed(_) = scopes {
            expr = quote!(#expr.scopes_typed());
        }
    }
    if !policy.limits.is_empty() {
        let limits = policy.limits.iter().map(limit);
        expr = quote!(#expr.with_limits(&[#(#limits),*]));
    }
    if let Some(owner) = policy.owner {
        expr = quote!(#expr.with_owner(#owner));
    }
    if let Some(role) = policy.owner_or_role {
        let role = names(role, "RoleNames");
        expr = quote!(#expr.with_owner_or_role(#(#role)*));
        if let Some(Names::Typed(_)) = policy.owner_or_role {
            expr = quote!(#expr.owner_or_role_typed());
        }
    }
    if let Some(name) = &policy.validate {
        expr = quote!(#expr.with_validate(#name));
    }
    if let Some(name) = &policy.validate_query {
        expr = quote!(#expr.with_validate_query(#name));
    }
    if let Some(reason) = policy.reason {
        expr = quote!(#expr.reason(#reason));
    }
    if let Some((action, on, list)) = policy.permission {
        let on = match on {
            Some(ty) => {
                let entity =
                    quote_spanned!(ty.span()=> <#ty as ::secure_endpoint::__private::Entity>::TYPE);
                quote!(::core::option::Option::Some(#entity))
            }
            None => quote!(::core::option::Option::None),
        };
        expr = quote!(#expr.with_permission(#action, #on));
        if list {
            expr = quote!(#expr.permission_on_list());
        }
    }
    if let Some(ms) = policy.timeout_ms {
        expr = quote!(#expr.with_timeout(#ms));
    }
    if let Some(n) = policy.concurrency {
        expr = quote!(#expr.with_concurrency(#n));
    }
    expr
}

/// The names as a `&'static [&'static str]`. A typed name's index is not promoted to a
/// constant on its own, so the list is one, named.
fn list(names: Vec<TokenStream>) -> TokenStream {
    quote!({
        const NAMES: &[&str] = &[#(#names),*];
        NAMES
    })
}

/// Each name as a `&'static str` constant. A typed one, `Role::Admin`, is read from the
/// type's `RoleNames::NAMES` by the variant's index: a misspelled variant is rustc's error
/// on the user's token, a type that does not derive `Role` an unmet bound on the type.
fn names(names: &Names, trait_name: &str) -> Vec<TokenStream> {
    match names {
        Names::Strings(lits) => lits.iter().map(|lit| quote!(#lit)).collect(),
        Names::Typed(paths) => paths
            .iter()
            .map(|path| {
                let mut ty = path.clone();
                ty.segments.pop();
                ty.segments.pop_punct();
                let names = syn::Ident::new(trait_name, ty.span());
                let names = quote_spanned!(ty.span()=> <#ty as ::secure_endpoint::__private::#names>::NAMES);
                quote!(#names[#path as usize])
            })
            .collect(),
    }
}

/// One limit as a `Limit` constant.
fn limit(limit: &Limit<'_>) -> TokenStream {
    let private = quote!(::secure_endpoint::__private);
    let (count, period) = (limit.rate.count, limit.rate.period_ms);
    let key = match limit.key {
        LimitKey::Ip => quote!(#private::RateKey::Ip),
        LimitKey::User => quote!(#private::RateKey::User),
        LimitKey::Caller => quote!(#private::RateKey::Caller),
        LimitKey::Input(lit) => quote!(#private::RateKey::Input(#lit)),
    };
    let counts = if limit.failures_only {
        quote!(#private::Counts::Failure)
    } else {
        quote!(#private::Counts::Any)
    };
    let group = match limit.group {
        Some(group) => quote!(::core::option::Option::Some(#group)),
        None => quote!(::core::option::Option::None),
    };
    let except = if limit.except_device {
        quote!(.except_devices())
    } else {
        quote!()
    };
    let report = if limit.report {
        quote!(.report_only())
    } else {
        quote!()
    };
    quote! {
        #private::Limit::new(#count, #period, #key, #counts, #group) #except #report
    }
}
