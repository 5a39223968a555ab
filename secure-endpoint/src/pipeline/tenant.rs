//! `tenant = "post.org_id"`: the loaded resource's field must equal the principal's
//! tenant. Another tenant's resource is 404 (a tenant never learns what another holds);
//! a principal without a tenant is 403.

use super::Admitted;
use crate::audit::{self, Step};
use crate::handler::SecureHandler;
use crate::rejection::Rejection;
use crate::resource::OwnerId;

/// The resource's tenant field against the principal's tenant.
pub fn check_tenant<H, F>(admitted: &Admitted, tenant: &F) -> Result<(), Rejection>
where
    H: SecureHandler,
    F: OwnerId + ?Sized,
{
    let route = admitted.audit_route();
    let Some(principal) = admitted.caller() else {
        audit::deny(route, Step::Tenant, "no authenticated principal");
        return Err(Rejection::Internal);
    };
    let Some(own) = principal.tenant() else {
        audit::deny(route, Step::Tenant, "the principal has no tenant");
        return Err(Rejection::Forbidden);
    };
    if tenant.is_owned_by(own) {
        audit::allow(
            route,
            Step::Tenant,
            "the resource is the principal's tenant's",
        );
        Ok(())
    } else {
        audit::deny(route, Step::Tenant, "the resource is another tenant's");
        Err(Rejection::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use http::StatusCode;

    use crate::pipeline::harness::{
        Member, Note, bearer, empty, member_settings, member_token, request, send,
    };
    use crate::routing::get;
    use crate::{Authenticated, SecureRouter, secure};

    #[secure(auth, tenant = "note.org")]
    async fn read(note: Note, Authenticated(member): Authenticated<Member>) -> String {
        format!("note {} for {}", note.id, member.sub)
    }

    async fn as_member(org: Option<&str>, path: &str) -> (StatusCode, String) {
        let router = SecureRouter::new()
            .route("/notes/{id}", get(read))
            .with_security(member_settings().build().unwrap());
        let answer = send(
            router,
            empty(bearer(request("GET", path), &member_token("9", org))),
        )
        .await;
        (answer.status, answer.body)
    }

    #[tokio::test]
    async fn a_member_reads_its_organisation_s_note() {
        assert_eq!(
            as_member(Some("acme"), "/notes/1").await,
            (StatusCode::OK, "note 1 for 9".to_owned())
        );
    }

    #[tokio::test]
    async fn another_organisation_s_note_is_404_as_if_it_did_not_exist() {
        assert_eq!(
            as_member(Some("acme"), "/notes/2").await,
            as_member(Some("acme"), "/notes/99").await
        );
        assert_eq!(
            as_member(Some("acme"), "/notes/2").await.0,
            StatusCode::NOT_FOUND
        );
    }

    #[tokio::test]
    async fn a_principal_without_an_organisation_is_403() {
        assert_eq!(as_member(None, "/notes/1").await.0, StatusCode::FORBIDDEN);
    }
}
