//! Step 1c, revocation: a token revoked by its `jti`, or issued before its principal's
//! "revoked before" moment, is 401 like any invalid one. Where revocation is configured,
//! a token without `iat`, or living longer than the revocations are kept, is refused too.
//!
//! With revocations in the Redis the route's limit counts in, the question goes with the
//! limit's own script ([`super::limit`]): one round trip for both. With Redis
//! unreachable, the answer is this instance's own revocations, or 503 when the settings
//! fail closed.

use crate::audit::{self, Route, Step};
use crate::rejection::Rejection;
use crate::revocation::{RevocationStore, Verdict};
use crate::revoker::Presented;

/// What is left to ask the shared store with the limit, if anything.
pub(crate) enum Pending {
    /// Nothing: the token was judged here.
    Judged,
    /// The question, for the limit's script.
    #[cfg(feature = "redis")]
    WithLimit(crate::revocation::redis::RevocationQuery),
}

pub(crate) async fn check_revocation(
    route: &Route,
    store: &RevocationStore,
    presented: &Presented,
    limit_url: Option<&str>,
) -> Result<Pending, Rejection> {
    let Some(facts) = presented.facts.as_ref() else {
        // Not a token revocations know (an API key).
        return Ok(Pending::Judged);
    };
    if let Some(reason) = store.inadmissible(Some(facts)) {
        audit::deny(route, Step::Authenticate, reason);
        return Err(Rejection::Unauthorized { token_given: true });
    }
    #[cfg(feature = "redis")]
    if let Some(url) = limit_url
        && let Some(query) = store.query_on(url, &presented.principal, facts)
    {
        return Ok(Pending::WithLimit(query));
    }
    #[cfg(not(feature = "redis"))]
    let _ = limit_url;
    judge(route, store.verdict(&presented.principal, facts).await)
}

/// The refusal of a verdict, if it is one.
pub(crate) fn judge(route: &Route, verdict: Verdict) -> Result<Pending, Rejection> {
    match verdict {
        Verdict::Valid => {
            audit::allow(route, Step::Authenticate, "the token is not revoked");
            Ok(Pending::Judged)
        }
        Verdict::Revoked => {
            audit::deny(route, Step::Authenticate, "the token was revoked");
            Err(Rejection::Unauthorized { token_given: true })
        }
        Verdict::Unavailable => {
            audit::deny(
                route,
                Step::Authenticate,
                "the shared revocations are unreachable and fail closed",
            );
            Err(Rejection::Unavailable)
        }
    }
}
