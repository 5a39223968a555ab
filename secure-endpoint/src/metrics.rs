//! The metrics of DESIGN §18, one place for their names and labels, recorded through the
//! `metrics` facade: the application installs the exporter it wants (Prometheus,
//! OpenTelemetry…) before it builds its router.
//!
//! | metric | labels |
//! | --- | --- |
//! | `secure_endpoint_decisions_total` | `route`, `step`, `outcome` (`allowed`, `refused`, `would_refuse`) |
//! | `secure_endpoint_rate_limited_total` | `route`, `limit` |
//! | `secure_endpoint_auth_failures_total` | `reason`, one of [`AuthFailure`]'s |
//! | `secure_endpoint_backend_fallbacks_total` | `backend` |
//! | `secure_endpoint_backend_seconds` (histogram) | `backend`, `op` |
//! | `secure_endpoint_limiter_keys` (gauge) | `backend` |
//!
//! Every label value comes from a bounded set: a route is its template (`GET
//! /posts/{id}`), never the path requested; a limit its name; no id, address or token
//! ever is one. A route's counters are registered the first time each is used, then kept
//! with the route: with no recorder installed, a decision costs one load and a call that
//! does nothing. The backends' handles are the process's, also registered at first use:
//! install the recorder before the first request, as before building the router.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram};

/// Every decision of a step: `{route, step, outcome}`.
pub(crate) const DECISIONS: &str = "secure_endpoint_decisions_total";
/// Every request a limit refused: `{route, limit}`.
pub(crate) const RATE_LIMITED: &str = "secure_endpoint_rate_limited_total";
/// Every failed authentication: `{reason}`.
pub(crate) const AUTH_FAILURES: &str = "secure_endpoint_auth_failures_total";
/// Every time a shared backend did not answer and the local fallback (or the closed
/// door) answered instead: `{backend}`.
pub(crate) const BACKEND_FALLBACKS: &str = "secure_endpoint_backend_fallbacks_total";
/// How long a backend took: `{backend, op}`, in seconds.
pub(crate) const BACKEND_SECONDS: &str = "secure_endpoint_backend_seconds";
/// How many keys a limiter holds: `{backend}`.
pub(crate) const LIMITER_KEYS: &str = "secure_endpoint_limiter_keys";

/// Gives the recorder every metric's description (its `# HELP` line), once per router
/// built.
pub(crate) fn describe() {
    metrics::describe_counter!(
        DECISIONS,
        "Decisions of the security steps, by route template, step and outcome (allowed, refused, would_refuse)"
    );
    metrics::describe_counter!(
        RATE_LIMITED,
        "Requests refused by a rate limit, by route template and limit"
    );
    metrics::describe_counter!(
        AUTH_FAILURES,
        "Failed authentications, by reason (missing, malformed, invalid, expired, revoked, unavailable)"
    );
    metrics::describe_counter!(
        BACKEND_FALLBACKS,
        "Times a shared backend did not answer and the fallback (or the closed door) answered, by backend"
    );
    metrics::describe_histogram!(
        BACKEND_SECONDS,
        metrics::Unit::Seconds,
        "Time a shared backend took to answer, by backend and operation"
    );
    metrics::describe_gauge!(LIMITER_KEYS, "Keys the rate limiters hold, by backend");
}

/// How many steps a decision can be made at (the audit log's `Step`s).
pub(crate) const STEPS: usize = 14;

/// What a step decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Allowed = 0,
    Refused = 1,
    /// A limit that only reports would have refused; the request went on.
    WouldRefuse = 2,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Refused => "refused",
            Outcome::WouldRefuse => "would_refuse",
        }
    }
}

/// One route's counters, each registered at its first use.
pub(crate) struct RouteMetrics {
    /// `METHOD /template`.
    route: String,
    decisions: [[OnceLock<Counter>; 3]; STEPS],
    /// Each limit's name and its counter of refusals.
    limits: Vec<(String, OnceLock<Counter>)>,
    /// The failed authentications, by reason (labelled by reason alone: every route's
    /// handle of one reason is the same counter).
    failures: [OnceLock<Counter>; AuthFailure::COUNT],
}

impl RouteMetrics {
    /// The counters of the route `route` (`METHOD /template`), whose limits are named
    /// `limits`.
    pub(crate) fn new(route: String, limits: Vec<String>) -> RouteMetrics {
        RouteMetrics {
            route,
            decisions: Default::default(),
            failures: Default::default(),
            limits: limits
                .into_iter()
                .map(|name| (name, OnceLock::new()))
                .collect(),
        }
    }

    /// Step number `step` (named `name`) decided `outcome`.
    pub(crate) fn decision(&self, step: usize, name: &'static str, outcome: Outcome) {
        let Some(slots) = self.decisions.get(step) else {
            return;
        };
        slots[outcome as usize]
            .get_or_init(|| {
                metrics::counter!(
                    DECISIONS,
                    "route" => self.route.clone(),
                    "step" => name,
                    "outcome" => outcome.label(),
                )
            })
            .increment(1);
    }

    /// The limit at `index` refused a request.
    pub(crate) fn rate_limited(&self, index: usize) {
        let Some((name, slot)) = self.limits.get(index) else {
            return;
        };
        slot.get_or_init(|| {
            metrics::counter!(
                RATE_LIMITED,
                "route" => self.route.clone(),
                "limit" => name.clone(),
            )
        })
        .increment(1);
    }
}

impl RouteMetrics {
    /// An authentication on this route failed for `reason`.
    pub(crate) fn auth_failure(&self, reason: AuthFailure) {
        self.failures[reason as usize]
            .get_or_init(|| metrics::counter!(AUTH_FAILURES, "reason" => reason.label()))
            .increment(1);
    }
}

/// Why an authentication failed, as the metrics count it: a small fixed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthFailure {
    /// No credential on a route that requires one.
    Missing,
    /// A credential that is not one: malformed, oversized, two of them.
    Malformed,
    /// Well formed, but its signature, issuer, audience or key did not verify.
    Invalid,
    /// Verified, but expired (or not yet valid).
    Expired,
    /// Verified, but revoked, or its principal no longer stands.
    Revoked,
    /// The authenticator could not be asked (its keys could not be fetched).
    Unavailable,
}

impl AuthFailure {
    const COUNT: usize = 6;

    fn label(self) -> &'static str {
        match self {
            AuthFailure::Missing => "missing",
            AuthFailure::Malformed => "malformed",
            AuthFailure::Invalid => "invalid",
            AuthFailure::Expired => "expired",
            AuthFailure::Revoked => "revoked",
            AuthFailure::Unavailable => "unavailable",
        }
    }

    /// The reason of an authenticator's refusal, from its message.
    pub(crate) fn of_message(message: &str) -> AuthFailure {
        let message = message.to_ascii_lowercase();
        let says = |words: &[&str]| words.iter().any(|word| message.contains(word));
        if says(&["expired", "not valid yet", "not yet valid"]) {
            AuthFailure::Expired
        } else if says(&["malformed", "base64", "json", "crit header"]) {
            AuthFailure::Malformed
        } else if says(&["fetch", "unavailable", "could not be had"]) {
            AuthFailure::Unavailable
        } else {
            AuthFailure::Invalid
        }
    }
}

/// An authentication on the route of `route` (when its entry is known) failed for
/// `reason`.
pub(crate) fn auth_failure(route: Option<&RouteMetrics>, reason: AuthFailure) {
    if let Some(route) = route {
        route.auth_failure(reason);
    }
}

/// The backends and their operations, each with its handles registered at first use.
const BACKENDS: [&str; 3] = ["redis", "jwks", "principal_check"];
const OPERATIONS: [(&str, &str); 4] = [
    ("redis", "limit"),
    ("redis", "revocation"),
    ("jwks", "fetch"),
    ("principal_check", "check"),
];
static FALLBACKS: [OnceLock<Counter>; BACKENDS.len()] = [const { OnceLock::new() }; 3];
static TIMES: [OnceLock<Histogram>; OPERATIONS.len()] = [const { OnceLock::new() }; 4];
static KEYS: OnceLock<Gauge> = OnceLock::new();

/// The shared `backend` (`redis`, `jwks`, `principal_check`) did not answer; its fallback
/// (or the closed door) answered instead.
pub(crate) fn backend_fallback(backend: &'static str) {
    if let Some(index) = BACKENDS.iter().position(|known| *known == backend) {
        FALLBACKS[index]
            .get_or_init(|| metrics::counter!(BACKEND_FALLBACKS, "backend" => backend))
            .increment(1);
    }
}

/// The shared `backend` took `took` to answer `op`.
pub(crate) fn backend_time(backend: &'static str, op: &'static str, took: Duration) {
    if let Some(index) = OPERATIONS.iter().position(|known| *known == (backend, op)) {
        TIMES[index]
            .get_or_init(|| metrics::histogram!(BACKEND_SECONDS, "backend" => backend, "op" => op))
            .record(took.as_secs_f64());
    }
}

/// The in-memory limiters hold `keys` keys.
pub(crate) fn memory_limiter_keys(keys: usize) {
    KEYS.get_or_init(|| metrics::gauge!(LIMITER_KEYS, "backend" => "memory"))
        .set(keys as f64);
}
