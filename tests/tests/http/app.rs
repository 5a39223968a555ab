//! A small service exercising each policy and each kind of failure.

use axum::http::StatusCode;
use axum::response::IntoResponse;
use jsonwebtoken::Algorithm;
use secure_endpoint::routing::get;
use secure_endpoint::{Claims, Error, JwtAuthenticator, SecureRouter, Security, public, secure};
use secure_endpoint_tests::SECRET;

pub const ISSUER: &str = "https://issuer.test";
pub const AUDIENCE: &str = "test-api";

#[public]
async fn open() -> &'static str {
    "open"
}

#[secure(auth)]
async fn me(claims: Claims) -> String {
    claims.sub
}

#[secure(auth, role = "admin")]
async fn admin(claims: Claims) -> String {
    format!("admin {}", claims.sub)
}

#[secure(auth, roles = ["editor", "admin"])]
async fn edit() -> &'static str {
    "edit"
}

#[secure(auth, scopes = ["posts:read", "posts:write"])]
async fn scoped() -> &'static str {
    "scoped"
}

#[public]
async fn fails() -> Result<String, Error> {
    let missing = std::fs::read_to_string("/nonexistent/canary-path-detail")?;
    Ok(missing)
}

#[public]
async fn panics() -> &'static str {
    panic!("canary-panic-detail")
}

#[public]
async fn own_500() -> impl IntoResponse {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "canary-own-500 at src/db.rs:42 password=hunter2",
    )
}

#[public]
async fn unavailable() -> impl IntoResponse {
    (StatusCode::SERVICE_UNAVAILABLE, "canary-503 upstream down")
}

#[public]
async fn conflict() -> Result<&'static str, Error> {
    Err(Error::client(
        StatusCode::CONFLICT,
        "Username already taken",
    ))
}

#[public]
async fn teapot() -> impl IntoResponse {
    (
        StatusCode::IM_A_TEAPOT,
        axum::Json(serde_json::json!({"error": "short and stout"})),
    )
}

pub fn routes() -> SecureRouter {
    SecureRouter::new()
        .route("/open", get(open))
        .route("/me", get(me))
        .route("/admin", get(admin))
        .route("/edit", get(edit))
        .route("/scoped", get(scoped))
        .route("/fails", get(fails))
        .route("/panics", get(panics))
        .route("/own-500", get(own_500))
        .route("/unavailable", get(unavailable))
        .route("/conflict", get(conflict))
        .route("/teapot", get(teapot))
}

pub fn security() -> Security {
    let jwt = JwtAuthenticator::hmac(Algorithm::HS256, SECRET)
        .expect("the test secret is long enough")
        .issuer(ISSUER)
        .audience(AUDIENCE);
    Security::builder()
        .authenticator(jwt)
        .build()
        .expect("valid settings")
}

pub async fn start() -> String {
    secure_endpoint_tests::serve(routes().with_security(security())).await
}
