//! Step 2, `rate` and `limit(...)`: every limit of the route, checked together, each
//! counted on its key (the principal, the client address, or a field of the validated
//! body). Over a limit is 429 with the `Retry-After` of the limit that refused, and a
//! refused request spends nothing on the others; a shared limiter that is down and fails
//! closed is 503. When the token's revocation lives in the same Redis, its question goes
//! with the limits' in one script, and a revoked token is 401 (and not counted).
//!
//! A route with a limit on a body field is checked once the body is validated
//! ([`limit_inputs`]): before that, only what this instance already knows to be over
//! is refused, without counting. A limit of failures (`on = "failure"`) is only asked
//! here; the handler's 401 or 403 is counted afterwards ([`super::failures`]).

use std::net::IpAddr;

use axum::response::{IntoResponse, Response};
use http::request::Parts;

use super::Admitted;
use super::revocation::Pending;
use crate::audit::{self, Route, Step};
use crate::auth::DynAuthenticator;
use crate::handler::SecureHandler;
use crate::rate::{Counts, KeptKey, Limit, LimitKey, Outcome, RateKey, RouteLimits};
use crate::rejection::Rejection;
#[cfg(feature = "redis")]
use crate::revocation::Verdict;
#[cfg(feature = "redis")]
use crate::revoker::Presented;

/// What the keys of a request are made of.
struct Keys<'k> {
    user: Option<&'k str>,
    ip: Option<IpAddr>,
    /// The normalised body fields, by the field as the attribute names it.
    inputs: &'k [(&'static str, String)],
}

impl<'k> Keys<'k> {
    /// The keys `limits` count on; the client address is worked out only when one of
    /// them counts on it.
    fn of(
        admitted: &Admitted,
        limits: &RouteLimits,
        authenticator: Option<&dyn DynAuthenticator>,
        parts: &'k Parts,
        inputs: &'k [(&'static str, String)],
    ) -> Keys<'k> {
        let counts_on_address = (0..limits.len())
            .any(|i| matches!(limits.limit(i).key(), RateKey::Ip | RateKey::Caller));
        Keys {
            user: authenticator
                .and_then(|a| a.principal(&parts.extensions))
                .map(|principal| principal.id()),
            ip: counts_on_address
                .then(|| admitted.context().and_then(|c| c.security()))
                .flatten()
                .and_then(|s| s.proxies.client_key(parts)),
            inputs,
        }
    }

    fn key(&self, limit: &Limit) -> Option<LimitKey<'k>> {
        match limit.key() {
            RateKey::User => self.user.map(LimitKey::User),
            RateKey::Ip => self.ip.map(LimitKey::Ip),
            RateKey::Caller => self.user.map(LimitKey::User).or(self.ip.map(LimitKey::Ip)),
            RateKey::Input(field) => self
                .inputs
                .iter()
                .find(|(name, _)| *name == field)
                .map(|(_, value)| LimitKey::Input(value)),
        }
    }
}

/// The limits of the route the request was routed to.
fn route_limits<'a>(route: &Route, admitted: &'a Admitted) -> Result<&'a RouteLimits, Rejection> {
    admitted.route().and_then(|r| r.limits()).ok_or_else(|| {
        audit::deny(route, Step::Rate, "no limiter was built for this route");
        Rejection::Internal
    })
}

/// Step 2: every limit, or on a route with a body-field limit, what is known to be
/// over. Returns the keys of the limits of failures, kept to count the handler's answer.
pub(crate) async fn limit(
    route: &Route,
    admitted: &Admitted,
    authenticator: Option<&dyn DynAuthenticator>,
    parts: &Parts,
    revocation: Pending,
) -> Result<Vec<(usize, KeptKey)>, Rejection> {
    let limits = route_limits(route, admitted)?;
    let keys = Keys::of(admitted, limits, authenticator, parts, &[]);
    if limits.has_input() {
        if let Some((index, retry_after)) = limits.known_refusal(|i| keys.key(limits.limit(i))) {
            audit::deny(
                route,
                Step::Rate,
                "over the limit (known before the body is read)",
            );
            return Err(too_many(limits, index, retry_after));
        }
        judge_alone(route, admitted, parts, revocation).await?;
        return Ok(Vec::new());
    }
    decide(route, admitted, limits, &keys, parts, revocation).await
}

/// The limits of a route with a body-field limit, once the body is validated: `fields`
/// are the fields the limits name, as the attribute names them, with their values.
pub async fn limit_inputs<H: SecureHandler>(
    admitted: &mut Admitted,
    parts: &Parts,
    fields: &[(&'static str, &str)],
) -> Result<(), Response> {
    let route = admitted.audit_route();
    let inputs: Vec<(&'static str, String)> = fields
        .iter()
        .map(|(name, value)| (*name, crate::rate::normalize_input(value)))
        .collect();
    let kept = {
        let limits = route_limits(route, admitted).map_err(IntoResponse::into_response)?;
        let authenticator = admitted
            .authenticator(H::POLICY)
            .map(|(authenticator, _)| authenticator);
        let keys = Keys::of(admitted, limits, authenticator, parts, &inputs);
        decide(route, admitted, limits, &keys, parts, Pending::Judged)
            .await
            .map_err(IntoResponse::into_response)?
    };
    admitted.keep_failure_keys(kept);
    Ok(())
}

/// Every limit checked together, with the revocation question when it rides along.
async fn decide(
    route: &Route,
    admitted: &Admitted,
    limits: &RouteLimits,
    keys: &Keys<'_>,
    parts: &Parts,
    revocation: Pending,
) -> Result<Vec<(usize, KeptKey)>, Rejection> {
    let key = |i: usize| keys.key(limits.limit(i));
    #[cfg(feature = "redis")]
    let query = match &revocation {
        Pending::WithLimit(query) => Some(query),
        Pending::Judged => None,
    };
    let checked = limits
        .check(
            key,
            #[cfg(feature = "redis")]
            query,
        )
        .await;
    let Ok(verdict) = checked else {
        audit::deny(
            route,
            Step::Rate,
            "no key to count on (no principal, or no connection info)",
        );
        return Err(Rejection::Internal);
    };
    #[cfg(feature = "redis")]
    if let Pending::WithLimit(_) = revocation {
        let store = admitted
            .context()
            .and_then(|c| c.security())
            .and_then(|s| s.revocations.as_deref());
        match (verdict.revoked, store) {
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
            // The limits were answered without Redis (a key known to be over, or Redis
            // down): the revocation is asked on its own, unless the answer is a
            // refusal anyway.
            (None, Some(_)) if verdict.outcome == Outcome::Allowed => {
                ask_revocation(route, admitted, parts).await?;
            }
            _ => {}
        }
    }
    #[cfg(not(feature = "redis"))]
    let _ = (revocation, parts, admitted);
    match verdict.outcome {
        Outcome::Allowed => {
            audit::allow(route, Step::Rate, "within every limit");
            Ok((0..limits.len())
                .filter(|&i| limits.limit(i).counts() == Counts::Failure)
                .filter_map(|i| Some((i, KeptKey::keep(&key(i)?))))
                .collect())
        }
        Outcome::Refused { retry_after } => {
            audit::deny_with(
                route,
                Step::Rate,
                "over the limit",
                &limits.limit(verdict.refused_by).name(),
            );
            Err(too_many(limits, verdict.refused_by, retry_after))
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

/// A revocation question that was to ride with the limits, asked on its own.
#[cfg_attr(not(feature = "redis"), allow(unused_variables))]
async fn judge_alone(
    route: &Route,
    admitted: &Admitted,
    parts: &Parts,
    revocation: Pending,
) -> Result<(), Rejection> {
    match revocation {
        Pending::Judged => Ok(()),
        #[cfg(feature = "redis")]
        Pending::WithLimit(_) => ask_revocation(route, admitted, parts).await,
    }
}

/// The token's revocation, asked of the store alone.
#[cfg(feature = "redis")]
async fn ask_revocation(
    route: &Route,
    admitted: &Admitted,
    parts: &Parts,
) -> Result<(), Rejection> {
    let store = admitted
        .context()
        .and_then(|c| c.security())
        .and_then(|s| s.revocations.as_deref());
    if let Some(store) = store
        && let Some(presented) = parts.extensions.get::<Presented>()
        && let Some(facts) = presented.facts.as_ref()
    {
        super::revocation::judge(route, store.verdict(&presented.principal, facts).await)?;
    }
    Ok(())
}

fn too_many(
    limits: &RouteLimits,
    refused_by: usize,
    retry_after: std::time::Duration,
) -> Rejection {
    Rejection::TooManyRequests {
        limits: limits.declared(),
        refused: *limits.limit(refused_by),
        retry_after,
    }
}
