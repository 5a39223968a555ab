//! The authenticated caller.

use axum::extract::FromRequestParts;
use http::request::Parts;
use serde::{Deserialize, Serialize};

use crate::rejection::Rejection;

/// The verified caller of an `auth` route, as produced by an
/// [`Authenticator`](crate::Authenticator).
///
/// Implement it for your own claims type to use it with
/// [`JwtAuthenticator`](crate::JwtAuthenticator); [`Claims`] is a ready one.
///
/// ```
/// use secure_endpoint::Principal;
///
/// #[derive(Clone, serde::Deserialize)]
/// struct Staff { sub: String, groups: Vec<String> }
///
/// impl Principal for Staff {
///     fn id(&self) -> &str { &self.sub }
///     fn has_role(&self, role: &str) -> bool { self.groups.iter().any(|g| g == role) }
/// }
/// ```
pub trait Principal: Clone + Send + Sync + 'static {
    /// The caller's id (a JWT's `sub`).
    fn id(&self) -> &str;

    /// Whether the caller holds `role` (checked by `role`/`roles`).
    fn has_role(&self, role: &str) -> bool;

    /// Whether the caller was granted OAuth scope `scope` (checked by `scope`/`scopes`).
    /// None by default.
    fn has_scope(&self, scope: &str) -> bool {
        let _ = scope;
        false
    }

    /// The caller's tenant (an organisation, a workspace), checked by `tenant = "…"`.
    /// None by default: a principal without one is refused (403) on tenant routes.
    fn tenant(&self) -> Option<&str> {
        None
    }
}

/// A principal seen through the questions the policy steps ask of it, whatever its type:
/// what the router holds while the concrete type is known only to its authenticator.
pub(crate) trait AnyPrincipal: Send + Sync {
    fn id(&self) -> &str;
    fn has_role(&self, role: &str) -> bool;
    fn has_scope(&self, scope: &str) -> bool;
    fn tenant(&self) -> Option<&str>;
}

impl<P: Principal> AnyPrincipal for P {
    fn id(&self) -> &str {
        Principal::id(self)
    }

    fn has_role(&self, role: &str) -> bool {
        Principal::has_role(self, role)
    }

    fn has_scope(&self, scope: &str) -> bool {
        Principal::has_scope(self, scope)
    }

    fn tenant(&self) -> Option<&str> {
        Principal::tenant(self)
    }
}

/// The default claims: `sub`, `roles` (an array of strings) and the OAuth `scope`
/// (space-separated). Other claims in the token are ignored.
///
/// Handlers of `auth` routes receive it by declaring a parameter of this type:
///
/// ```
/// use secure_endpoint::{Claims, secure};
///
/// #[secure(auth)]
/// async fn me(claims: Claims) -> String {
///     claims.sub
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The subject: the caller's id.
    pub sub: String,
    /// The caller's roles.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Granted scopes, space-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Expiry, seconds since the Unix epoch (required and checked by the verifier).
    pub exp: u64,
}

impl Principal for Claims {
    fn id(&self) -> &str {
        &self.sub
    }

    fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    fn has_scope(&self, scope: &str) -> bool {
        self.scope
            .as_deref()
            .is_some_and(|granted| granted.split(' ').any(|s| s == scope))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Claims {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        principal_from(parts)
    }
}

/// On a `#[public(optional_auth)]` handler, `Option<Claims>`: the caller when a valid
/// credential came, `None` when none did.
impl<S: Send + Sync> axum::extract::OptionalFromRequestParts<S> for Claims {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Verified<Claims>>()
            .map(|v| v.0.clone()))
    }
}

impl<S: Send + Sync, P: Principal> axum::extract::OptionalFromRequestParts<S> for Authenticated<P> {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Verified<P>>()
            .map(|v| Authenticated(v.0.clone())))
    }
}

/// Extracts the verified principal of type `P` for a handler whose principal type is
/// not [`Claims`].
///
/// The principal is there only on `auth` routes; elsewhere the extractor refuses with 401.
///
/// ```
/// use secure_endpoint::{Authenticated, Claims, secure};
///
/// #[secure(auth)]
/// async fn me(Authenticated(claims): Authenticated<Claims>) -> String {
///     claims.sub
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Authenticated<P>(pub P);

impl<S: Send + Sync, P: Principal> FromRequestParts<S> for Authenticated<P> {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        principal_from(parts).map(Authenticated)
    }
}

/// A principal the router's authenticator verified, as the request carries it: only the
/// authentication step puts one there, so a `P` some other layer inserted (a tracing
/// layer decoding tokens without verifying them) is never handed to a handler.
#[derive(Clone)]
pub(crate) struct Verified<P>(pub(crate) P);

fn principal_from<P: Principal>(parts: &Parts) -> Result<P, Rejection> {
    parts.extensions.get::<Verified<P>>().map(|v| v.0.clone()).ok_or_else(|| {
        tracing::warn!(
            target: "secure_endpoint::audit",
            principal = std::any::type_name::<P>(),
            "no principal of this type on the request: the route is not `auth`, or its authenticator produces another type"
        );
        Rejection::Unauthorized { token_given: false }
    })
}
