//! Step 1b, the principal check: the verified principal must still be one the
//! application serves ([`SecurityBuilder::principal_check`]), and its token no older
//! than the account. Otherwise 401, as for any invalid credential; a check that fails is
//! a generic 500.
//!
//! [`SecurityBuilder::principal_check`]: crate::SecurityBuilder::principal_check

use crate::audit::{self, Route, Step};
use crate::rejection::Rejection;
use crate::revoker::Presented;
use crate::standing::{self, PrincipalCheck};

pub(crate) async fn check_standing(
    route: &Route,
    check: &PrincipalCheck,
    presented: &Presented,
) -> Result<(), Rejection> {
    let standing = match check.standing(&presented.principal).await {
        Ok(standing) => standing,
        Err(error) => {
            audit::deny_with(
                route,
                Step::Authenticate,
                "the principal check failed",
                &error.to_string(),
            );
            return Err(Rejection::Internal);
        }
    };
    let issued_at = presented.facts.as_ref().and_then(|f| f.issued_at_ms);
    match standing::refusal(standing, issued_at) {
        None => Ok(()),
        Some(reason) => {
            audit::deny(route, Step::Authenticate, reason);
            Err(Rejection::Unauthorized { token_given: true })
        }
    }
}
