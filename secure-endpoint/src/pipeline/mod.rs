//! What one request of an annotated handler goes through, in the order of DESIGN §5,
//! one file per step: [`authenticate`] (with [`csrf`] for a cookie credential, the principal's [`standing`] and the
//! token's [`revocation`] when configured), [`limit`], [`authorize`], [`load`], [`input`]
//! (then the limits on body fields, [`limit::limit_inputs`]), the handler's own
//! extractors ([`extract`]), around the handler itself its [`concurrency`] and
//! [`timeout`], and after it the limits of [`failures`]. Each step holds its check, its refusal and its audit
//! event.
//!
//! This file holds only the orchestration the generated handler calls: [`enforce`] runs
//! the steps that come before any extractor and hands the later ones what they share
//! (the router's context and this route's entry), found once per request.

pub(crate) mod authenticate;
pub(crate) mod authorize;
pub(crate) mod collection;
pub(crate) mod concurrency;
pub(crate) mod csrf;
pub(crate) mod extract;
pub(crate) mod failures;
pub(crate) mod input;
pub(crate) mod limit;
pub(crate) mod load;
pub(crate) mod revocation;
pub(crate) mod standing;
pub(crate) mod tenant;
pub(crate) mod timeout;

use std::borrow::Cow;
use std::sync::Arc;

use axum::extract::MatchedPath;
use axum::response::{IntoResponse, Response};
use http::request::Parts;

use crate::audit::{self, Route, Step};
use crate::auth::{Credential, DynAuthenticator};
use crate::context::{Context, RequestContext, RouteContext};
use crate::handler::SecureHandler;
use crate::policy::Policy;
use crate::rejection::Rejection;
use crate::revoker::Presented;

/// A request the first steps admitted, with what the later steps need: the router's
/// context (absent when the handler is served outside a `SecureRouter`) and this
/// route's entry in it.
pub struct Admitted {
    context: Option<Arc<Context>>,
    route: Option<usize>,
    audit_route: Route,
    /// The keys of the route's limits of failures, to count the handler's 401 or 403.
    failure_keys: Vec<(usize, crate::rate::KeptKey)>,
}

impl Admitted {
    fn find<H: SecureHandler>(parts: &Parts) -> Admitted {
        let context = parts
            .extensions
            .get::<RequestContext>()
            .map(|request| Arc::clone(&request.context));
        let route = context.as_deref().and_then(|context| {
            let path = parts
                .extensions
                .get::<MatchedPath>()
                .map(MatchedPath::as_str);
            context.route_index(std::any::TypeId::of::<H>(), path)
        });
        Admitted {
            context,
            route,
            audit_route: Route::of::<H>(parts),
            failure_keys: Vec::new(),
        }
    }

    pub(crate) fn keep_failure_keys(&mut self, keys: Vec<(usize, crate::rate::KeptKey)>) {
        self.failure_keys = keys;
    }

    pub(crate) fn failure_keys(&self) -> &[(usize, crate::rate::KeptKey)] {
        &self.failure_keys
    }

    /// The route, as audit events name it.
    pub(crate) fn audit_route(&self) -> &Route {
        &self.audit_route
    }

    pub(crate) fn context(&self) -> Option<&Context> {
        self.context.as_deref()
    }

    pub(crate) fn route(&self) -> Option<&RouteContext> {
        Some(self.context()?.route(self.route?))
    }

    /// The authenticator of the route (the one `auth = "name"` names, or the default)
    /// and where it reads the credential: from the route's entry, or for a handler
    /// outside the route table, from the settings.
    pub(crate) fn authenticator(
        &self,
        policy: &Policy,
    ) -> Option<(&dyn DynAuthenticator, Cow<'_, Credential>)> {
        if let Some((authenticator, credential)) = self.route().and_then(|r| r.authenticator()) {
            return Some((authenticator, Cow::Borrowed(credential)));
        }
        let authenticator = self
            .context()?
            .security()?
            .authenticator_for(policy.authenticator())?;
        Some((&**authenticator, Cow::Owned(authenticator.credential())))
    }

    /// Who the handler's answer is for, and who wrote its body: the verified principal
    /// of `parts`, or the anonymous caller.
    pub fn viewer<'p, H: SecureHandler>(&self, parts: &'p Parts) -> crate::guard::Viewer<'p> {
        let principal = self
            .authenticator(H::POLICY)
            .and_then(|(authenticator, _)| authenticator.principal(&parts.extensions));
        crate::guard::Viewer::of_principal(principal)
    }

    /// The caller, kept to answer for after the request is consumed.
    pub fn snapshot<H: SecureHandler>(&self, parts: &Parts) -> crate::guard::Snapshot {
        crate::guard::Snapshot::new(
            self.authenticator(H::POLICY)
                .and_then(|(authenticator, _)| authenticator.clone_principal(&parts.extensions)),
        )
    }

    /// The refusal of a body carrying `field`, which its writer may not write.
    pub fn refuse_write(&self, field: &'static str) -> Response {
        audit::deny_with(
            &self.audit_route,
            Step::Fields,
            "the body carries a field the caller may not write",
            &field,
        );
        Rejection::Forbidden.into_response()
    }

    /// The largest body `validate` reads: the route's own, else the settings', else the
    /// default.
    pub(crate) fn body_limit(&self) -> usize {
        match (self.route(), self.context()) {
            (Some(route), _) => route.body_limit(),
            (None, Some(context)) => context.default_body_limit(),
            (None, None) => crate::input::DEFAULT_BODY_LIMIT,
        }
    }
}

/// Runs the policy steps of `H` that come before any extractor (DESIGN §5: authenticate,
/// rate-limit, then roles and scopes), logging every decision.
pub async fn enforce<H: SecureHandler>(parts: &mut Parts) -> Result<Admitted, Response> {
    let mut admitted = Admitted::find::<H>(parts);
    let policy = H::POLICY;
    if !policy.requires_auth() && !policy.allows_optional_auth() && policy.limits().is_empty() {
        return Ok(admitted);
    }
    let route = &admitted.audit_route;
    if admitted.context().and_then(Context::security).is_none() {
        audit::deny(
            route,
            Step::Authenticate,
            "the handler is served outside a SecureRouter with security settings",
        );
        return Err(Rejection::Internal.into_response());
    }
    let authenticator = if policy.requires_auth() || policy.allows_optional_auth() {
        let Some((authenticator, credential)) = admitted.authenticator(policy) else {
            audit::deny(
                route,
                Step::Authenticate,
                "the security settings have no authenticator for this route",
            );
            return Err(Rejection::Internal.into_response());
        };
        // With `optional_auth`, a request without a credential goes on anonymous; one
        // with a credential is judged like any other, an invalid one refused.
        let cookie = admitted
            .context()
            .and_then(Context::security)
            .and_then(|s| s.session_cookie.as_ref());
        if policy.requires_auth() || authenticate::presented(&parts.headers, &credential, cookie) {
            authenticate::authenticate(route, &admitted, authenticator, &credential, parts)
                .await
                .map_err(IntoResponse::into_response)?;
            Some(authenticator)
        } else {
            audit::allow(route, Step::Authenticate, "no credential: anonymous");
            None
        }
    } else {
        None
    };
    if authenticator.is_some()
        && let Some(security) = admitted.context().and_then(Context::security)
    {
        csrf::check_csrf(route, security, parts).map_err(IntoResponse::into_response)?;
    }
    // The token's standing with the application and with the revocations, when the
    // settings ask for them.
    let mut pending = revocation::Pending::Judged;
    if let Some(presented) = parts.extensions.get::<Presented>()
        && let Some(security) = admitted.context().and_then(Context::security)
    {
        if let Some(check) = &security.principal_check {
            standing::check_standing(route, check, presented)
                .await
                .map_err(IntoResponse::into_response)?;
        }
        if let Some(store) = &security.revocations {
            // The limits of a route with a body-field limit are checked after the body:
            // the revocation is not asked with them.
            let limit_url = admitted
                .route()
                .and_then(RouteContext::limits)
                .filter(|limits| !limits.has_input())
                .and_then(|limits| limits.redis_url());
            pending = revocation::check_revocation(route, store, presented, limit_url)
                .await
                .map_err(IntoResponse::into_response)?;
        }
    }
    let mut failure_keys = Vec::new();
    if !policy.limits().is_empty() {
        failure_keys = limit::limit(route, &admitted, authenticator, parts, pending)
            .await
            .map_err(IntoResponse::into_response)?;
    }
    if let Some(authenticator) = authenticator
        && policy.requires_auth()
    {
        authorize::authorize(route, policy, authenticator, parts)
            .map_err(IntoResponse::into_response)?;
    }
    admitted.keep_failure_keys(failure_keys);
    Ok(admitted)
}
