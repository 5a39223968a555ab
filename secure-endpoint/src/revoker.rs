//! The extractor through which handlers revoke tokens and drop a principal's cached
//! standing: logout, logout everywhere, a deleted account.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use http::request::Parts;

use crate::audit::{self, Revoked};
use crate::auth::Presented;
use crate::context::RequestContext;
use crate::error::Error;
use crate::rejection::Rejection;
use crate::revocation::RevocationStore;
use crate::standing::PrincipalCheck;

/// Revokes tokens: the one this request presented, or all of a principal's. Needs
/// [`SecurityBuilder::revocation`](crate::SecurityBuilder::revocation); a handler taking
/// it on a router without revocation answers a generic 500, the missing setting named
/// in the log.
///
/// ```
/// use axum::http::StatusCode;
/// use secure_endpoint::{Claims, Error, Revoker, secure};
///
/// /// Logs out: this token stops working at once, the caller's others keep working.
/// #[secure(auth)]
/// async fn logout(revoker: Revoker) -> Result<StatusCode, Error> {
///     revoker.revoke_this_token().await?;
///     Ok(StatusCode::NO_CONTENT)
/// }
///
/// /// Logs out everywhere: every token issued to the caller until now stops working.
/// #[secure(auth)]
/// async fn logout_all(claims: Claims, revoker: Revoker) -> StatusCode {
///     revoker.revoke_all_tokens_of(&claims.sub).await;
///     StatusCode::NO_CONTENT
/// }
/// ```
pub struct Revoker {
    store: Arc<RevocationStore>,
    standing: Option<Arc<PrincipalCheck>>,
    presented: Option<Presented>,
}

impl std::fmt::Debug for Revoker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Revoker")
            .field("presented", &self.presented)
            .finish_non_exhaustive()
    }
}

impl Revoker {
    /// Revokes the token this request presented, until its `exp`. An error (500) when the
    /// request presented none, or one without `jti` or `exp`.
    pub async fn revoke_this_token(&self) -> Result<(), Error> {
        let presented = self
            .presented
            .as_ref()
            .ok_or_else(|| Error::internal("revoke_this_token: the request presented no token"))?;
        let facts = presented
            .facts
            .as_ref()
            .ok_or_else(|| Error::internal("revoke_this_token: the request presented no token"))?;
        let (Some(id), Some(expires_at)) = (facts.id.as_deref(), facts.expires_at) else {
            return Err(Error::internal(
                "revoke_this_token: the token has no jti or exp; revoke all of its principal's tokens instead",
            ));
        };
        self.store
            .revoke_token(presented.principal_id(), id, expires_at)
            .await;
        audit::revoked(Revoked::Token { jti: id });
        Ok(())
    }

    /// Revokes every token of `principal` issued until now (tokens issued from now on
    /// work), and drops its cached standing.
    pub async fn revoke_all_tokens_of(&self, principal: &str) {
        self.store.revoke_all(principal).await;
        self.forget_principal(principal);
        audit::revoked(Revoked::AllOf { principal });
    }

    /// Drops `principal`'s cached [`principal_check`](crate::SecurityBuilder::principal_check)
    /// answer, so that a change the application just made (an account deleted or
    /// disabled) is seen on its next request.
    pub fn forget_principal(&self, principal: &str) {
        if let Some(standing) = &self.standing {
            standing.forget(principal);
        }
    }

    /// The principal whose token this request presented.
    pub fn principal(&self) -> Option<&str> {
        self.presented.as_ref().map(Presented::principal_id)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Revoker {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let context = parts
            .extensions
            .get::<RequestContext>()
            .map(|request| &request.context);
        let Some(store) = context.and_then(|c| c.revocations()).cloned() else {
            audit::misconfigured(
                "a handler takes a Revoker, but the security settings have no revocation: set `Security::builder().revocation(Revocations::memory())`",
            );
            return Err(Rejection::Internal);
        };
        Ok(Revoker {
            store,
            standing: context.and_then(|c| c.principal_check()).cloned(),
            presented: parts.extensions.get::<Presented>().cloned(),
        })
    }
}
