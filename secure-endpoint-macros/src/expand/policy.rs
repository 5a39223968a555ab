//! The `POLICY` constant: the resolved policy as a constant expression of the runtime's
//! `Policy` builder. What the policy means is decided in `check`; this writes it out.

use proc_macro2::TokenStream;
use quote::quote;

use crate::ast::Kind;
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
        expr = quote!(#expr.any_role(&[#(#roles),*]));
    }
    if let Some(scopes) = policy.scopes {
        expr = quote!(#expr.all_scopes(&[#(#scopes),*]));
    }
    if !policy.limits.is_empty() {
        let limits = policy.limits.iter().map(limit);
        expr = quote!(#expr.with_limits(&[#(#limits),*]));
    }
    if let Some(owner) = policy.owner {
        expr = quote!(#expr.with_owner(#owner));
    }
    if let Some(role) = policy.owner_or_role {
        expr = quote!(#expr.with_owner_or_role(#role));
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
    if let Some(ms) = policy.timeout_ms {
        expr = quote!(#expr.with_timeout(#ms));
    }
    if let Some(n) = policy.concurrency {
        expr = quote!(#expr.with_concurrency(#n));
    }
    expr
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
    quote! {
        #private::Limit::new(#count, #period, #key, #counts, #group) #except
    }
}
