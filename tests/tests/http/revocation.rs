//! Revocation over HTTP, attacked: a revoked token is refused like a forged one, in
//! memory and in Redis; the revocation check and the limit share one round trip; an
//! outage keeps what was revoked and writes it through; and the scanner finds an
//! authenticator that hides which token it verified.

use std::time::Duration;

use axum::http::StatusCode;
use secure_endpoint::routing::{get, post};
use secure_endpoint::testing::{ScanSettings, TokenMint, scan};
use secure_endpoint::{
    AuthError, Authenticator, Claims, Error, JwtAuthenticator, Limiter, Revocations, Revoker,
    SecureRouter, Security, secure,
};
use secure_endpoint_tests::{OwnRedis, SECRET, serve};

#[secure(auth, rate = "1000/1s")]
async fn limited(claims: Claims) -> String {
    claims.sub
}

#[secure(auth)]
async fn unlimited(claims: Claims) -> String {
    claims.sub
}

#[secure(auth)]
async fn logout(revoker: Revoker) -> Result<StatusCode, Error> {
    revoker.revoke_this_token().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[secure(auth)]
async fn logout_all(claims: Claims, revoker: Revoker) -> StatusCode {
    revoker.revoke_all_tokens_of(&claims.sub).await;
    StatusCode::NO_CONTENT
}

fn routes() -> SecureRouter {
    SecureRouter::new()
        .route("/limited", get(limited))
        .route("/unlimited", get(unlimited))
        .route("/logout", post(logout))
        .route("/logout-all", post(logout_all))
}

async fn start(limiter: Limiter, revocations: Revocations) -> String {
    let jwt = JwtAuthenticator::hmac(secure_endpoint::Algorithm::HS256, SECRET).unwrap();
    let security = Security::builder()
        .authenticator(jwt)
        .rate_limiter(limiter)
        .revocation(revocations)
        .build()
        .unwrap();
    serve(routes().with_security(security)).await
}

fn mint() -> TokenMint {
    TokenMint::hmac(secure_endpoint::Algorithm::HS256, SECRET)
}

async fn call(base: &str, method: &str, path: &str, token: &str) -> StatusCode {
    let client = reqwest::Client::new();
    let request = match method {
        "POST" => client.post(format!("{base}{path}")),
        _ => client.get(format!("{base}{path}")),
    };
    request.bearer_auth(token).send().await.unwrap().status()
}

/// Prefixes no other run shares, for keys in a long-lived Redis.
fn prefix() -> String {
    format!(
        "revocation-test-{}-{}",
        std::process::id(),
        secure_endpoint::testing::now()
    )
}

#[tokio::test]
async fn a_revoked_token_is_refused_on_every_route_in_memory() {
    let base = start(Limiter::memory(), Revocations::memory()).await;
    let token = mint().token("alice", &[]);
    let other = mint().token("alice", &[]);
    assert_eq!(call(&base, "GET", "/limited", &token).await, StatusCode::OK);
    assert_eq!(
        call(&base, "POST", "/logout", &token).await,
        StatusCode::NO_CONTENT
    );
    for path in ["/limited", "/unlimited"] {
        assert_eq!(
            call(&base, "GET", path, &token).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(call(&base, "GET", path, &other).await, StatusCode::OK);
    }
    // Replayed, the revoked token cannot log out again, nor everywhere.
    assert_eq!(
        call(&base, "POST", "/logout-all", &token).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&base, "POST", "/logout-all", &other).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        call(&base, "GET", "/unlimited", &other).await,
        StatusCode::UNAUTHORIZED
    );
    let fresh = mint().token("alice", &[]);
    assert_eq!(
        call(&base, "GET", "/unlimited", &fresh).await,
        StatusCode::OK
    );
    assert_eq!(
        call(&base, "GET", "/unlimited", &mint().token("bob", &[])).await,
        StatusCode::OK,
        "another principal"
    );
}

#[tokio::test]
async fn the_revocation_and_the_limit_are_one_round_trip() {
    let own = OwnRedis::start(OwnRedis::free_port());
    let limiter = Limiter::redis(&own.url())
        .unwrap()
        .prefix(&prefix())
        .unwrap();
    let revocations = Revocations::redis(&own.url())
        .unwrap()
        .prefix(&prefix())
        .unwrap();
    let base = start(limiter, revocations).await;
    let token = mint().token("alice", &[]);
    // The first request loads the script.
    assert_eq!(call(&base, "GET", "/limited", &token).await, StatusCode::OK);
    let before = own.evalsha_calls().await;
    for _ in 0..5 {
        assert_eq!(call(&base, "GET", "/limited", &token).await, StatusCode::OK);
    }
    // The limit alone is one script, the revocation check alone another: five requests
    // asking both apart would be ten.
    assert_eq!(
        own.evalsha_calls().await - before,
        5,
        "one EVALSHA per request"
    );
    // Revoked, the token is refused by that same script, and not counted.
    assert_eq!(
        call(&base, "POST", "/logout", &token).await,
        StatusCode::NO_CONTENT
    );
    let before = own.evalsha_calls().await;
    assert_eq!(
        call(&base, "GET", "/limited", &token).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(own.evalsha_calls().await - before, 1);
}

#[tokio::test]
async fn revocations_in_memory_add_no_round_trip_to_limits_in_redis() {
    let own = OwnRedis::start(OwnRedis::free_port());
    let limiter = Limiter::redis(&own.url())
        .unwrap()
        .prefix(&prefix())
        .unwrap();
    let base = start(limiter, Revocations::memory()).await;
    let token = mint().token("alice", &[]);
    assert_eq!(call(&base, "GET", "/limited", &token).await, StatusCode::OK);
    let before = own.evalsha_calls().await;
    for _ in 0..5 {
        assert_eq!(call(&base, "GET", "/limited", &token).await, StatusCode::OK);
    }
    assert_eq!(
        own.evalsha_calls().await - before,
        5,
        "the limit's script alone"
    );
}

#[tokio::test]
async fn an_outage_keeps_what_was_revoked_and_writes_it_through() {
    let port = OwnRedis::free_port();
    let mut own = OwnRedis::start(port);
    let revocations = || {
        Revocations::redis(&own_url(port))
            .unwrap()
            .prefix("outage")
            .unwrap()
    };
    let one = start(Limiter::memory(), revocations()).await;
    let two = start(Limiter::memory(), revocations()).await;
    let token = mint().token("alice", &[]);
    assert_eq!(
        call(&two, "GET", "/unlimited", &token).await,
        StatusCode::OK
    );
    own.stop();
    // Redis is down: the logout is kept here and refused here.
    assert_eq!(
        call(&one, "POST", "/logout", &token).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        call(&one, "GET", "/unlimited", &token).await,
        StatusCode::UNAUTHORIZED
    );
    let _own = OwnRedis::start(port);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    // The next request on the instance that revoked it writes it through.
    let other = mint().token("bob", &[]);
    assert_eq!(
        call(&one, "GET", "/unlimited", &other).await,
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(
        call(&two, "GET", "/unlimited", &token).await,
        StatusCode::UNAUTHORIZED
    );
}

fn own_url(port: u16) -> String {
    format!("redis://127.0.0.1:{port}")
}

#[tokio::test]
async fn an_outage_fails_closed_when_asked() {
    let port = OwnRedis::free_port();
    let mut own = OwnRedis::start(port);
    let revocations = Revocations::redis(&own.url()).unwrap().fail_closed();
    let base = start(Limiter::memory(), revocations).await;
    let token = mint().token("alice", &[]);
    assert_eq!(
        call(&base, "GET", "/unlimited", &token).await,
        StatusCode::OK
    );
    own.stop();
    assert_eq!(
        call(&base, "GET", "/unlimited", &token).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

/// A JWT authenticator that does not say which token it verified: revocation cannot
/// judge its tokens, which the scanner must report.
struct Opaque(JwtAuthenticator);

impl Authenticator for Opaque {
    type Principal = Claims;

    async fn authenticate(&self, token: &str) -> Result<Claims, AuthError> {
        self.0.authenticate(token).await
    }
}

#[tokio::test]
async fn the_scanner_checks_a_revoked_token_on_every_auth_route() {
    let security = |opaque: bool| {
        let jwt = JwtAuthenticator::hmac(secure_endpoint::Algorithm::HS256, SECRET).unwrap();
        let builder = if opaque {
            Security::builder().authenticator(Opaque(jwt))
        } else {
            Security::builder().authenticator(jwt)
        };
        builder
            .rate_limiter(Limiter::memory())
            .revocation(Revocations::memory())
            .build()
            .unwrap()
    };
    let settings = || ScanSettings::new().mint(mint());
    scan(routes().with_security(security(false)), settings())
        .await
        .assert_clean();
    let report = scan(routes().with_security(security(true)), settings()).await;
    let revoked: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.case == "revoked token")
        .map(|f| f.route.as_str())
        .collect();
    assert_eq!(
        revoked,
        [
            "GET /limited",
            "GET /unlimited",
            "POST /logout",
            "POST /logout-all"
        ],
        "{report}"
    );
}

/// Claims as an identity provider writes them: `iat` in whole seconds.
fn whole_second_token(sub: &str, iat: u64) -> String {
    mint().sign(&serde_json::json!({
        "sub": sub, "iat": iat, "exp": iat + 600, "jti": format!("{sub}-{iat}-{}", prefix()),
    }))
}

#[tokio::test]
async fn a_whole_second_iat_is_compared_at_its_own_precision() {
    for (backend, limiter, revocations) in [
        ("memory", Limiter::memory(), Revocations::memory()),
        (
            "redis",
            Limiter::redis(&secure_endpoint_tests::redis_url())
                .unwrap()
                .prefix(&prefix())
                .unwrap(),
            Revocations::redis(&secure_endpoint_tests::redis_url())
                .unwrap()
                .prefix(&prefix())
                .unwrap(),
        ),
    ] {
        let base = start(limiter, revocations).await;
        let user = format!("precision-{backend}");
        // Log out everywhere a moment into a second: tokens issued earlier in that very
        // second, written in whole seconds, cannot be told from ones issued after it.
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        tokio::time::sleep(Duration::from_millis(1000 - now_ms % 1000 + 50)).await;
        let second = secure_endpoint::testing::now();
        let earlier = whole_second_token(&user, second - 1);
        let this_second = whole_second_token(&user, second);
        let logger = mint().token(&user, &[]);
        assert_eq!(
            call(&base, "POST", "/logout-all", &logger).await,
            StatusCode::NO_CONTENT
        );
        for path in ["/limited", "/unlimited"] {
            assert_eq!(
                call(&base, "GET", path, &earlier).await,
                StatusCode::UNAUTHORIZED,
                "{backend} {path}: a token of an earlier second is revoked"
            );
            assert_eq!(
                call(&base, "GET", path, &this_second).await,
                StatusCode::OK,
                "{backend} {path}: a token of the logout's own second is not refused for it"
            );
        }
    }
}

#[tokio::test]
async fn tokens_a_store_cannot_judge_are_refused_not_waved_through() {
    let base = start(Limiter::memory(), Revocations::memory()).await;
    let now = secure_endpoint::testing::now();
    let cases = [
        (
            "a jti that is a number",
            serde_json::json!({"sub": "u", "iat": now, "exp": now + 60, "jti": 7}),
        ),
        (
            "an iat that is a string",
            serde_json::json!({"sub": "u", "iat": now.to_string(), "exp": now + 60}),
        ),
        (
            "an iat an hour ahead",
            serde_json::json!({"sub": "u", "iat": now + 3600, "exp": now + 3700}),
        ),
    ];
    for (what, claims) in cases {
        let token = mint().sign(&claims);
        assert_eq!(
            call(&base, "GET", "/unlimited", &token).await,
            StatusCode::UNAUTHORIZED,
            "{what}"
        );
    }
}
