//! Step 2, `rate`: the route's limit, counted on the principal or the client address.
//! Over the limit is 429 with `Retry-After`; a shared limiter that is down and fails
//! closed is 503. When the token's revocation lives in the same Redis, its question
//! goes with the limit's in one script, and a revoked token is 401 (and not counted).

use http::request::Parts;

use super::Admitted;
use super::revocation::Pending;
use crate::audit::{self, Route, Step};
use crate::auth::DynAuthenticator;
use crate::rate::{LimitKey, Outcome, RateKey};
use crate::rejection::Rejection;
#[cfg(feature = "redis")]
use crate::revocation::Verdict;
#[cfg(feature = "redis")]
use crate::revoker::Presented;

pub(crate) async fn limit(
    route: &Route,
    admitted: &Admitted,
    key: RateKey,
    authenticator: Option<&dyn DynAuthenticator>,
    parts: &Parts,
    revocation: Pending,
) -> Result<(), Rejection> {
    let Some(limiter) = admitted.route().and_then(|r| r.limiter()) else {
        audit::deny(route, Step::Rate, "no limiter was built for this route");
        return Err(Rejection::Internal);
    };
    let user = || {
        authenticator
            .and_then(|a| a.principal(&parts.extensions))
            .map(|principal| LimitKey::User(principal.id()))
    };
    let ip = || {
        admitted
            .context()
            .and_then(|c| c.security())
            .and_then(|s| s.proxies.client_key(parts))
            .map(LimitKey::Ip)
    };
    let key = match key {
        RateKey::User => user(),
        RateKey::Ip => ip(),
        RateKey::Caller => user().or_else(ip),
    };
    let Some(key) = key else {
        audit::deny(
            route,
            Step::Rate,
            "no key to count on (no principal, or no connection info)",
        );
        return Err(Rejection::Internal);
    };
    let outcome = match revocation {
        Pending::Judged => limiter.check(&key).await,
        #[cfg(feature = "redis")]
        Pending::WithLimit(query) => {
            let (outcome, revoked) = limiter.check_with_revocation(&key, &query).await;
            let store = admitted
                .context()
                .and_then(|c| c.security())
                .and_then(|s| s.revocations.as_deref());
            match (revoked, store) {
                (Some(revoked), Some(store)) => {
                    store.answered_with_limit();
                    super::revocation::judge(
                        route,
                        if revoked {
                            Verdict::Revoked
                        } else {
                            Verdict::Valid
                        },
                    )?;
                }
                // The limit was answered without Redis (a key known to be over, or Redis
                // down): the revocation is asked on its own, unless the answer is a
                // refusal anyway.
                (None, Some(store)) if outcome == Outcome::Allowed => {
                    let presented = parts.extensions.get::<Presented>();
                    if let Some(presented) = presented
                        && let Some(facts) = presented.facts.as_ref()
                    {
                        super::revocation::judge(
                            route,
                            store.verdict(&presented.principal, facts).await,
                        )?;
                    }
                }
                _ => {}
            }
            outcome
        }
    };
    match outcome {
        Outcome::Allowed => {
            audit::allow(route, Step::Rate, "within the limit");
            Ok(())
        }
        Outcome::Refused { retry_after } => {
            audit::deny(route, Step::Rate, "over the limit");
            Err(Rejection::TooManyRequests {
                rate: limiter.rate(),
                retry_after,
            })
        }
        Outcome::Unavailable => {
            audit::deny(
                route,
                Step::Rate,
                "the shared limiter is unreachable and fails closed",
            );
            Err(Rejection::Unavailable)
        }
    }
}
