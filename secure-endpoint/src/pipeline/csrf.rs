//! Step 1a, CSRF: a request whose credential came from the session cookie, with an
//! unsafe method, must come from the service's own pages or an origin the CORS settings
//! list (DESIGN §13). `Sec-Fetch-Site: same-origin` or `none` passes; `same-site`,
//! `cross-site`, or no such header, passes only with an `Origin` that is the service's
//! own or listed; neither header is refused. Bearer tokens and safe methods are not
//! checked: a browser never sends a bearer token on its own.
//!
//! The service's own origin is the one configured with
//! [`SecurityBuilder::own_origin`](crate::SecurityBuilder::own_origin), or else the
//! request's scheme-less `Host`: an `Origin` whose host and port equal it (a browser
//! writes both headers itself, so neither is the attacker's to choose).

use http::header::{HOST, ORIGIN};
use http::request::Parts;
use http::{HeaderValue, Method};

use crate::audit::{self, Route, Step};
use crate::rejection::Rejection;
use crate::security::Security;

/// The request's credential came from the session cookie.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FromCookie;

pub(crate) fn check_csrf(
    route: &Route,
    security: &Security,
    parts: &Parts,
) -> Result<(), Rejection> {
    if parts.extensions.get::<FromCookie>().is_none()
        || matches!(
            parts.method,
            Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
        )
    {
        return Ok(());
    }
    let fetch_site = parts.headers.get("sec-fetch-site");
    let origin = parts.headers.get(ORIGIN);
    let decided = |allowed: bool, reason: &str| {
        let detail = format!(
            "sec-fetch-site={:?} origin={:?}",
            fetch_site
                .map(HeaderValue::as_bytes)
                .map(String::from_utf8_lossy),
            origin
                .map(HeaderValue::as_bytes)
                .map(String::from_utf8_lossy),
        );
        if allowed {
            audit::allow_with(route, Step::Csrf, reason, &detail);
            Ok(())
        } else {
            audit::deny_with(route, Step::Csrf, reason, &detail);
            Err(Rejection::Forbidden)
        }
    };
    match fetch_site.map(HeaderValue::as_bytes) {
        Some(b"same-origin") | Some(b"none") => {
            decided(true, "a cookie request from the service's own pages")
        }
        _ => match origin {
            None => decided(
                false,
                "a cookie request with an unsafe method, neither Sec-Fetch-Site same-origin nor an Origin",
            ),
            Some(origin) if own(security, parts, origin) => {
                decided(true, "a cookie request from the service's own origin")
            }
            Some(origin)
                if security
                    .cors
                    .as_ref()
                    .is_some_and(|cors| cors.lists(origin.as_bytes())) =>
            {
                decided(
                    true,
                    "a cookie request from an origin the CORS settings list",
                )
            }
            Some(_) => decided(
                false,
                "a cookie request with an unsafe method from an origin that is neither the service's nor listed",
            ),
        },
    }
}

/// Whether `origin` is the service's own.
fn own(security: &Security, parts: &Parts, origin: &HeaderValue) -> bool {
    if let Some(own) = &security.own_origin {
        return origin.as_bytes() == own.as_bytes();
    }
    let Some(host) = parts.headers.get(HOST) else {
        return false;
    };
    let origin = origin.as_bytes();
    let authority = origin
        .strip_prefix(b"https://")
        .or_else(|| origin.strip_prefix(b"http://"));
    authority.is_some_and(|authority| authority.eq_ignore_ascii_case(host.as_bytes()))
}
