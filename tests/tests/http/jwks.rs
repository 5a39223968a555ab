//! Keys from a JWKS served by the test on loopback: rotation, unknown-kid refresh with its
//! cool-down, an outage served from cache, and start-up with the provider down.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use jsonwebtoken::Algorithm;
use secure_endpoint::routing::get;
use secure_endpoint::testing::TokenMint;
use secure_endpoint::{Claims, Jwks, JwtAuthenticator, SecureRouter, Security, secure};
use secure_endpoint_tests::{assert_unauthorized, keys, serve_secured};
use serde_json::{Value, json};

/// A key provider the test controls.
#[derive(Default)]
struct Provider {
    document: Mutex<Value>,
    down: AtomicBool,
    fetches: AtomicUsize,
}

impl Provider {
    fn publish(&self, keys: Vec<Value>) {
        *self.document.lock().unwrap() = json!({ "keys": keys });
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

async fn serve_jwks(State(provider): State<Arc<Provider>>) -> impl IntoResponse {
    provider.fetches.fetch_add(1, Ordering::SeqCst);
    if provider.down.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, String::new());
    }
    (
        StatusCode::OK,
        provider.document.lock().unwrap().to_string(),
    )
}

async fn start_provider(keys: Vec<Value>) -> (Arc<Provider>, String) {
    let provider = Arc::new(Provider::default());
    provider.publish(keys);
    let app = axum::Router::new()
        .route("/jwks.json", axum::routing::get(serve_jwks))
        .with_state(provider.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (provider, url)
}

fn ed_jwk(public_pem: &[u8], kid: &str) -> Value {
    json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "x": keys::ed25519_x(public_pem),
        "kid": kid,
        "alg": "EdDSA",
        "use": "sig",
    })
}

#[secure(auth)]
async fn me(claims: Claims) -> String {
    claims.sub
}

async fn service(url: &str, cooldown: Duration, max_age: Duration) -> String {
    let jwks = Jwks::from_url(url)
        .unwrap()
        .cooldown(cooldown)
        .max_age(max_age);
    let jwt = JwtAuthenticator::jwks(&[Algorithm::EdDSA], jwks).unwrap();
    let security = Security::builder().authenticator(jwt).build().unwrap();
    serve_secured(SecureRouter::new().route("/me", get(me)), security).await
}

fn token(private_pem: &[u8], kid: &str) -> String {
    TokenMint::ed_pem(private_pem)
        .unwrap()
        .kid(kid)
        .token("alice", &[])
}

async fn status(base: &str, token: &str) -> StatusCode {
    let status = secure_endpoint_tests::get(&format!("{base}/me"), Some(token))
        .await
        .status();
    StatusCode::from_u16(status.as_u16()).unwrap()
}

#[tokio::test]
async fn keys_rotate_without_a_restart() {
    let (provider, url) = start_provider(vec![ed_jwk(keys::ED_A_PUB, "2026-10")]).await;
    let base = service(&url, Duration::from_millis(100), Duration::from_secs(3600)).await;
    let old = token(keys::ED_A, "2026-10");
    assert_eq!(status(&base, &old).await, StatusCode::OK);

    provider.publish(vec![ed_jwk(keys::ED_B_PUB, "2026-11")]);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let new = token(keys::ED_B, "2026-11");
    assert_eq!(
        status(&base, &new).await,
        StatusCode::OK,
        "the new kid triggers a refresh"
    );
    tokio::time::sleep(Duration::from_millis(150)).await;
    let response = secure_endpoint_tests::get(&format!("{base}/me"), Some(&old)).await;
    assert_unauthorized(response, true).await;
}

#[tokio::test]
async fn an_unknown_kid_refreshes_at_most_once_per_cooldown() {
    let (provider, url) = start_provider(vec![ed_jwk(keys::ED_A_PUB, "a")]).await;
    let base = service(&url, Duration::from_millis(400), Duration::from_secs(3600)).await;
    assert_eq!(status(&base, &token(keys::ED_A, "a")).await, StatusCode::OK);
    assert_eq!(provider.fetches(), 1);

    // A flood of junk kids right after: no fetch, all refused.
    for i in 0..20 {
        let junk = token(keys::ED_B, &format!("junk-{i}"));
        assert_eq!(status(&base, &junk).await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(provider.fetches(), 1, "the cool-down holds back refreshes");

    tokio::time::sleep(Duration::from_millis(450)).await;
    for i in 0..5 {
        let junk = token(keys::ED_B, &format!("later-{i}"));
        assert_eq!(status(&base, &junk).await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        provider.fetches(),
        2,
        "one refresh once the cool-down has passed"
    );
}

#[tokio::test]
async fn an_outage_is_served_from_the_cached_keys() {
    let (provider, url) = start_provider(vec![ed_jwk(keys::ED_A_PUB, "a")]).await;
    let base = service(&url, Duration::from_millis(50), Duration::from_millis(50)).await;
    let good = token(keys::ED_A, "a");
    assert_eq!(status(&base, &good).await, StatusCode::OK);

    provider.down.store(true, Ordering::SeqCst);
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert_eq!(
            status(&base, &good).await,
            StatusCode::OK,
            "stale keys keep serving"
        );
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        provider.fetches() >= 2,
        "refreshes were attempted during the outage"
    );
}

#[tokio::test]
async fn the_service_starts_with_the_provider_down_and_recovers() {
    let (provider, url) = start_provider(vec![ed_jwk(keys::ED_A_PUB, "a")]).await;
    provider.down.store(true, Ordering::SeqCst);
    let base = service(&url, Duration::from_millis(100), Duration::from_secs(3600)).await;
    let good = token(keys::ED_A, "a");
    let response = secure_endpoint_tests::get(&format!("{base}/me"), Some(&good)).await;
    assert_unauthorized(response, true).await;

    provider.down.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(status(&base, &good).await, StatusCode::OK);
}

#[tokio::test]
async fn keys_of_unknown_or_unsuitable_types_are_skipped() {
    let (_provider, url) = start_provider(vec![
        json!({"kty": "XYZ", "kid": "future"}),
        json!({"kty": "oct", "kid": "symmetric", "k": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}),
        json!({"kty": "OKP", "crv": "Ed25519", "kid": "broken", "x": "not base64!"}),
        ed_jwk(keys::ED_A_PUB, "good"),
    ])
    .await;
    let base = service(&url, Duration::from_millis(100), Duration::from_secs(3600)).await;
    assert_eq!(
        status(&base, &token(keys::ED_A, "good")).await,
        StatusCode::OK
    );
}

#[test]
fn plain_http_is_refused_except_on_loopback() {
    let error = Jwks::from_url("http://keys.example.com/jwks.json").unwrap_err();
    assert!(error.to_string().contains("jwks url"), "{error}");
    assert!(Jwks::from_url("http://127.0.0.1:1/jwks.json").is_ok());
    assert!(Jwks::from_url("http://[::1]:1/jwks.json").is_ok());
    assert!(Jwks::from_url("https://keys.example.com/jwks.json").is_ok());
}

#[test]
fn hmac_algorithms_cannot_use_a_jwks() {
    let jwks = Jwks::from_url("https://keys.example.com/jwks.json").unwrap();
    let error = JwtAuthenticator::jwks(&[Algorithm::HS256], jwks).unwrap_err();
    assert!(error.to_string().contains("algorithms"), "{error}");
}
