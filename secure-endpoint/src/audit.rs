//! The audit log: every allow and deny decision of a policy step is one `tracing` event
//! of one shape, with target `secure_endpoint::audit` and the fields `route`
//! (`METHOD /path (handler)`), `step`, `decision`, `reason` and, where a step has more
//! to say, `detail` (the refused fields' paths, the extractor's type and status).
//! Denials are logged at `INFO`, allowances at `DEBUG`: a service logging at `info`
//! sees every refusal without a line per step of every admitted request
//! (`RUST_LOG=secure_endpoint::audit=debug` shows both).

use std::fmt;

use axum::extract::MatchedPath;
use http::request::Parts;

use crate::handler::SecureHandler;

/// The route a decision is about, formatted only when the event is logged.
pub(crate) struct Route {
    method: http::Method,
    path: Option<MatchedPath>,
    handler: &'static str,
}

impl Route {
    /// The route of handler `H` serving `parts`.
    pub(crate) fn of<H: SecureHandler>(parts: &Parts) -> Route {
        Route {
            method: parts.method.clone(),
            path: parts.extensions.get::<MatchedPath>().cloned(),
            handler: H::NAME,
        }
    }

    /// The route of handler `H` serving `request`, before it is taken apart.
    pub(crate) fn of_request<H: SecureHandler>(request: &axum::extract::Request) -> Route {
        Route {
            method: request.method().clone(),
            path: request.extensions().get::<MatchedPath>().cloned(),
            handler: H::NAME,
        }
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
}

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

fn event(
    route: &Route,
    step: Step,
    decision: &'static str,
    reason: &str,
    detail: Option<&dyn fmt::Debug>,
) {
    if decision == "allow" {
        tracing::debug!(
            target: "secure_endpoint::audit",
            route = %route,
            step = step.name(),
            decision,
            reason,
            detail = detail.map(tracing::field::debug),
        );
    } else {
        tracing::info!(
            target: "secure_endpoint::audit",
            route = %route,
            step = step.name(),
            decision,
            reason,
            detail = detail.map(tracing::field::debug),
        );
    }
}
