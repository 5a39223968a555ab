//! Step 1, `auth`: the credential the request sent ([`super::credential`]), verified by
//! the route's authenticator. A failure counts against the client address when the
//! settings limit failed authentications; past that limit the answer is 429 instead of
//! 401.
//!
//! A valid credential from an address past that limit is still served, on purpose:
//! tokens and API keys cannot be guessed, and refusing them would let anyone lock out a
//! shared address (a NAT, an office). What such an address no longer gets is
//! verification of tokens that cannot be valid: one that does not parse or names a key
//! the authenticator does not hold ([`Authenticator::precheck`]) is answered 429 at once,
//! without the signature check or a key-set refresh.
//!
//! [`Authenticator::precheck`]: crate::Authenticator::precheck

use std::net::IpAddr;

use super::credential::{NoToken, Sent};
use crate::audit::{self, Route, Step};
use crate::auth::{AuthError, Caller, DynAuthenticator, TokenFacts};
use crate::context::RouteContext;
use crate::metrics::{self, AuthFailure};
use crate::rate::{Limit, LimitKey, Outcome};
use crate::rejection::Rejection;

/// A credential the route's authenticator verified.
pub(crate) struct Verified {
    pub(crate) caller: Caller,
    pub(crate) from_cookie: bool,
    /// Which token it is, where the settings judge tokens further (revocation, the
    /// principal check).
    pub(crate) facts: Option<TokenFacts>,
}

/// Verifies what the request sent. `client` is the client's address, worked out where
/// the route's settings limit failed authentications.
pub(crate) async fn authenticate(
    audit_route: &Route,
    route: &RouteContext,
    authenticator: &dyn DynAuthenticator,
    sent: Sent<'_>,
    client: Option<IpAddr>,
) -> Result<Verified, Rejection> {
    let failed_auth = route.failed_auth().zip(client.map(LimitKey::Ip));
    let (reason, token_given, failure) = match sent {
        Sent::Token { token, from_cookie } => {
            if let Some((limiter, key)) = &failed_auth
                && limiter.refusal(key).is_some()
                && let Err(error) = authenticator.precheck(token)
                && let Outcome::Refused { retry_after } = limiter.check(key).await
            {
                audit::deny(audit_route, Step::Authenticate, error.reason());
                audit::deny(
                    audit_route,
                    Step::Authenticate,
                    "too many failed authentications from this address; refused before verification",
                );
                return Err(Rejection::TooManyRequests {
                    limits: &[],
                    refused: Limit::failed_authentications(limiter.rate()),
                    retry_after,
                });
            }
            match verify(authenticator, token).await {
                Ok(caller) => {
                    audit::allow(
                        audit_route,
                        Step::Authenticate,
                        "the credential was verified",
                    );
                    let facts =
                        if route.revocations().is_some() || route.principal_check().is_some() {
                            authenticator.token_facts(token)
                        } else {
                            None
                        };
                    return Ok(Verified {
                        caller,
                        from_cookie,
                        facts,
                    });
                }
                Err(error) => {
                    let failure = AuthFailure::of_message(error.reason());
                    (error.reason().to_owned(), true, failure)
                }
            }
        }
        Sent::Nothing(reason) => (reason.to_owned(), false, AuthFailure::Missing),
        Sent::Unreadable(NoToken {
            token_given,
            reason,
        }) => (reason.to_owned(), token_given, AuthFailure::Malformed),
    };
    audit::deny(audit_route, Step::Authenticate, &reason);
    metrics::auth_failure(audit_route.metrics(), failure);
    if token_given
        && let Some((limiter, key)) = &failed_auth
        && let Outcome::Refused { retry_after } = limiter.check(key).await
    {
        audit::deny(
            audit_route,
            Step::Authenticate,
            "too many failed authentications from this address",
        );
        return Err(Rejection::TooManyRequests {
            limits: &[],
            refused: Limit::failed_authentications(limiter.rate()),
            retry_after,
        });
    }
    Err(Rejection::Unauthorized { token_given })
}

/// The authenticator's verdict: from memory when it can answer so, else awaited.
async fn verify(authenticator: &dyn DynAuthenticator, token: &str) -> Result<Caller, AuthError> {
    match authenticator.authenticate_now(token) {
        Some(verdict) => verdict,
        None => authenticator.authenticate(token).await,
    }
}

#[cfg(test)]
mod tests {
    use http::StatusCode;

    use crate::pipeline::harness::{answer, bearer, built, empty, request, settings, token};
    use crate::routing::get;
    use crate::{Claims, SecureRouter, secure};

    #[secure(auth)]
    async fn me(claims: Claims) -> String {
        claims.sub
    }

    fn app() -> axum::Router {
        built(
            SecureRouter::new()
                .route("/me", get(me))
                .with_security(settings().failed_auth_limit("2/m").build().unwrap()),
        )
    }

    fn forged() -> String {
        crate::testing::TokenMint::hmac(
            jsonwebtoken::Algorithm::HS256,
            *b"another secret of thirty-two byt",
        )
        .token("7", &[])
    }

    #[tokio::test]
    async fn a_verified_token_reaches_the_handler() {
        let answer = answer(
            app(),
            empty(bearer(request("GET", "/me"), &token("7", &[]))),
        )
        .await;
        assert_eq!((answer.status, answer.body.as_str()), (StatusCode::OK, "7"));
    }

    #[tokio::test]
    async fn forged_expired_and_unsigned_tokens_are_401_without_a_reason() {
        let mint = crate::pipeline::harness::mint();
        let mut expired = mint.claims("7", &[]);
        expired["exp"] = 1_000_000.into();
        let unsigned = {
            let claims = mint.claims("7", &["admin"]);
            let header = base64_url(br#"{"alg":"none","typ":"JWT"}"#);
            format!("{header}.{}.", base64_url(claims.to_string().as_bytes()))
        };
        for token in [forged(), mint.sign(&expired), unsigned] {
            let answer = answer(app(), empty(bearer(request("GET", "/me"), &token))).await;
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{token}");
            assert_eq!(answer.body, r#"{"error":"Unauthorized"}"#);
            assert_eq!(
                answer.headers["www-authenticate"],
                r#"Bearer error="invalid_token""#
            );
        }
    }

    #[tokio::test]
    async fn failures_past_the_limit_are_429_and_valid_tokens_still_pass() {
        let app = app();
        for _ in 0..2 {
            let refused =
                answer(app.clone(), empty(bearer(request("GET", "/me"), &forged()))).await;
            assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        }
        let limited = answer(app.clone(), empty(bearer(request("GET", "/me"), &forged()))).await;
        assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(limited.headers.contains_key("retry-after"));
        let valid = answer(app, empty(bearer(request("GET", "/me"), &token("7", &[])))).await;
        assert_eq!(valid.status, StatusCode::OK);
    }

    fn base64_url(bytes: &[u8]) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }
}
