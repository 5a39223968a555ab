//! Step 4, `owner`: the resource the path names, loaded through its
//! [`Resource`](crate::Resource) implementation (missing is 404), and its owner field
//! compared with the principal (someone else's is 403, or 404 when the settings hide
//! existence; `owner_or_role` lets that role pass).

use axum::extract::{FromRequestParts, Path};
use axum::response::{IntoResponse, Response};
use http::request::Parts;

use super::Admitted;
use super::admitted::refused_by_extractor;
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
    let Path(key) = Path::<R::Key>::from_request_parts(parts, state)
        .await
        .map_err(|refusal| {
            refused_by_extractor::<Path<R::Key>>(
                &Route::of(H::NAME, parts),
                refusal.into_response(),
            )
        })?;
    match R::load_from(key, state).await {
        Ok(Some(resource)) => Ok(resource),
        Ok(None) => {
            audit::deny(
                &Route::of(H::NAME, parts),
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
pub fn check_owner<H, F>(admitted: &Admitted, owner: &F) -> Result<(), Rejection>
where
    H: SecureHandler,
    F: OwnerId + ?Sized,
{
    let route = admitted.audit_route();
    let (Some(entry), Some(principal)) = (admitted.route(), admitted.caller()) else {
        audit::deny(route, Step::Owner, "no authenticated principal");
        return Err(Rejection::Internal);
    };
    if owner.is_owned_by(principal.id()) {
        audit::allow(route, Step::Owner, "the principal owns the resource");
        return Ok(());
    }
    if let Some(role) = H::POLICY.owner_or_role()
        && principal.has_role(role)
    {
        audit::allow(
            route,
            Step::Owner,
            "the principal holds the owner_or_role role",
        );
        return Ok(());
    }
    audit::deny(
        route,
        Step::Owner,
        "the principal does not own the resource",
    );
    if entry.hides_forbidden() {
        Err(Rejection::NotFound)
    } else {
        Err(Rejection::Forbidden)
    }
}

#[cfg(test)]
mod tests {
    use http::StatusCode;

    use crate::pipeline::harness::{Note, bearer, empty, request, send, settings, token};
    use crate::routing::get;
    use crate::{SecureRouter, secure};

    #[secure(auth, owner = "note.owner", owner_or_role = "admin")]
    async fn read(note: Note) -> String {
        format!("note {}", note.id)
    }

    fn router(hide: bool) -> SecureRouter {
        SecureRouter::new()
            .route("/notes/{id}", get(read))
            .with_security(settings().hide_forbidden_resources(hide).build().unwrap())
    }

    async fn as_user(hide: bool, path: &str, roles: &[&str]) -> (StatusCode, String) {
        let answer = send(
            router(hide),
            empty(bearer(request("GET", path), &token("7", roles))),
        )
        .await;
        (answer.status, answer.body)
    }

    #[tokio::test]
    async fn the_owner_reads_and_the_role_passes_too() {
        assert_eq!(
            as_user(false, "/notes/1", &[]).await,
            (StatusCode::OK, "note 1".to_owned())
        );
        assert_eq!(
            as_user(false, "/notes/2", &["admin"]).await,
            (StatusCode::OK, "note 2".to_owned())
        );
    }

    #[tokio::test]
    async fn someone_else_s_note_is_403_or_hidden_as_404() {
        assert_eq!(
            as_user(false, "/notes/2", &[]).await,
            (StatusCode::FORBIDDEN, r#"{"error":"Forbidden"}"#.to_owned())
        );
        assert_eq!(
            as_user(true, "/notes/2", &[]).await,
            (StatusCode::NOT_FOUND, r#"{"error":"Not found"}"#.to_owned())
        );
    }

    #[tokio::test]
    async fn a_missing_note_is_404_and_a_key_that_is_no_key_is_400() {
        assert_eq!(
            as_user(false, "/notes/99", &[]).await.0,
            StatusCode::NOT_FOUND
        );
        let (status, body) = as_user(false, "/notes/one';--", &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body, r#"{"error":"Bad request"}"#);
    }
}
