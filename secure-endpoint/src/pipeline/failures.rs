//! After the handler, `limit(..., on = "failure")`: each limit of failures took its slot
//! before the handler ran, so that of any number of attempts sent at once at most the
//! limit's count reach the handler in one window (the rest are 429 without reaching it).
//! A request the handler answered 401 or 403 keeps its slot; any other answer gives it
//! back, with the keys kept when the limits were asked (the body field's, the address,
//! the principal): a successful login never brings its account closer to the limit.

use http::StatusCode;

use super::Admitted;
use crate::audit::{self, Step};

/// Settles the route's limits of failures with the handler's answer (its status): a
/// failure keeps the slot it took, any other answer gives it back.
pub async fn count_failure(admitted: &Admitted, status: StatusCode) {
    let Some(limits) = admitted.route().and_then(|r| r.limits()) else {
        return;
    };
    let kept = admitted.failure_keys();
    if kept.is_empty() {
        return;
    }
    if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
        audit::deny(
            admitted.audit_route(),
            Step::Rate,
            "the handler refused: counted on the limits of failures",
        );
    } else {
        limits.refund(kept).await;
    }
}

#[cfg(test)]
mod tests {
    use http::StatusCode;

    use crate::pipeline::harness::{answer, built, json, request, settings};
    use crate::routing::post;
    use crate::{SecureRouter, public};

    #[derive(serde::Deserialize, validator::Validate)]
    struct Login {
        username: String,
        password: String,
    }

    #[public(validate = Login, limit(rate = "2/m", key = "input.username", on = "failure"))]
    async fn login(input: Login) -> (StatusCode, &'static str) {
        if input.password == "right" {
            (StatusCode::OK, "welcome")
        } else {
            (StatusCode::UNAUTHORIZED, "no")
        }
    }

    fn app() -> axum::Router {
        built(
            SecureRouter::new()
                .route("/login", post(login))
                .with_security(settings().build().unwrap()),
        )
    }

    #[tokio::test]
    async fn the_application_spells_the_key_as_its_account_lookup_does() {
        // Accounts looked up by their exact name: `Alice` is not `alice`'s counter.
        let app = built(
            SecureRouter::new()
                .route("/login", post(login))
                .with_security(
                    settings()
                        .limit_key_normalizer(|name| name.to_owned())
                        .build()
                        .unwrap(),
                ),
        );
        for name in ["alice", "alice"] {
            assert_eq!(attempt(&app, name, "wrong").await, StatusCode::UNAUTHORIZED);
        }
        assert_eq!(
            attempt(&app, "alice", "right").await,
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(attempt(&app, "Alice", "right").await, StatusCode::OK);
    }

    async fn attempt(app: &axum::Router, username: &str, password: &str) -> StatusCode {
        let body = format!(r#"{{"username":"{username}","password":"{password}"}}"#);
        answer(app.clone(), json(request("POST", "/login"), &body))
            .await
            .status
    }

    #[tokio::test]
    async fn failures_count_per_name_and_successes_do_not() {
        let app = app();
        for _ in 0..3 {
            assert_eq!(attempt(&app, "alice", "right").await, StatusCode::OK);
        }
        assert_eq!(
            attempt(&app, "alice", "wrong").await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            attempt(&app, " ALICE ", "wrong").await,
            StatusCode::UNAUTHORIZED
        );
        // Locked: the right password too, until the limit admits again.
        assert_eq!(
            attempt(&app, "alice", "right").await,
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(attempt(&app, "bob", "right").await, StatusCode::OK);
    }
}
