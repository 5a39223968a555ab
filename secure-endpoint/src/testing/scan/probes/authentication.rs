//! Step 1 attacked: no token, junk, `alg: none`, another key and an expired token on
//! every `auth` route (401, the one body), and a revoked one where the router revokes.

use axum::body::Body;
use http::{Request, StatusCode};

use crate::policy::Policy;
use crate::testing::{TokenMint, now};

use super::super::scanner::{Scanner, next_address};

impl Scanner {
    pub(in crate::testing::scan) async fn authentication(
        &mut self,
        label: &str,
        policy: &Policy,
        request: &dyn Fn(Option<&str>) -> Request<Body>,
    ) {
        let unauthorized = Some(StatusCode::UNAUTHORIZED);
        let seen = self
            .send(label, "no token", request(None), next_address())
            .await;
        self.expect(
            label,
            "no token",
            seen,
            &[StatusCode::UNAUTHORIZED],
            unauthorized,
        );
        let roles: &[&str] = policy.roles();
        let mut bad: Vec<(&str, String)> = vec![
            ("junk token", "junk.token.value".to_owned()),
            (
                "alg none",
                "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJzY2FuIiwicm9sZXMiOlsiYWRtaW4iXSwiZXhwIjo0MTAyNDQ0ODAwfQ.".to_owned(),
            ),
            (
                "another key",
                TokenMint::hmac(jsonwebtoken::Algorithm::HS256, b"scanner-key-no-router-trusts-0000")
                    .token("scan", roles),
            ),
        ];
        if let Some(mint) = &self.settings.mint {
            let mut expired = mint.claims("scan", roles);
            expired["exp"] = serde_json::json!(now() - 3600);
            bad.push(("expired token", mint.sign(&expired)));
        }
        // A token the route would accept, revoked through the router's revocations.
        let tenant = self.settings.tenants.values().next().cloned();
        if let Some(store) = self.revocations.clone()
            && let Some(claims) = self.claims_in_tenant(
                &self.principal_or("scan-revoked"),
                policy,
                tenant.as_deref(),
            )
            && let (Some(sub), Some(jti), Some(exp)) = (
                claims["sub"].as_str(),
                claims["jti"].as_str(),
                claims["exp"].as_u64(),
            )
            && let Some(mint) = &self.settings.mint
        {
            store.revoke_token(sub, jti, exp).await;
            bad.push(("revoked token", mint.sign(&claims)));
        }
        for (case, token) in bad {
            let seen = self
                .send(label, case, request(Some(&token)), next_address())
                .await;
            self.expect(label, case, seen, &[StatusCode::UNAUTHORIZED], unauthorized);
        }
    }
}
