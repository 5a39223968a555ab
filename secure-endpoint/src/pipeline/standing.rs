//! Step 1b, the principal check: the verified principal must still be one the
//! application serves ([`SecurityBuilder::principal_check`]), and its token no older
//! than the account. Otherwise 401, as for any invalid credential; a check that fails is
//! a generic 500.
//!
//! [`SecurityBuilder::principal_check`]: crate::SecurityBuilder::principal_check

use crate::audit::{self, Route, Step};
use crate::rejection::Rejection;
use crate::standing::{self, PrincipalCheck};

/// The standing of the principal `id`, whose token was issued at `issued_at_ms` at the
/// latest.
pub(crate) async fn check_standing(
    route: &Route,
    check: &PrincipalCheck,
    id: &str,
    issued_at_ms: Option<u64>,
) -> Result<(), Rejection> {
    let standing = match check.standing(id).await {
        Ok(standing) => standing,
        Err(error) => {
            audit::deny_with(
                route,
                Step::Authenticate,
                "the principal check failed",
                &error.to_string(),
            );
            return Err(Rejection::Internal);
        }
    };
    match standing::refusal(standing, issued_at_ms) {
        None => Ok(()),
        Some(reason) => {
            audit::deny(route, Step::Authenticate, reason);
            crate::metrics::auth_failure(route.metrics(), crate::metrics::AuthFailure::Revoked);
            Err(Rejection::Unauthorized { token_given: true })
        }
    }
}

#[cfg(test)]
mod tests {
    use http::StatusCode;

    use crate::error::Error;
    use crate::pipeline::harness::{bearer, empty, request, send, settings, token};
    use crate::routing::get;
    use crate::standing::Standing;
    use crate::{Claims, SecureRouter, secure};

    #[secure(auth)]
    async fn me(claims: Claims) -> String {
        claims.sub
    }

    fn router() -> SecureRouter {
        let security = settings()
            .principal_check(|id: String| async move {
                match id.as_str() {
                    "deleted" => Ok(Standing::Refused),
                    // An account changed half a second into second 1,000,000,000.
                    "changed" => Ok(Standing::ActiveSince(
                        std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_000_000_000_500),
                    )),
                    "broken" => Err(Error::internal("the accounts database is down")),
                    _ => Ok(Standing::Active),
                }
            })
            .build()
            .unwrap();
        SecureRouter::new()
            .route("/me", get(me))
            .with_security(security)
    }

    async fn as_user(id: &str) -> (StatusCode, String) {
        let answer = send(
            router(),
            empty(bearer(request("GET", "/me"), &token(id, &[]))),
        )
        .await;
        (answer.status, answer.body)
    }

    #[tokio::test]
    async fn a_principal_still_served_passes() {
        assert_eq!(as_user("7").await, (StatusCode::OK, "7".to_owned()));
    }

    #[tokio::test]
    async fn a_deleted_account_s_valid_token_is_401() {
        assert_eq!(
            as_user("deleted").await,
            (
                StatusCode::UNAUTHORIZED,
                r#"{"error":"Unauthorized"}"#.to_owned()
            )
        );
    }

    #[tokio::test]
    async fn a_whole_second_token_of_the_change_s_own_second_is_served() {
        let mint = crate::pipeline::harness::mint();
        let at = |iat: serde_json::Value| {
            let mut claims = mint.claims("changed", &[]);
            claims["iat"] = iat;
            mint.sign(&claims)
        };
        let router = || router();
        let status = |token: String| async move {
            send(router(), empty(bearer(request("GET", "/me"), &token)))
                .await
                .status
        };
        // Written in whole seconds, as identity providers write it: issued some time in
        // that second, perhaps after the change.
        assert_eq!(status(at(1_000_000_000u64.into())).await, StatusCode::OK);
        assert_eq!(
            status(at(999_999_999u64.into())).await,
            StatusCode::UNAUTHORIZED
        );
        // Written to the millisecond: compared to the millisecond.
        assert_eq!(
            status(at(1_000_000_000.25.into())).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(status(at(1_000_000_000.75.into())).await, StatusCode::OK);
    }

    #[tokio::test]
    async fn a_failing_check_is_a_generic_500() {
        let (status, body) = as_user("broken").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!body.contains("database"), "{body}");
    }
}
