//! Step 3, `role`/`roles` and `scope`/`scopes`: the principal holds at least one of the
//! roles and every one of the scopes, 403 otherwise.

use http::request::Parts;

use crate::audit::{self, Route, Step};
use crate::auth::DynAuthenticator;
use crate::policy::Policy;
use crate::principal::AnyPrincipal;
use crate::rejection::Rejection;

pub(crate) fn authorize(
    route: &Route,
    policy: &Policy,
    authenticator: &dyn DynAuthenticator,
    parts: &Parts,
) -> Result<(), Rejection> {
    let verdict = match authenticator.principal(&parts.extensions) {
        Some(principal) => roles_and_scopes(principal, policy),
        None => Err("no authenticated principal".into()),
    };
    match verdict {
        Ok(()) => {
            audit::allow(route, Step::Authorize, "the roles and scopes are held");
            Ok(())
        }
        Err(reason) => {
            audit::deny(route, Step::Authorize, &reason);
            Err(Rejection::Forbidden)
        }
    }
}

fn roles_and_scopes(principal: &dyn AnyPrincipal, policy: &Policy) -> Result<(), String> {
    let roles = policy.roles();
    if !roles.is_empty() && !roles.iter().any(|role| principal.has_role(role)) {
        return Err(format!(
            "principal {:?} holds none of the roles {:?}",
            principal.id(),
            roles
        ));
    }
    if let Some(missing) = policy.scopes().iter().find(|s| !principal.has_scope(s)) {
        return Err(format!(
            "principal {:?} lacks scope {missing:?}",
            principal.id()
        ));
    }
    Ok(())
}
