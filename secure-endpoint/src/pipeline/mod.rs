//! What one request of an annotated handler goes through, in the order of DESIGN §5,
//! one file per step: the [`credential`] read once and [`authenticate`]d (with [`csrf`]
//! for a cookie credential, the principal's [`standing`] and the token's [`revocation`]
//! when configured), [`limit`], [`authorize`], [`load`] with its [`tenant`] check or a
//! [`collection`], [`input`] (then the limits on body fields, [`limit::limit_inputs`],
//! and the guarded [`fields`]), the handler's own extractors ([`extract`]), around the
//! handler itself its [`concurrency`] and [`timeout`], and after it the limits of
//! [`failures`]. Each step holds its check, its refusal and its audit event; what the
//! steps share is [`Admitted`].
//!
//! This file holds only the order: [`enforce`] runs the steps that come before any
//! extractor; the generated handler calls the later ones in turn.

mod admitted;
pub(crate) mod authenticate;
pub(crate) mod authorize;
pub(crate) mod collection;
pub(crate) mod concurrency;
mod credential;
pub(crate) mod csrf;
pub(crate) mod extract;
pub(crate) mod failures;
pub(crate) mod fields;
pub(crate) mod input;
pub(crate) mod limit;
pub(crate) mod load;
pub(crate) mod permit;
pub(crate) mod revocation;
pub(crate) mod standing;
pub(crate) mod tenant;
pub(crate) mod timeout;

#[cfg(test)]
#[path = "tests/harness.rs"]
pub(crate) mod harness;

pub use admitted::Admitted;

use axum::response::{IntoResponse, Response};
use http::request::Parts;

use crate::audit::{self, Step};
use crate::auth::Presented;
use crate::context::RequestContext;
use crate::handler::SecureHandler;
use crate::rejection::Rejection;
use credential::Sent;
use revocation::Pending;

/// Runs the policy steps of `H` that come before any extractor (DESIGN §5: authenticate,
/// rate-limit, then roles and scopes), logging every decision.
pub async fn enforce<H: SecureHandler>(parts: &mut Parts) -> Result<Admitted, Response> {
    let mut admitted = Admitted::find::<H>(parts);
    let policy = H::POLICY;
    let authenticates = policy.requires_auth() || policy.allows_optional_auth();
    if !authenticates && policy.limits().is_empty() {
        return Ok(admitted);
    }
    let Some(route) = admitted.route() else {
        audit::deny(
            admitted.audit_route(),
            Step::Authenticate,
            if admitted.in_router() {
                "the handler is not in the router's route table (routed through an unchecked router)"
            } else {
                "the handler is served outside a SecureRouter with security settings"
            },
        );
        return Err(Rejection::Internal.into_response());
    };
    let mut pending = Pending::Judged;
    let mut presented = None;
    if authenticates {
        let Some((authenticator, credential)) = route.authenticator() else {
            audit::deny(
                admitted.audit_route(),
                Step::Authenticate,
                "the security settings have no authenticator for this route",
            );
            return Err(Rejection::Internal.into_response());
        };
        let sent = credential::read(route, credential, &parts.headers);
        // With `optional_auth`, a request without a credential goes on anonymous; one
        // with a credential is judged like any other, an invalid one refused.
        if !policy.requires_auth() && matches!(sent, Sent::Nothing(_)) {
            audit::allow(
                admitted.audit_route(),
                Step::Authenticate,
                "no credential: anonymous",
            );
        } else {
            let client = route
                .failed_auth()
                .and_then(|_| route.proxies().client_key(parts));
            let verified = authenticate::authenticate(
                admitted.audit_route(),
                route,
                authenticator,
                sent,
                client,
            )
            .await
            .map_err(IntoResponse::into_response)?;
            csrf::check_csrf(admitted.audit_route(), route, verified.from_cookie, parts)
                .map_err(IntoResponse::into_response)?;
            // The token's standing with the application and with the revocations,
            // when the settings ask for them.
            let id = verified.caller.id();
            let facts = verified.facts.as_ref();
            if let Some(check) = route.principal_check() {
                standing::check_standing(
                    admitted.audit_route(),
                    check,
                    id,
                    facts.and_then(|f| f.issued_at_latest_ms()),
                )
                .await
                .map_err(IntoResponse::into_response)?;
            }
            if let Some(store) = route.revocations() {
                // The limits of a route with a body-field limit are checked after the
                // body: the revocation is not asked with them.
                let limit_url = route
                    .limits()
                    .filter(|limits| !limits.has_input())
                    .and_then(|limits| limits.redis_url());
                pending = revocation::check_revocation(
                    admitted.audit_route(),
                    store,
                    id,
                    facts,
                    limit_url,
                )
                .await
                .map_err(IntoResponse::into_response)?;
            }
            if route.revocations().is_some() || route.principal_check().is_some() {
                presented = Some(Presented {
                    principal: verified.caller.clone(),
                    facts: verified.facts,
                });
            }
            // For the handler's extractors: the caller, in the request's own context.
            if let Some(request) = parts.extensions.get_mut::<RequestContext>() {
                request.caller = Some(verified.caller.clone());
            }
            admitted.admit_caller(verified.caller);
        }
    }
    if !policy.limits().is_empty() {
        let limited = limit::limit(
            &admitted,
            parts,
            #[cfg(feature = "redis")]
            pending.question(),
        )
        .await;
        if let Some(presented) = &presented {
            revocation::settle(
                admitted.audit_route(),
                admitted.route().and_then(|route| route.revocations()),
                pending,
                limited.revoked,
                limited.verdict.is_ok(),
                presented.principal_id(),
                presented.facts.as_ref(),
            )
            .await
            .map_err(IntoResponse::into_response)?;
        }
        let failure_keys = limited.verdict.map_err(IntoResponse::into_response)?;
        admitted.keep_failure_keys(failure_keys);
    }
    if let Some(presented) = presented {
        // For the handler's `Revoker`: which token this request presented.
        parts.extensions.insert(presented);
    }
    if policy.requires_auth() {
        authorize::authorize(&admitted, policy).map_err(IntoResponse::into_response)?;
    }
    Ok(admitted)
}

#[cfg(test)]
mod tests {
    use http::StatusCode;

    use crate::pipeline::harness::{bearer, empty, request, send, settings, token};
    use crate::routing::get;
    use crate::{Claims, SecureRouter, public};

    #[public(optional_auth)]
    async fn feed(caller: Option<Claims>) -> String {
        caller.map_or_else(|| "anonymous".to_owned(), |claims| claims.sub)
    }

    async fn feed_with(token: Option<&str>) -> (StatusCode, String) {
        let router = SecureRouter::new()
            .route("/feed", get(feed))
            .with_security(settings().build().unwrap());
        let mut builder = request("GET", "/feed");
        if let Some(token) = token {
            builder = bearer(builder, token);
        }
        let answer = send(router, empty(builder)).await;
        (answer.status, answer.body)
    }

    #[tokio::test]
    async fn optional_authentication_names_the_caller_or_none() {
        assert_eq!(
            feed_with(None).await,
            (StatusCode::OK, "anonymous".to_owned())
        );
        assert_eq!(
            feed_with(Some(&token("7", &[]))).await,
            (StatusCode::OK, "7".to_owned())
        );
    }

    #[tokio::test]
    async fn an_invalid_credential_is_401_even_where_none_is_needed() {
        assert_eq!(
            feed_with(Some("not.a.token")).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
}
