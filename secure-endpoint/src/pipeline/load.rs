//! Step 4, `owner`: the resource the path names, loaded through its
//! [`Resource`](crate::Resource) implementation (missing is 404), and its owner field
//! compared with the principal (someone else's is 403, or 404 when the settings hide
//! existence; `owner_or_role` lets that role pass).

use axum::response::{IntoResponse, Response};
use http::request::Parts;

use super::Admitted;
use super::extract::from_parts;
use crate::audit::{self, Route, Step};
use crate::handler::SecureHandler;
use crate::rejection::Rejection;
use crate::resource::{LoadableFrom, OwnerId};

/// Loads the resource `R` named by the path.
pub async fn load_resource<R, S, H>(parts: &mut Parts, state: &S) -> Result<R, Response>
where
    R: LoadableFrom<S>,
    S: Send + Sync,
    H: SecureHandler,
{
    let axum::extract::Path(key) =
        from_parts::<axum::extract::Path<R::Key>, S, H>(parts, state).await?;
    match R::load_from(key, state).await {
        Ok(Some(resource)) => Ok(resource),
        Ok(None) => {
            audit::deny(
                &Route::of::<H>(parts),
                Step::Owner,
                "the resource does not exist",
            );
            Err(Rejection::NotFound.into_response())
        }
        Err(error) => Err(error.into_response()),
    }
}

/// The loaded resource's owner field against the principal, or the principal's role
/// when `owner_or_role` is given.
pub fn check_owner<H, F>(admitted: &Admitted, parts: &Parts, owner: &F) -> Result<(), Rejection>
where
    H: SecureHandler,
    F: OwnerId + ?Sized,
{
    let route = Route::of::<H>(parts);
    let security = admitted.context().and_then(|c| c.security());
    let authenticator = admitted.authenticator(H::POLICY).map(|(a, _)| a);
    let (Some(security), Some(authenticator)) = (security, authenticator) else {
        audit::deny(
            &route,
            Step::Owner,
            "no security settings to check ownership with",
        );
        return Err(Rejection::Internal);
    };
    let Some(principal) = authenticator.principal(&parts.extensions) else {
        audit::deny(&route, Step::Owner, "no authenticated principal");
        return Err(Rejection::Internal);
    };
    if owner.is_owned_by(principal.id()) {
        audit::allow(&route, Step::Owner, "the principal owns the resource");
        return Ok(());
    }
    if let Some(role) = H::POLICY.owner_or_role()
        && principal.has_role(role)
    {
        audit::allow(
            &route,
            Step::Owner,
            "the principal holds the owner_or_role role",
        );
        return Ok(());
    }
    audit::deny(
        &route,
        Step::Owner,
        "the principal does not own the resource",
    );
    if security.hide_forbidden {
        Err(Rejection::NotFound)
    } else {
        Err(Rejection::Forbidden)
    }
}
