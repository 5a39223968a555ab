//! What the attributes' expansion names, and nothing else should. Not part of the API.

use std::future::Future;
use std::pin::Pin;

pub use axum::Json;
use axum::extract::MatchedPath;
pub use axum::extract::{FromRef, FromRequest, FromRequestParts, Query, Request};
pub use axum::handler::Handler;
use axum::response::{IntoResponse, Response};
use http::request::Parts;

use crate::Rejection;
use crate::auth::{DynAuthenticator, bearer_token};
use crate::client::{client_address, limit_key};
use crate::finish::SecurityHandle;
pub use crate::handler::SecureHandler;
use crate::input::InputRejection;
pub use crate::input::{InputFor, ValidInput};
pub use crate::policy::Policy;
use crate::rate::{LimitKey, Outcome, RateKey, too_many_requests, unavailable};
use crate::rejection::reshape_rejection;
pub use crate::resource::{LoadableFrom, OwnerId, Resource, assert_resource};

/// The proof that a policy was declared by an attribute; see
/// [`SecureHandler`](crate::SecureHandler).
#[derive(Debug, Clone, Copy)]
pub struct Decision {
    _declared: (),
}

impl Decision {
    pub const fn declared_by_attribute() -> Self {
        Decision { _declared: () }
    }
}

/// The future of a generated handler, boxed as axum's own handlers are.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Response> + Send>>;

/// Runs the policy steps of `H` that come before any extractor (DESIGN §5: authenticate,
/// rate-limit, then roles and scopes), logging every decision.
pub async fn enforce<H: SecureHandler>(parts: &mut Parts) -> Result<(), Response> {
    let policy = H::POLICY;
    if !policy.requires_auth() && policy.rate().is_none() {
        return Ok(());
    }
    let route = route_of::<H>(parts);
    let Some(handle) = parts.extensions.get::<SecurityHandle>().cloned() else {
        deny(
            &route,
            "authenticate",
            "the handler is served outside a SecureRouter with security settings",
        );
        return Err(Rejection::Internal.into_response());
    };
    let security = handle.security();
    let authenticator = if policy.requires_auth() {
        let Some(authenticator) = security.authenticator.as_deref() else {
            deny(
                &route,
                "authenticate",
                "the security settings have no authenticator",
            );
            return Err(Rejection::Internal.into_response());
        };
        authenticate(&route, &handle, authenticator, parts).await?;
        allow(&route, "authenticate", "the credential was verified");
        Some(authenticator)
    } else {
        None
    };
    if let Some((_, key)) = policy.rate() {
        let per_path = handle.0.limits.get(&std::any::TypeId::of::<H>());
        let path = parts
            .extensions
            .get::<MatchedPath>()
            .map(MatchedPath::as_str);
        let limiter = per_path.and_then(|routes| match routes.as_slice() {
            [(_, only)] => Some(only),
            routes => routes
                .iter()
                .find(|(route_path, _)| Some(route_path.as_str()) == path)
                .map(|(_, limiter)| limiter),
        });
        let Some(limiter) = limiter else {
            deny(&route, "rate", "no limiter was built for this route");
            return Err(Rejection::Internal.into_response());
        };
        let key = match key {
            RateKey::User => authenticator
                .and_then(|a| a.principal_id(&parts.extensions))
                .map(LimitKey::User),
            RateKey::Ip => {
                client_address(parts, &security.trusted_proxies, security.forwarded_header)
                    .map(|ip| LimitKey::Ip(limit_key(ip)))
            }
        };
        let Some(key) = key else {
            deny(
                &route,
                "rate",
                "no key to count on (no principal, or no connection info)",
            );
            return Err(Rejection::Internal.into_response());
        };
        match limiter.check(&key).await {
            Outcome::Allowed => allow(&route, "rate", "within the limit"),
            Outcome::Refused { retry_after } => {
                deny(&route, "rate", "over the limit");
                return Err(too_many_requests(limiter.rate(), retry_after));
            }
            Outcome::Unavailable => {
                deny(
                    &route,
                    "rate",
                    "the shared limiter is unreachable and fails closed",
                );
                return Err(unavailable());
            }
        }
    }
    if let Some(authenticator) = authenticator {
        if let Err(reason) = authenticator.authorize(&parts.extensions, policy) {
            deny(&route, "authorize", &reason);
            return Err(Rejection::Forbidden.into_response());
        }
        allow(&route, "authorize", "the roles and scopes are held");
    }
    Ok(())
}

/// Step 1: the bearer token, verified. A failure counts against the client address when
/// the settings limit failed authentications; past that limit the answer is 429.
async fn authenticate(
    route: &Route,
    handle: &SecurityHandle,
    authenticator: &dyn DynAuthenticator,
    parts: &mut Parts,
) -> Result<(), Response> {
    let security = handle.security();
    let (reason, token_given) = match bearer_token(&parts.headers, security.max_token_bytes) {
        Ok(token) => match verify(authenticator, token, &mut parts.extensions).await {
            Ok(()) => return Ok(()),
            Err(error) => (error.reason().to_owned(), true),
        },
        Err(no_token) => (no_token.reason.to_owned(), no_token.token_given),
    };
    deny(route, "authenticate", &reason);
    if token_given
        && let Some(limiter) = &handle.0.failed_auth
        && let Some(ip) =
            client_address(parts, &security.trusted_proxies, security.forwarded_header)
        && let Outcome::Refused { retry_after } = limiter.check(&LimitKey::Ip(limit_key(ip))).await
    {
        deny(
            route,
            "authenticate",
            "too many failed authentications from this address",
        );
        return Err(too_many_requests(limiter.rate(), retry_after));
    }
    Err(Rejection::Unauthorized { token_given }.into_response())
}

/// The authenticator's verdict: from memory when it can answer so, else awaited.
async fn verify(
    authenticator: &dyn DynAuthenticator,
    token: &str,
    extensions: &mut http::Extensions,
) -> Result<(), crate::AuthError> {
    match authenticator.authenticate_now(token, extensions) {
        Some(verdict) => verdict,
        None => authenticator.authenticate(token, extensions).await,
    }
}

fn deny(route: &Route, step: &'static str, reason: &str) {
    audit(route, step, "deny", reason);
}

fn allow(route: &Route, step: &'static str, reason: &str) {
    audit(route, step, "allow", reason);
}

/// One decision of the audit log: the route, the policy step, the decision and why.
fn audit(route: &Route, step: &'static str, decision: &'static str, reason: &str) {
    tracing::info!(
        target: "secure_endpoint::audit",
        route = %route,
        step,
        decision,
        reason,
    );
}

/// The route a decision is about, formatted only when the event is logged.
struct Route {
    method: http::Method,
    path: Option<MatchedPath>,
    handler: &'static str,
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = self.path.as_ref().map_or("?", MatchedPath::as_str);
        write!(f, "{} {} ({})", self.method, path, self.handler)
    }
}

fn route_of<H: SecureHandler>(parts: &Parts) -> Route {
    Route {
        method: parts.method.clone(),
        path: parts.extensions.get::<MatchedPath>().cloned(),
        handler: H::NAME,
    }
}

/// Step 4 (`owner`): loads the resource `R` named by the path. Missing is 404.
pub async fn load_resource<R, S, H>(parts: &mut Parts, state: &S) -> Result<R, Response>
where
    R: LoadableFrom<S>,
    S: Send + Sync,
    H: SecureHandler,
{
    let axum::extract::Path(key) =
        from_parts::<axum::extract::Path<R::Key>, S>(parts, state).await?;
    match R::load_from(key, state).await {
        Ok(Some(resource)) => Ok(resource),
        Ok(None) => {
            deny(
                &route_of::<H>(parts),
                "owner",
                "the resource does not exist",
            );
            Err(Rejection::NotFound.into_response())
        }
        Err(error) => Err(error.into_response()),
    }
}

/// Step 4 (`owner`): the loaded resource's owner field against the principal, or the
/// principal's role when `owner_or_role` is given. Not the owner is 403 (404 when the
/// settings hide existence).
pub fn check_owner<H, F>(parts: &Parts, owner: &F) -> Result<(), Rejection>
where
    H: SecureHandler,
    F: OwnerId + ?Sized,
{
    let route = route_of::<H>(parts);
    let security = parts
        .extensions
        .get::<SecurityHandle>()
        .map(SecurityHandle::security);
    let Some((security, authenticator)) =
        security.and_then(|s| Some((s, s.authenticator.as_deref()?)))
    else {
        deny(
            &route,
            "owner",
            "no security settings to check ownership with",
        );
        return Err(Rejection::Internal);
    };
    let Some(id) = authenticator.principal_id(&parts.extensions) else {
        deny(&route, "owner", "no authenticated principal");
        return Err(Rejection::Internal);
    };
    if owner.is_owned_by(id) {
        allow(&route, "owner", "the principal owns the resource");
        return Ok(());
    }
    if let Some(role) = H::POLICY.owner_or_role()
        && authenticator.principal_has_role(&parts.extensions, role)
    {
        allow(
            &route,
            "owner",
            "the principal holds the owner_or_role role",
        );
        return Ok(());
    }
    deny(&route, "owner", "the principal does not own the resource");
    if security.hide_forbidden {
        Err(Rejection::NotFound)
    } else {
        Err(Rejection::Forbidden)
    }
}

/// Checked where the handler is defined, on the type `validate` names.
pub const fn assert_valid_input<T: ValidInput>() {}

/// The body limit of a route: its own, else the settings', else the default.
fn body_limit(parts: &Parts) -> usize {
    parts
        .extensions
        .get::<crate::routing::BodyLimit>()
        .map(|limit| limit.0)
        .or_else(|| {
            parts
                .extensions
                .get::<SecurityHandle>()
                .and_then(|h| h.security().body_limit)
        })
        .unwrap_or(crate::input::DEFAULT_BODY_LIMIT)
}

/// Step 5 (`validate`): the JSON body, checked for type, size, shape and rules.
pub async fn validated_json<T, S, H>(request: Request) -> Result<T, Response>
where
    T: InputFor<S>,
    H: SecureHandler,
{
    let (parts, body) = request.into_parts();
    let route = route_of::<H>(&parts);
    if !crate::input::is_json(&parts.headers) {
        deny(&route, "validate", "the body is not declared as JSON");
        return Err(InputRejection::UnsupportedMediaType.into_response());
    }
    let bytes = match crate::input::read_body(&parts.headers, body, body_limit(&parts)).await {
        Ok(bytes) => bytes,
        Err(rejection) => {
            deny(
                &route,
                "validate",
                "the body could not be read within its limit",
            );
            return Err(rejection.into_response());
        }
    };
    let input = T::from_json(&bytes).map_err(|details| {
        refused_input(&route, &details);
        InputRejection::Invalid(details).into_response()
    })?;
    allow(&route, "validate", "the body is valid");
    Ok(input)
}

/// Step 5 (`validate_query`): the query string, checked like a body.
pub fn validated_query<T, S, H>(parts: &Parts) -> Result<T, InputRejection>
where
    T: InputFor<S>,
    H: SecureHandler,
{
    let route = route_of::<H>(parts);
    let input = T::from_query(parts.uri.query().unwrap_or("")).map_err(|details| {
        refused_input(&route, &details);
        InputRejection::Invalid(details)
    })?;
    allow(&route, "validate", "the query is valid");
    Ok(input)
}

fn refused_input(route: &Route, details: &crate::input::Details) {
    /// The refused fields' paths, listed only when the event is logged.
    struct Fields<'a>(&'a crate::input::Details);

    impl std::fmt::Debug for Fields<'_> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_list().entries(self.0.keys()).finish()
        }
    }

    tracing::info!(
        target: "secure_endpoint::audit",
        route = %route,
        step = "validate",
        decision = "deny",
        reason = "invalid input",
        fields = ?Fields(details),
    );
}

/// Runs one parts extractor; its rejection is answered in the framework's JSON shape.
pub async fn from_parts<T, S>(parts: &mut Parts, state: &S) -> Result<T, Response>
where
    T: FromRequestParts<S>,
    S: Send + Sync,
{
    let route = parts.extensions.get::<MatchedPath>().cloned();
    T::from_request_parts(parts, state)
        .await
        .map_err(|rejection| reshape_rejection::<T>(rejection.into_response(), route))
}

/// Runs the last extractor, which may consume the body.
pub async fn from_request<T, S, M>(request: Request, state: &S) -> Result<T, Response>
where
    T: FromRequest<S, M>,
    S: Send + Sync,
{
    let route = request.extensions().get::<MatchedPath>().cloned();
    T::from_request(request, state)
        .await
        .map_err(|rejection| reshape_rejection::<T>(rejection.into_response(), route))
}

/// Turns the handler's return value into the response.
pub fn respond<R: IntoResponse>(value: R) -> Response {
    value.into_response()
}
