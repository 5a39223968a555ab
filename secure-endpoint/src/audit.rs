//! The audit log: every allow and deny decision of a policy step is one `tracing` event
//! of one shape, with target [`AUDIT_TARGET`] and the fields `route`
//! (`METHOD /path (handler)`), `step`, `decision`, `reason` and, where a step has more
//! to say, `detail` (the refused fields' paths, the extractor's type and status).
//! Denials are logged at `INFO`, allowances at `DEBUG`: a service logging at `info`
//! sees every refusal without a line per step of every admitted request
//! (`RUST_LOG=secure_endpoint::audit=debug` shows both). This is the only file that writes
//! an event of that target.

use std::fmt;

use std::sync::Arc;

use axum::extract::MatchedPath;
use http::request::Parts;

use crate::metrics::{Outcome, RouteMetrics};

/// The `tracing` target of every audit event: `RUST_LOG=secure_endpoint::audit=debug`
/// shows every decision, allowances included.
pub const AUDIT_TARGET: &str = "secure_endpoint::audit";

/// The route a decision is about, formatted only when the event is logged; with the
/// route's counters once its entry is found.
pub(crate) struct Route {
    method: http::Method,
    path: Option<MatchedPath>,
    handler: &'static str,
    metrics: Option<Arc<RouteMetrics>>,
}

impl Route {
    /// The route of the handler named `handler` serving `parts`.
    pub(crate) fn of(handler: &'static str, parts: &Parts) -> Route {
        Route {
            method: parts.method.clone(),
            path: parts.extensions.get::<MatchedPath>().cloned(),
            handler,
            metrics: None,
        }
    }

    /// A CORS preflight for the path of `parts`, answered before any handler.
    pub(crate) fn preflight(parts: &Parts) -> Route {
        Route {
            method: parts.method.clone(),
            path: parts.extensions.get::<MatchedPath>().cloned(),
            handler: "(preflight)",
            metrics: None,
        }
    }

    /// The route of the handler named `handler` serving `request`, before it is taken
    /// apart.
    pub(crate) fn of_request(handler: &'static str, request: &axum::extract::Request) -> Route {
        Route {
            method: request.method().clone(),
            path: request.extensions().get::<MatchedPath>().cloned(),
            handler,
            metrics: None,
        }
    }

    /// `METHOD /path` (the path as routed, `/posts/{id}`): the route as a permission
    /// engine is asked about it.
    pub(crate) fn method_and_path(&self) -> String {
        let method = self.method.as_str();
        let path = self.path.as_ref().map_or("?", MatchedPath::as_str);
        let mut text = String::with_capacity(method.len() + 1 + path.len());
        text.push_str(method);
        text.push(' ');
        text.push_str(path);
        text
    }
}

impl Route {
    /// Counts this route's decisions in `metrics`.
    pub(crate) fn count_in(&mut self, metrics: Arc<RouteMetrics>) {
        self.metrics = Some(metrics);
    }

    /// The route's counters, when its entry was found.
    pub(crate) fn metrics(&self) -> Option<&RouteMetrics> {
        self.metrics.as_deref()
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.as_ref().map_or("?", MatchedPath::as_str);
        write!(f, "{} {} ({})", self.method, path, self.handler)
    }
}

/// The policy steps, as the `step` field names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Authenticate,
    Rate,
    Authorize,
    Owner,
    Validate,
    Extract,
    Concurrency,
    Timeout,
    Tenant,
    Fields,
    Csrf,
    Cors,
    Revoke,
    Permit,
}

// Each step has its counters in a route's metrics.
const _: () = assert!(Step::Permit as usize + 1 == crate::metrics::STEPS);

impl Step {
    fn name(self) -> &'static str {
        match self {
            Step::Authenticate => "authenticate",
            Step::Rate => "rate",
            Step::Authorize => "authorize",
            Step::Owner => "owner",
            Step::Validate => "validate",
            Step::Extract => "extract",
            Step::Concurrency => "concurrency",
            Step::Timeout => "timeout",
            Step::Tenant => "tenant",
            Step::Fields => "fields",
            Step::Csrf => "csrf",
            Step::Cors => "cors",
            Step::Revoke => "revoke",
            Step::Permit => "permit",
        }
    }
}

/// A step admitted the request.
pub(crate) fn allow(route: &Route, step: Step, reason: &str) {
    event(route, step, "allow", reason, None);
}

/// A step admitted the request, with what decided it.
pub(crate) fn allow_with(route: &Route, step: Step, reason: &str, detail: &dyn fmt::Debug) {
    event(route, step, "allow", reason, Some(detail));
}

/// A step refused the request.
pub(crate) fn deny(route: &Route, step: Step, reason: &str) {
    event(route, step, "deny", reason, None);
}

/// A step refused the request, with more to say than the reason.
pub(crate) fn deny_with(route: &Route, step: Step, reason: &str, detail: &dyn fmt::Debug) {
    event(route, step, "deny", reason, Some(detail));
}

/// The application is set up so that a request cannot be judged (a handler served outside
/// a `SecureRouter`, an extractor whose setting is missing): refused with 500, logged as
/// an error, since no client can fix it.
pub(crate) fn misconfigured(reason: &str) {
    tracing::error!(target: AUDIT_TARGET, decision = "deny", reason);
}

/// A handler asked for a principal of a type the request does not carry.
pub(crate) fn missing_principal(principal: &'static str) {
    tracing::warn!(
        target: AUDIT_TARGET,
        step = Step::Extract.name(),
        decision = "deny",
        principal,
        reason = "no principal of this type on the request: the route is not `auth`, or its authenticator produces another type",
    );
}

/// A handler revoked a token, or every token of a principal issued until now.
pub(crate) fn revoked(what: Revoked<'_>) {
    match what {
        Revoked::Token { jti } => tracing::info!(
            target: AUDIT_TARGET,
            step = Step::Revoke.name(),
            jti,
            "token revoked"
        ),
        Revoked::AllOf { principal } => tracing::info!(
            target: AUDIT_TARGET,
            step = Step::Revoke.name(),
            principal,
            "every token issued until now revoked"
        ),
    }
}

/// What a handler revoked.
pub(crate) enum Revoked<'a> {
    /// One token, by its `jti`.
    Token { jti: &'a str },
    /// Every token of a principal issued until now.
    AllOf { principal: &'a str },
}

/// A limit that only reports would have refused the request; it went on.
pub(crate) fn would_refuse(route: &Route, step: Step, reason: &str, detail: &dyn fmt::Debug) {
    event(route, step, "would_refuse", reason, Some(detail));
}

fn event(
    route: &Route,
    step: Step,
    decision: &'static str,
    reason: &str,
    detail: Option<&dyn fmt::Debug>,
) {
    if let Some(metrics) = &route.metrics {
        let outcome = match decision {
            "allow" => Outcome::Allowed,
            "deny" => Outcome::Refused,
            _ => Outcome::WouldRefuse,
        };
        metrics.decision(step as usize, step.name(), outcome);
    }
    if decision == "allow" {
        tracing::debug!(
            target: AUDIT_TARGET,
            route = %route,
            step = step.name(),
            decision,
            reason,
            detail = detail.map(tracing::field::debug),
        );
    } else {
        tracing::info!(
            target: AUDIT_TARGET,
            route = %route,
            step = step.name(),
            decision,
            reason,
            detail = detail.map(tracing::field::debug),
        );
    }
}
