//! Step 2, `rate`: the route's limit, counted on the principal or the client address.
//! Over the limit is 429 with `Retry-After`; a shared limiter that is down and fails
//! closed is 503.

use http::request::Parts;

use super::Admitted;
use crate::audit::{self, Route, Step};
use crate::auth::DynAuthenticator;
use crate::rate::{LimitKey, Outcome, RateKey};
use crate::rejection::Rejection;

pub(crate) async fn limit(
    route: &Route,
    admitted: &Admitted,
    key: RateKey,
    authenticator: Option<&dyn DynAuthenticator>,
    parts: &Parts,
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
    match limiter.check(&key).await {
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
