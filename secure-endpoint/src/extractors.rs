//! The framework's own extractors, which hand a handler what a step left in the
//! request: the request's id ([`RequestId`]), and the verified principal ([`Claims`],
//! [`Authenticated<P>`], or either in an `Option` on `optional_auth` routes). They judge
//! nothing: a principal is there only because the authentication step put it there.
//! Revoking tokens through a handler is [`crate::Revoker`], in `revoker.rs`.

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;

use crate::audit;
use crate::context::RequestContext;
use crate::principal::{Authenticated, Claims, Principal};
use crate::rejection::Rejection;
use crate::request_id::RequestId;

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<RequestContext>() {
            Some(request) => Ok(request.id),
            None => {
                audit::misconfigured(
                    "a handler takes a RequestId, but it is served outside a SecureRouter",
                );
                Err(Rejection::Internal)
            }
        }
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
impl<S: Send + Sync> OptionalFromRequestParts<S> for Claims {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(verified(parts))
    }
}

impl<S: Send + Sync, P: Principal> FromRequestParts<S> for Authenticated<P> {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        principal_from(parts).map(Authenticated)
    }
}

impl<S: Send + Sync, P: Principal> OptionalFromRequestParts<S> for Authenticated<P> {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(verified(parts).map(Authenticated))
    }
}

/// The verified principal of type `P`, if the authentication step admitted one.
fn verified<P: Principal>(parts: &Parts) -> Option<P> {
    parts
        .extensions
        .get::<RequestContext>()?
        .caller
        .as_deref()?
        .as_any()
        .downcast_ref::<P>()
        .cloned()
}

fn principal_from<P: Principal>(parts: &Parts) -> Result<P, Rejection> {
    verified(parts).ok_or_else(|| {
        audit::missing_principal(std::any::type_name::<P>());
        Rejection::Unauthorized { token_given: false }
    })
}
