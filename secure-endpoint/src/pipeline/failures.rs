//! After the handler, `limit(..., on = "failure")`: each limit of failures took its slot
//! before the handler ran, so that of any number of attempts sent at once at most the
//! limit's count reach the handler in one window (the rest are 429 without reaching it).
//! A request the handler answered 401 or 403 keeps its slot; any other answer gives it
//! back, with the keys kept when the limits were asked (the body field's, the address,
//! the principal): a successful login never brings its account closer to the limit.

use axum::response::Response;
use http::header::SET_COOKIE;
use http::{HeaderName, HeaderValue, StatusCode};

use super::Admitted;
use crate::audit::{self, Step};
use crate::device::{self, DEVICE_HEADER};

/// Settles the route's limits of failures with the handler's answer: a failure keeps
/// the slot it took, any other answer gives it back. A successful login on a route whose
/// limit spares the name's own devices hands the device its credential, when it had none.
pub async fn settle_failures(admitted: &Admitted, mut response: Response) -> Response {
    let Some(route) = admitted.route() else {
        return response;
    };
    let status = response.status();
    let kept = admitted.failure_keys();
    if let Some(limits) = route.limits()
        && !kept.is_empty()
    {
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
    if status.is_success()
        && let (Some(login), Some(devices)) = (admitted.device_login(), route.devices())
        && !login.known
    {
        let credential = devices.issue(&login.name);
        let headers = response.headers_mut();
        if let Ok(cookie) = HeaderValue::from_str(&device::set_cookie(&credential)) {
            headers.append(SET_COOKIE, cookie);
        }
        if let Ok(value) = HeaderValue::from_str(&credential) {
            headers.insert(HeaderName::from_static(DEVICE_HEADER), value);
        }
    }
    response
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

    /// Every account's password is `right`.
    fn check(input: Login) -> (StatusCode, &'static str) {
        if input.password == "right" {
            (StatusCode::OK, "welcome")
        } else {
            (StatusCode::UNAUTHORIZED, "no")
        }
    }

    #[public(validate = Login, limit(rate = "2/m", key = "input.username", on = "failure"))]
    async fn login(input: Login) -> (StatusCode, &'static str) {
        check(input)
    }

    fn app() -> axum::Router {
        built(
            SecureRouter::new()
                .route("/login", post(login))
                .with_security(settings().build().unwrap()),
        )
    }

    #[public(
        validate = Login,
        limit(rate = "2/m", key = "input.username", on = "failure", except = "device")
    )]
    async fn device_login(input: Login) -> (StatusCode, &'static str) {
        check(input)
    }

    async fn attempt_from(
        app: &axum::Router,
        device: Option<&str>,
        username: &str,
        password: &str,
    ) -> (StatusCode, Option<String>) {
        let body = format!(r#"{{"username":"{username}","password":"{password}"}}"#);
        let mut builder = request("POST", "/login");
        if let Some(device) = device {
            builder = builder.header("device-credential", device);
        }
        let answer = answer(app.clone(), json(builder, &body)).await;
        let credential = answer
            .headers
            .get("device-credential")
            .map(|v| v.to_str().unwrap().to_owned());
        if let Some(credential) = &credential {
            let cookie = answer.headers["set-cookie"].to_str().unwrap();
            assert!(
                cookie.starts_with(&format!("__Host-device={credential};")),
                "{cookie}"
            );
            assert!(
                cookie.contains("HttpOnly") && cookie.contains("Secure"),
                "{cookie}"
            );
        }
        (answer.status, credential)
    }

    #[tokio::test]
    async fn failures_from_elsewhere_do_not_lock_the_name_s_own_device() {
        let app = built(
            SecureRouter::new()
                .route("/login", post(device_login))
                .with_security(
                    settings()
                        .device_credentials(*b"the device credentials' secret!!")
                        .build()
                        .unwrap(),
                ),
        );
        // Alice logs in once: her device is handed its credential.
        let (status, device) = attempt_from(&app, None, "alice", "right").await;
        assert_eq!(status, StatusCode::OK);
        let device = device.expect("a credential for the device");
        // Someone else spends the name's budget, and the name is locked for them.
        for _ in 0..2 {
            assert_eq!(
                attempt_from(&app, None, "alice", "wrong").await.0,
                StatusCode::UNAUTHORIZED
            );
        }
        assert_eq!(
            attempt_from(&app, None, "alice", "right").await.0,
            StatusCode::TOO_MANY_REQUESTS
        );
        // Her own device still logs in, and is handed no second credential.
        assert_eq!(
            attempt_from(&app, Some(&device), "alice", "right").await,
            (StatusCode::OK, None)
        );
        // The device for another name counts on that name.
        for _ in 0..2 {
            assert_eq!(
                attempt_from(&app, Some(&device), "bob", "wrong").await.0,
                StatusCode::UNAUTHORIZED
            );
        }
        assert_eq!(
            attempt_from(&app, None, "bob", "right").await.0,
            StatusCode::TOO_MANY_REQUESTS
        );
        // The device has a budget of its own: its failures lock it, not the others'.
        for _ in 0..2 {
            assert_eq!(
                attempt_from(&app, Some(&device), "alice", "wrong").await.0,
                StatusCode::UNAUTHORIZED
            );
        }
        assert_eq!(
            attempt_from(&app, Some(&device), "alice", "right").await.0,
            StatusCode::TOO_MANY_REQUESTS
        );
        // A forged credential is no credential.
        let forged = format!("{}0", &device[..device.len() - 1]);
        assert_eq!(
            attempt_from(&app, Some(&forged), "alice", "right").await.0,
            StatusCode::TOO_MANY_REQUESTS
        );
    }

    #[test]
    fn sparing_devices_without_a_secret_for_them_stops_the_start() {
        let error = SecureRouter::<()>::new()
            .route("/login", post(device_login))
            .with_security(settings().build().unwrap())
            .mock_connect_info(([192, 0, 2, 1], 4000).into())
            .try_into_router()
            .unwrap_err();
        assert!(
            error.to_string().contains("POST /login")
                && error.to_string().contains("device_credentials"),
            "{error}"
        );
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
