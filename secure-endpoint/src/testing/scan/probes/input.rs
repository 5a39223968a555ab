//! Step 5 attacked: a wrong content type (415), an oversized body (413) and an invalid
//! one (400) on every `validate` route.

use axum::body::Body;
use http::{Method, Request, StatusCode};

use crate::inventory::RouteEntry;
use crate::policy::Policy;

use super::super::scanner::{Scanner, next_address};

impl Scanner {
    pub(in crate::testing::scan) async fn bodies(
        &mut self,
        label: &str,
        policy: &Policy,
        route: &RouteEntry,
        method: &Method,
        path: &str,
    ) {
        // Past authentication, roles and ownership, so that the body step answers.
        let owner = self.settings.owners.get(&route.path).cloned();
        if policy.owner().is_some() && owner.is_none() {
            return;
        }
        let token = if policy.requires_auth() {
            let author = owner.unwrap_or_else(|| self.principal_or("scan-author"));
            match self.privileged_token(&author, policy) {
                Some(token) => Some(token),
                None => return,
            }
        } else {
            None
        };
        let cases: [(&str, &str, Vec<u8>, StatusCode); 3] = [
            (
                "wrong content type",
                "text/plain",
                b"{}".to_vec(),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ),
            (
                "oversized body",
                "application/json",
                oversized(),
                StatusCode::PAYLOAD_TOO_LARGE,
            ),
            (
                "invalid body",
                "application/json",
                b"{\"unterminated\": ".to_vec(),
                StatusCode::BAD_REQUEST,
            ),
        ];
        for (case, content_type, body, want) in cases {
            let mut builder = Request::builder()
                .method(method.clone())
                .uri(path)
                .header("content-type", content_type);
            if let Some(token) = &token {
                builder = builder.header("authorization", format!("Bearer {token}"));
            }
            let request = builder.body(Body::from(body)).expect("a valid request");
            let seen = self.send(label, case, request, next_address()).await;
            self.expect(label, case, seen, &[want], None);
        }
    }
}

/// A JSON body larger than any limit a route would set by default (2 MiB).
fn oversized() -> Vec<u8> {
    let mut body = b"{\"padding\":\"".to_vec();
    body.resize(2 * 1024 * 1024, b'a');
    body.extend_from_slice(b"\"}");
    body
}
