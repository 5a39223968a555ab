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
use crate::context::RouteContext;
use crate::rejection::Rejection;

/// The check, for a request whose credential was just verified: `from_cookie` when it
/// came from the session cookie.
pub(crate) fn check_csrf(
    audit_route: &Route,
    route: &RouteContext,
    from_cookie: bool,
    parts: &Parts,
) -> Result<(), Rejection> {
    if !from_cookie
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
            audit::allow_with(audit_route, Step::Csrf, reason, &detail);
            Ok(())
        } else {
            audit::deny_with(audit_route, Step::Csrf, reason, &detail);
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
            Some(origin) if own(route, parts, origin) => {
                decided(true, "a cookie request from the service's own origin")
            }
            Some(origin) if route.cors_lists(origin.as_bytes()) => decided(
                true,
                "a cookie request from an origin the CORS settings list",
            ),
            Some(_) => decided(
                false,
                "a cookie request with an unsafe method from an origin that is neither the service's nor listed",
            ),
        },
    }
}

/// Whether `origin` is the service's own.
fn own(route: &RouteContext, parts: &Parts, origin: &HeaderValue) -> bool {
    if let Some(own) = route.own_origin() {
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

#[cfg(test)]
mod tests {
    use http::StatusCode;

    use crate::cookie::SessionCookie;
    use crate::pipeline::harness::{bearer, empty, request, send, settings, token};
    use crate::routing::post;
    use crate::{Claims, SecureRouter, secure};

    #[secure(auth)]
    async fn publish(claims: Claims) -> String {
        claims.sub
    }

    fn router() -> SecureRouter {
        SecureRouter::new()
            .route("/publish", post(publish))
            .with_security(
                settings()
                    .session_cookie(SessionCookie::new())
                    .own_origin("https://blog.example")
                    .build()
                    .unwrap(),
            )
    }

    fn with_cookie(headers: &[(&str, &str)]) -> http::request::Builder {
        let mut builder = request("POST", "/publish")
            .header("cookie", format!("__Host-session={}", token("7", &[])));
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder
    }

    #[tokio::test]
    async fn a_cross_site_cookie_request_changes_nothing() {
        for headers in [
            &[
                ("sec-fetch-site", "cross-site"),
                ("origin", "https://evil.example"),
            ][..],
            &[("origin", "https://evil.example")][..],
            &[("origin", "http://blog.example")][..],
            &[][..],
        ] {
            let answer = send(router(), empty(with_cookie(headers))).await;
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "{headers:?}");
            assert_eq!(answer.body, r#"{"error":"Forbidden"}"#);
        }
    }

    #[tokio::test]
    async fn the_service_s_own_pages_pass() {
        for headers in [
            &[("sec-fetch-site", "same-origin")][..],
            &[("origin", "https://blog.example")][..],
        ] {
            let answer = send(router(), empty(with_cookie(headers))).await;
            assert_eq!(answer.status, StatusCode::OK, "{headers:?}");
        }
    }

    #[tokio::test]
    async fn a_bearer_token_is_never_checked() {
        let answer = send(
            router(),
            empty(
                bearer(request("POST", "/publish"), &token("7", &[]))
                    .header("sec-fetch-site", "cross-site")
                    .header("origin", "https://evil.example"),
            ),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK);
    }
}
