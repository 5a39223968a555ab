//! Step 1a, CSRF: a request whose credential came from the session cookie, with an
//! unsafe method, must come from the service's own pages or an origin the CORS settings
//! list (DESIGN §13). `Sec-Fetch-Site: same-origin` or `none` passes; `same-site`,
//! `cross-site`, or no such header, passes only with an `Origin` that is the service's
//! own or listed; neither header is refused. Bearer tokens and safe methods are not
//! checked: a browser never sends a bearer token on its own.
//!
//! The service's own origin is the one configured with
//! [`SecurityBuilder::own_origin`](crate::SecurityBuilder::own_origin), or else the
//! request's `Host` over https: an `Origin` whose host and port equal it (a browser
//! writes both headers itself, so neither is the attacker's to choose). Plain http is
//! the service's own only on loopback (development): elsewhere a page on
//! `http://` the same host is another site, which a network attacker can write.

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
    let host = host.as_bytes();
    let origin = origin.as_bytes();
    let authority = origin
        .strip_prefix(b"https://")
        .or_else(|| origin.strip_prefix(b"http://").filter(|_| loopback(host)));
    authority.is_some_and(|authority| authority.eq_ignore_ascii_case(host))
}

/// Whether `host` (a `Host` header, perhaps with a port) names this machine.
fn loopback(host: &[u8]) -> bool {
    let name = match host.strip_prefix(b"[") {
        Some(bracketed) => bracketed.split(|b| *b == b']').next().unwrap_or_default(),
        None => host.split(|b| *b == b':').next().unwrap_or_default(),
    };
    name.eq_ignore_ascii_case(b"localhost")
        || std::str::from_utf8(name)
            .ok()
            .and_then(|name| name.parse::<std::net::IpAddr>().ok())
            .is_some_and(|ip| ip.is_loopback())
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
    async fn without_an_own_origin_the_host_is_the_service_s_over_https_only() {
        let router = || {
            SecureRouter::new()
                .route("/publish", post(publish))
                .with_security(
                    settings()
                        .session_cookie(SessionCookie::new())
                        .build()
                        .unwrap(),
                )
        };
        let post_from = |host: &'static str, origin: &'static str| {
            empty(
                request("POST", "/publish")
                    .header("cookie", format!("__Host-session={}", token("7", &[])))
                    .header("host", host)
                    .header("origin", origin),
            )
        };
        for (host, origin, status) in [
            ("api.example", "https://api.example", StatusCode::OK),
            ("api.example", "http://api.example", StatusCode::FORBIDDEN),
            ("localhost:3000", "http://localhost:3000", StatusCode::OK),
            ("127.0.0.1:3000", "http://127.0.0.1:3000", StatusCode::OK),
            ("[::1]:3000", "http://[::1]:3000", StatusCode::OK),
            ("api.example", "https://evil.example", StatusCode::FORBIDDEN),
        ] {
            let answer = send(router(), post_from(host, origin)).await;
            assert_eq!(answer.status, status, "{origin} on {host}");
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
