//! Browser clients attacked: a cross-site unsafe request with the session cookie (403),
//! and a preflight from an unlisted origin (no CORS headers).

use axum::body::Body;
use http::{Method, Request, StatusCode};

use crate::policy::Policy;

use super::super::scanner::{Scanner, next_address};

impl Scanner {
    /// What a browser front end's attacker tries: an unsafe request from another site
    /// carrying the session cookie (refused with 403), and a preflight from an origin
    /// the CORS settings do not list (no CORS headers in the answer).
    pub(in crate::testing::scan) async fn browsers(
        &mut self,
        label: &str,
        policy: &Policy,
        method: &Method,
        path: &str,
    ) {
        let cookie = self
            .inventory
            .authenticator(policy.authenticator())
            .and_then(|a| a.cookie.clone());
        let unsafe_method = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
        if let Some(cookie) = cookie
            && unsafe_method
            && (policy.requires_auth() || policy.allows_optional_auth())
        {
            let tenant = self.settings.tenants.values().next().cloned();
            if let Some(token) =
                self.token_in_tenant(&self.principal_or("scan-author"), policy, tenant.as_deref())
            {
                let case = "cross-site request with the session cookie";
                let request = Request::builder()
                    .method(method.clone())
                    .uri(path)
                    .header("cookie", format!("{cookie}={token}"))
                    .header("sec-fetch-site", "cross-site")
                    .header("origin", "https://scanner-cross-site.example")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(Body::from("title=forged"))
                    .expect("a valid request");
                let seen = self.send(label, case, request, next_address()).await;
                self.expect(
                    label,
                    case,
                    seen,
                    &[StatusCode::FORBIDDEN],
                    Some(StatusCode::FORBIDDEN),
                );
            }
        }
        // With any origin allowed (`*`, never with credentials), every origin is listed.
        if self
            .inventory
            .browsers()
            .is_some_and(|b| !b.cors_origins.is_empty() && b.cors_origins != ["*"])
        {
            let case = "preflight from an origin CORS does not list";
            let request = Request::builder()
                .method(Method::OPTIONS)
                .uri(path)
                .header("origin", "https://scanner-unlisted.example")
                .header("access-control-request-method", method.as_str())
                .body(Body::empty())
                .expect("a valid request");
            if let Some(seen) = self.send(label, case, request, next_address()).await
                && seen.headers.contains_key("access-control-allow-origin")
            {
                self.find(label, case, "answered with Access-Control-Allow-Origin");
            }
        }
    }
}
