//! `tenant = "post.org_id"`: the loaded resource's field must equal the principal's
//! tenant. Another tenant's resource is 404 (a tenant never learns what another holds);
//! a principal without a tenant is 403.

use http::request::Parts;

use super::Admitted;
use crate::audit::{self, Step};
use crate::handler::SecureHandler;
use crate::rejection::Rejection;
use crate::resource::OwnerId;

/// The resource's tenant field against the principal's tenant.
pub fn check_tenant<H, F>(admitted: &Admitted, parts: &Parts, tenant: &F) -> Result<(), Rejection>
where
    H: SecureHandler,
    F: OwnerId + ?Sized,
{
    let route = admitted.audit_route();
    let principal = admitted
        .authenticator(H::POLICY)
        .and_then(|(authenticator, _)| authenticator.principal(&parts.extensions));
    let Some(principal) = principal else {
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
