//! Step 2, `rate` and `limit(...)`: every limit of the route, checked together, each
//! counted on its key (the principal, the client address, or a field of the validated
//! body). Over a limit is 429 with the `Retry-After` of the limit that refused, and a
//! refused request spends nothing on the others; a shared limiter that is down and fails
//! closed is 503. When the token's revocation question rides on the limits' Redis
//! script, its answer is handed back as it came: judging it is
//! [`super::revocation`]'s.
//!
//! A route with a limit on a body field is checked once the body is validated
//! ([`limit_inputs`]): before that, only what this instance already knows to be over
//! is refused, without counting. A limit of failures (`on = "failure"`) is only asked
//! here; the handler's 401 or 403 is counted afterwards ([`super::failures`]).

use std::net::IpAddr;

use axum::response::{IntoResponse, Response};
use http::request::Parts;

use super::Admitted;
use super::admitted::DeviceLogin;
use crate::audit::{self, Step};
use crate::context::RouteContext;
use crate::handler::SecureHandler;
use crate::rate::{Counts, KeptKey, Limit, LimitKey, Outcome, RateKey, RouteLimits};
#[cfg(feature = "redis")]
use crate::redis_connection::RevocationQuery;
use crate::rejection::Rejection;

/// What the limits answered: the keys of the limits of failures when they admitted, kept
/// to count the handler's answer; and whether the token asked about in the same round
/// trip is revoked, `None` when Redis was not asked.
pub(crate) struct Limited {
    pub(crate) verdict: Result<Vec<(usize, KeptKey)>, Rejection>,
    pub(crate) revoked: Option<bool>,
}

/// What the keys of a request are made of.
struct Keys<'k> {
    user: Option<&'k str>,
    ip: Option<IpAddr>,
    /// The normalised body fields, by the field as the attribute names it.
    inputs: &'k [(&'static str, String)],
    /// The key of the device that logged in as the name in the field, when the request
    /// presents its credential: a limit with `except = "device"` counts on it.
    device: Option<(&'static str, &'k str)>,
}

impl<'k> Keys<'k> {
    /// The keys `limits` count on; the client address is worked out only when one of
    /// them counts on it.
    fn of(
        admitted: &'k Admitted,
        route: &RouteContext,
        limits: &RouteLimits,
        parts: &Parts,
        inputs: &'k [(&'static str, String)],
    ) -> Keys<'k> {
        let counts_on_address = (0..limits.len())
            .any(|i| matches!(limits.limit(i).key(), RateKey::Ip | RateKey::Caller));
        Keys {
            user: admitted.caller().map(|caller| caller.id()),
            ip: counts_on_address
                .then(|| route.proxies().client_key(parts))
                .flatten(),
            inputs,
            device: None,
        }
    }

    fn key(&self, limit: &Limit) -> Option<LimitKey<'k>> {
        if let (true, RateKey::Input(field), Some((device_field, device))) =
            (limit.excepts_devices(), limit.key(), self.device)
            && field == device_field
        {
            return Some(LimitKey::Input(device));
        }
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

/// The route's entry and its limits.
fn route_limits(admitted: &Admitted) -> Result<(&RouteContext, &RouteLimits), Rejection> {
    admitted
        .route()
        .and_then(|route| Some((route, route.limits()?)))
        .ok_or_else(|| {
            audit::deny(
                admitted.audit_route(),
                Step::Rate,
                "no limiter was built for this route",
            );
            Rejection::Internal
        })
}

/// Step 2: every limit, or on a route with a body-field limit, what is known to be
/// over; with `question`, the token's revocation asked in the same round trip.
pub(crate) async fn limit(
    admitted: &Admitted,
    parts: &Parts,
    #[cfg(feature = "redis")] question: Option<&RevocationQuery>,
) -> Limited {
    let (route, limits) = match route_limits(admitted) {
        Ok(found) => found,
        Err(rejection) => {
            return Limited {
                verdict: Err(rejection),
                revoked: None,
            };
        }
    };
    let keys = Keys::of(admitted, route, limits, parts, &[]);
    if limits.has_input() {
        let known = limits.known_refusal(|i| keys.key(limits.limit(i)));
        let verdict = match known {
            Some((index, retry_after)) => {
                audit::deny(
                    admitted.audit_route(),
                    Step::Rate,
                    "over the limit (known before the body is read)",
                );
                if let Some(metrics) = admitted.audit_route().metrics() {
                    metrics.rate_limited(index);
                }
                Err(too_many(limits, index, retry_after))
            }
            None => Ok(Vec::new()),
        };
        return Limited {
            verdict,
            revoked: None,
        };
    }
    decide(
        admitted,
        limits,
        &keys,
        #[cfg(feature = "redis")]
        question,
    )
    .await
}

/// The limits of a route with a body-field limit, once the body is validated: `fields`
/// are the fields the limits name, as the attribute names them, with their values.
pub async fn limit_inputs<H: SecureHandler>(
    admitted: &mut Admitted,
    parts: &Parts,
    fields: &[(&'static str, &str)],
) -> Result<(), Response> {
    let (kept, device_login) = {
        let (route, limits) = route_limits(admitted).map_err(IntoResponse::into_response)?;
        let inputs: Vec<(&'static str, String)> = fields
            .iter()
            .map(|(name, value)| (*name, route.limit_key(value)))
            .collect();
        let mut keys = Keys::of(admitted, route, limits, parts, &inputs);
        // A limit that spares the name's own devices: the name logging in, and the
        // device the request presents a credential of for that name, if any.
        let device_login = (0..limits.len())
            .map(|i| limits.limit(i))
            .find(|limit| limit.excepts_devices())
            .and_then(|limit| match limit.key() {
                RateKey::Input(field) => inputs.iter().find(|(name, _)| *name == field),
                _ => None,
            })
            .zip(route.devices());
        let device_key = device_login.and_then(|((field, name), devices)| {
            let device = devices.device_of(crate::device::presented(&parts.headers)?, name)?;
            Some((*field, format!("device:{device}")))
        });
        keys.device = device_key
            .as_ref()
            .map(|(field, key)| (*field, key.as_str()));
        let kept = decide(
            admitted,
            limits,
            &keys,
            #[cfg(feature = "redis")]
            None,
        )
        .await
        .verdict
        .map_err(IntoResponse::into_response)?;
        let device_login = device_login.map(|((_, name), _)| DeviceLogin {
            name: name.clone(),
            known: device_key.is_some(),
        });
        (kept, device_login)
    };
    admitted.keep_failure_keys(kept);
    admitted.keep_device_login(device_login);
    Ok(())
}

/// Every limit checked together.
async fn decide(
    admitted: &Admitted,
    limits: &RouteLimits,
    keys: &Keys<'_>,
    #[cfg(feature = "redis")] question: Option<&RevocationQuery>,
) -> Limited {
    let route = admitted.audit_route();
    let key = |i: usize| keys.key(limits.limit(i));
    let checked = limits
        .check(
            key,
            #[cfg(feature = "redis")]
            question,
        )
        .await;
    let Ok(verdict) = checked else {
        audit::deny(
            route,
            Step::Rate,
            "no key to count on (no principal, or no connection info)",
        );
        return Limited {
            verdict: Err(Rejection::Internal),
            revoked: None,
        };
    };
    let decided = match verdict.outcome {
        Outcome::Allowed => {
            let mut would_refuse = verdict.would_refuse;
            while would_refuse != 0 {
                let index = would_refuse.trailing_zeros() as usize;
                would_refuse &= would_refuse - 1;
                audit::would_refuse(
                    route,
                    Step::Rate,
                    "over a limit that only reports: the request goes on",
                    &limits.limit(index).name(),
                );
            }
            audit::allow(route, Step::Rate, "within every limit that refuses");
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
            if let Some(metrics) = route.metrics() {
                metrics.rate_limited(verdict.refused_by);
            }
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
    };
    Limited {
        verdict: decided,
        revoked: verdict.revoked,
    }
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

#[cfg(test)]
mod tests {
    use http::StatusCode;

    use crate::pipeline::harness::{answer, bearer, built, empty, request, settings, token};
    use crate::routing::get;
    use crate::{Claims, SecureRouter, public, secure};

    #[secure(auth, rate = ["2/m", "100/d"])]
    async fn me(claims: Claims) -> String {
        claims.sub
    }

    #[public(rate = "1/m")]
    async fn home() -> &'static str {
        "home"
    }

    fn app() -> axum::Router {
        built(
            SecureRouter::new()
                .route("/me", get(me))
                .route("/", get(home))
                .with_security(settings().build().unwrap()),
        )
    }

    #[tokio::test]
    async fn past_the_limit_is_429_with_the_limit_that_refused() {
        let app = app();
        let alice = token("7", &[]);
        for _ in 0..2 {
            let admitted = answer(app.clone(), empty(bearer(request("GET", "/me"), &alice))).await;
            assert_eq!(admitted.status, StatusCode::OK);
        }
        let refused = answer(app.clone(), empty(bearer(request("GET", "/me"), &alice))).await;
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.body, r#"{"error":"Too many requests"}"#);
        assert_eq!(refused.headers["retry-after"], "30");
        assert_eq!(
            refused.headers["ratelimit-policy"],
            r#""2/m-user";q=2;w=60, "100/d-user";q=100;w=86400"#
        );
        // Counted per principal: another caller is not refused.
        let bob = answer(app, empty(bearer(request("GET", "/me"), &token("8", &[])))).await;
        assert_eq!(bob.status, StatusCode::OK);
    }

    #[tokio::test]
    async fn a_public_route_counts_per_address() {
        let app = app();
        assert_eq!(
            answer(app.clone(), empty(request("GET", "/"))).await.status,
            StatusCode::OK
        );
        let refused = answer(app, empty(request("GET", "/"))).await;
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.headers["ratelimit"], r#""1/m-ip";r=0;t=60"#);
    }

    #[public(rate = "2/m", rate_mode = "report", limit(rate = "4/m", key = "ip"))]
    async fn trial() -> &'static str {
        "trial"
    }

    #[tokio::test]
    async fn a_limit_that_reports_counts_but_never_refuses() {
        let app = built(
            SecureRouter::new()
                .route("/trial", get(trial))
                .with_security(settings().build().unwrap()),
        );
        // Past the reporting 2/m, up to the enforced 4/m: every one passes.
        for _ in 0..4 {
            let admitted = answer(app.clone(), empty(request("GET", "/trial"))).await;
            assert_eq!(admitted.status, StatusCode::OK);
        }
        // The enforced limit still refuses, naming itself.
        let refused = answer(app, empty(request("GET", "/trial"))).await;
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.headers["ratelimit"], r#""4/m-ip";r=0;t=15"#);
    }

    #[test]
    fn the_mode_shows_in_the_policy_and_its_refusals() {
        use crate::SecureHandler;
        let policy = <trial as SecureHandler>::POLICY;
        assert!(policy.limits()[0].reports() && !policy.limits()[1].reports());
        assert_eq!(
            policy.limits()[0].to_string(),
            "rate 2/m per ip report only"
        );
    }
}
