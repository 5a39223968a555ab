//! Step 1c, revocation: a token revoked by its `jti`, or issued before its principal's
//! "revoked before" moment, is 401 like any invalid one. Where revocation is configured,
//! a token without `iat`, or living longer than the revocations are kept, is refused too.
//!
//! The whole decision is here, also when its question rides on the limit's own Redis
//! script for one round trip ([`check_revocation`] hands the limit step the question,
//! [`settle`] judges what the script answered). With Redis unreachable, the answer is
//! this instance's own revocations, or 503 when the settings fail closed.

use crate::audit::{self, Route, Step};
use crate::auth::TokenFacts;
use crate::metrics::{self, AuthFailure};
#[cfg(feature = "redis")]
use crate::redis_connection::RevocationQuery;
use crate::rejection::Rejection;
use crate::revocation::{RevocationStore, Verdict};

/// What is left to ask the shared store with the limit, if anything.
pub(crate) enum Pending {
    /// Nothing: the token was judged here (or is not one revocations know).
    Judged,
    /// The question, for the limit's script.
    #[cfg(feature = "redis")]
    WithLimit(RevocationQuery),
}

impl Pending {
    /// The question for the limit's script, when it rides along.
    #[cfg(feature = "redis")]
    pub(crate) fn question(&self) -> Option<&RevocationQuery> {
        match self {
            Pending::Judged => None,
            Pending::WithLimit(query) => Some(query),
        }
    }
}

/// The token of `principal` that `facts` describe, judged now; or, when the route's
/// limits count in the same Redis (`limit_url`), its question handed on to ride with
/// them.
pub(crate) async fn check_revocation(
    route: &Route,
    store: &RevocationStore,
    principal: &str,
    facts: Option<&TokenFacts>,
    limit_url: Option<&str>,
) -> Result<Pending, Rejection> {
    let Some(facts) = facts else {
        // Not a token revocations know (an API key).
        return Ok(Pending::Judged);
    };
    if let Some(reason) = store.inadmissible(Some(facts)) {
        audit::deny(route, Step::Authenticate, reason);
        metrics::auth_failure(route.metrics(), AuthFailure::Invalid);
        return Err(Rejection::Unauthorized { token_given: true });
    }
    #[cfg(feature = "redis")]
    if let Some(url) = limit_url
        && let Some(query) = store.query_on(url, principal, facts)
    {
        return Ok(Pending::WithLimit(query));
    }
    #[cfg(not(feature = "redis"))]
    let _ = limit_url;
    judge(route, store.verdict(principal, facts).await)
}

/// Judges a question that was to ride on the limit's script: `answered` is what the
/// script said, `None` when the limits were answered without Redis (a key known to be
/// over, or Redis down). Unanswered, the question is asked on its own when the limits
/// `admitted` the request; a request they refuse is refused anyway.
#[cfg_attr(not(feature = "redis"), allow(unused_variables))]
pub(crate) async fn settle(
    route: &Route,
    store: Option<&RevocationStore>,
    pending: Pending,
    answered: Option<bool>,
    admitted: bool,
    principal: &str,
    facts: Option<&TokenFacts>,
) -> Result<(), Rejection> {
    match pending {
        Pending::Judged => Ok(()),
        #[cfg(feature = "redis")]
        Pending::WithLimit(_) => {
            let (Some(store), Some(facts)) = (store, facts) else {
                return Ok(());
            };
            let verdict = match answered {
                Some(revoked) => {
                    store.answered_with_limit();
                    if revoked {
                        Verdict::Revoked
                    } else {
                        Verdict::Valid
                    }
                }
                None if admitted => store.verdict(principal, facts).await,
                None => return Ok(()),
            };
            judge(route, verdict).map(|_| ())
        }
    }
}

/// The refusal of a verdict, if it is one.
fn judge(route: &Route, verdict: Verdict) -> Result<Pending, Rejection> {
    match verdict {
        Verdict::Valid => {
            audit::allow(route, Step::Authenticate, "the token is not revoked");
            Ok(Pending::Judged)
        }
        Verdict::Revoked => {
            audit::deny(route, Step::Authenticate, "the token was revoked");
            metrics::auth_failure(route.metrics(), AuthFailure::Revoked);
            Err(Rejection::Unauthorized { token_given: true })
        }
        Verdict::Unavailable => {
            audit::deny(
                route,
                Step::Authenticate,
                "the shared revocations are unreachable and fail closed",
            );
            metrics::auth_failure(route.metrics(), AuthFailure::Unavailable);
            Err(Rejection::Unavailable)
        }
    }
}

#[cfg(test)]
mod tests {
    use http::StatusCode;

    use crate::pipeline::harness::{answer, bearer, built, empty, request, settings, token};
    use crate::revocation::Revocations;
    use crate::revoker::Revoker;
    use crate::routing::{get, post};
    use crate::{Claims, Error, SecureRouter, secure};

    #[secure(auth)]
    async fn me(claims: Claims) -> String {
        claims.sub
    }

    #[secure(auth)]
    async fn logout(revoker: Revoker) -> Result<&'static str, Error> {
        revoker.revoke_this_token().await?;
        Ok("bye")
    }

    #[secure(auth)]
    async fn logout_all(claims: Claims, revoker: Revoker) -> &'static str {
        revoker.revoke_all_tokens_of(&claims.sub).await;
        "bye"
    }

    fn app() -> axum::Router {
        built(
            SecureRouter::new()
                .route("/me", get(me))
                .route("/logout", post(logout))
                .route("/logout-all", post(logout_all))
                .with_security(
                    settings()
                        .revocation(Revocations::memory())
                        .build()
                        .unwrap(),
                ),
        )
    }

    async fn call(app: &axum::Router, method: &str, path: &str, token: &str) -> StatusCode {
        answer(app.clone(), empty(bearer(request(method, path), token)))
            .await
            .status
    }

    #[tokio::test]
    async fn a_revoked_token_is_401_and_the_caller_s_others_still_work() {
        let app = app();
        let (first, second) = (token("7", &[]), token("7", &[]));
        assert_eq!(call(&app, "POST", "/logout", &first).await, StatusCode::OK);
        assert_eq!(
            call(&app, "GET", "/me", &first).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(call(&app, "GET", "/me", &second).await, StatusCode::OK);
    }

    #[tokio::test]
    async fn logging_out_everywhere_revokes_every_earlier_token() {
        let app = app();
        let (first, second) = (token("7", &[]), token("7", &[]));
        // Issued a moment before: tokens carry `iat` to the millisecond.
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        assert_eq!(
            call(&app, "POST", "/logout-all", &first).await,
            StatusCode::OK
        );
        assert_eq!(
            call(&app, "GET", "/me", &second).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            call(&app, "GET", "/me", &token("8", &[])).await,
            StatusCode::OK
        );
    }

    #[tokio::test]
    async fn a_token_without_iat_is_refused_where_revocation_is_configured() {
        let mint = crate::pipeline::harness::mint();
        let mut claims = mint.claims("7", &[]);
        claims.as_object_mut().unwrap().remove("iat");
        assert_eq!(
            call(&app(), "GET", "/me", &mint.sign(&claims)).await,
            StatusCode::UNAUTHORIZED
        );
    }
}
