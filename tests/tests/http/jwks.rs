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
    /// How long each fetch takes.
    delay: Mutex<Duration>,
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
    let delay = *provider.delay.lock().unwrap();
    tokio::time::sleep(delay).await;
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
    let jwt = JwtAuthenticator::jwks(&[Algorithm::EdDSA], jwks)
        .unwrap()
        .issuer(IDP)
        .audience(API);
    let security = Security::builder().authenticator(jwt).build().unwrap();
    serve_secured(SecureRouter::new().route("/me", get(me)), security).await
}

const IDP: &str = "https://idp.test";
const API: &str = "test-api";

fn mint(private_pem: &[u8], kid: &str) -> TokenMint {
    TokenMint::ed_pem(private_pem)
        .unwrap()
        .kid(kid)
        .issuer(IDP)
        .audience(API)
}

fn token(private_pem: &[u8], kid: &str) -> String {
    mint(private_pem, kid).token("alice", &[])
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

#[tokio::test]
async fn a_jwks_authenticator_needs_an_issuer_and_an_audience() {
    let (_provider, url) = start_provider(vec![]).await;
    let build = |jwt: JwtAuthenticator| Security::builder().authenticator(jwt).build();
    let jwks = || Jwks::from_url(&url).unwrap();
    let bare = JwtAuthenticator::jwks(&[Algorithm::EdDSA], jwks()).unwrap();
    let error = build(bare).unwrap_err().to_string();
    assert!(error.contains("issuer"), "{error}");
    let no_audience = JwtAuthenticator::jwks(&[Algorithm::EdDSA], jwks())
        .unwrap()
        .issuer(IDP);
    let error = build(no_audience).unwrap_err().to_string();
    assert!(error.contains("audience"), "{error}");
    let opted_out = JwtAuthenticator::jwks(&[Algorithm::EdDSA], jwks())
        .unwrap()
        .dangerously_accept_any_issuer()
        .dangerously_accept_any_audience();
    assert!(build(opted_out).is_ok());
}

#[tokio::test]
async fn a_token_issued_to_another_application_is_refused() {
    let (_provider, url) = start_provider(vec![ed_jwk(keys::ED_A_PUB, "k1")]).await;
    let base = service(&url, Duration::from_secs(30), Duration::from_secs(300)).await;
    assert_eq!(
        status(&base, &token(keys::ED_A, "k1")).await,
        StatusCode::OK
    );
    let elsewhere = mint(keys::ED_A, "k1")
        .audience("another-app")
        .token("alice", &[]);
    assert_eq!(status(&base, &elsewhere).await, StatusCode::UNAUTHORIZED);
    let other_issuer = mint(keys::ED_A, "k1")
        .issuer("https://evil.test")
        .token("alice", &[]);
    assert_eq!(status(&base, &other_issuer).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_token_with_an_audience_is_refused_where_none_is_configured() {
    use secure_endpoint_tests::SECRET;
    let jwt = JwtAuthenticator::hmac(Algorithm::HS256, SECRET).unwrap();
    let security = Security::builder().authenticator(jwt).build().unwrap();
    let base = serve_secured(SecureRouter::new().route("/me", get(me)), security).await;
    let plain = TokenMint::hmac(Algorithm::HS256, SECRET).token("alice", &[]);
    assert_eq!(status(&base, &plain).await, StatusCode::OK);
    let for_elsewhere = TokenMint::hmac(Algorithm::HS256, SECRET)
        .audience("another-app")
        .token("alice", &[]);
    assert_eq!(
        status(&base, &for_elsewhere).await,
        StatusCode::UNAUTHORIZED
    );
}

/// An EC public key as a JWK without `kid` or `alg`: the curve point is the end of the
/// SPKI (`04 || x || y`).
fn ec_jwk(public_pem: &[u8], crv: &str, coordinate: usize) -> Value {
    use base64::Engine;
    let text = std::str::from_utf8(public_pem).unwrap();
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    let point = &der[der.len() - (1 + 2 * coordinate)..];
    assert_eq!(point[0], 4, "an uncompressed point");
    let encode = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    json!({
        "kty": "EC",
        "crv": crv,
        "x": encode(&point[1..=coordinate]),
        "y": encode(&point[1 + coordinate..]),
    })
}

#[tokio::test]
async fn an_ec_key_of_another_curve_does_not_hide_the_right_one() {
    let (_provider, url) = start_provider(vec![
        ec_jwk(keys::EC384_A_PUB, "P-384", 48),
        ec_jwk(keys::EC256_A_PUB, "P-256", 32),
    ])
    .await;
    let jwks = Jwks::from_url(&url).unwrap();
    let jwt = JwtAuthenticator::jwks(&[Algorithm::ES256, Algorithm::ES384], jwks)
        .unwrap()
        .issuer(IDP)
        .audience(API);
    let security = Security::builder().authenticator(jwt).build().unwrap();
    let base = serve_secured(SecureRouter::new().route("/me", get(me)), security).await;
    let es256 = TokenMint::ec_pem(Algorithm::ES256, keys::EC256_A)
        .unwrap()
        .issuer(IDP)
        .audience(API)
        .token("alice", &[]);
    assert_eq!(status(&base, &es256).await, StatusCode::OK);
    let es384 = TokenMint::ec_pem(Algorithm::ES384, keys::EC384_A)
        .unwrap()
        .issuer(IDP)
        .audience(API)
        .token("alice", &[]);
    assert_eq!(status(&base, &es384).await, StatusCode::OK);
}

#[tokio::test]
async fn a_crit_header_is_refused_even_when_null() {
    use secure_endpoint_tests::{SECRET, forge};
    let jwt = JwtAuthenticator::hmac(Algorithm::HS256, SECRET).unwrap();
    let security = Security::builder().authenticator(jwt).build().unwrap();
    let base = serve_secured(SecureRouter::new().route("/me", get(me)), security).await;
    let claims = json!({"sub": "alice", "exp": secure_endpoint::testing::now() + 600});
    for header in [
        json!({"alg": "HS256", "typ": "JWT", "crit": null}),
        json!({"alg": "HS256", "typ": "JWT", "crit": []}),
    ] {
        let unsigned = forge(&header, &claims, "");
        let signing_input = unsigned.trim_end_matches('.');
        let signature = hs256(SECRET, signing_input);
        let token = format!("{signing_input}.{signature}");
        assert_eq!(
            status(&base, &token).await,
            StatusCode::UNAUTHORIZED,
            "{header}"
        );
    }
    let header = json!({"alg": "HS256", "typ": "JWT"});
    let unsigned = forge(&header, &claims, "");
    let signing_input = unsigned.trim_end_matches('.');
    let token = format!("{signing_input}.{}", hs256(SECRET, signing_input));
    assert_eq!(
        status(&base, &token).await,
        StatusCode::OK,
        "the same token without crit"
    );
}

fn hs256(secret: &[u8], input: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    // HMAC-SHA256 by its definition, for a signature over a header no encoder writes.
    let mut key = [0u8; 64];
    if secret.len() > 64 {
        key[..32].copy_from_slice(&sha2::Sha256::digest(secret));
    } else {
        key[..secret.len()].copy_from_slice(secret);
    }
    let pad = |byte: u8| key.iter().map(|k| k ^ byte).collect::<Vec<u8>>();
    let mut inner = sha2::Sha256::new();
    inner.update(pad(0x36));
    inner.update(input.as_bytes());
    let mut outer = sha2::Sha256::new();
    outer.update(pad(0x5c));
    outer.update(inner.finalize());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(outer.finalize())
}

#[tokio::test]
async fn requests_during_a_slow_fetch_wait_for_it_and_fetch_nothing_more() {
    let (provider, url) = start_provider(vec![ed_jwk(keys::ED_A_PUB, "k1")]).await;
    *provider.delay.lock().unwrap() = Duration::from_millis(300);
    let base = service(&url, Duration::from_secs(30), Duration::from_secs(300)).await;
    // The first requests find no keys: one fetch, which every other request waits for,
    // known kid or junk.
    let requests: Vec<_> = (0..50)
        .map(|n| {
            let base = base.clone();
            tokio::spawn(async move {
                let kid = if n % 2 == 0 {
                    "k1".to_owned()
                } else {
                    format!("junk-{n}")
                };
                (n, status(&base, &token(keys::ED_A, &kid)).await)
            })
        })
        .collect();
    for request in requests {
        let (n, status) = request.await.unwrap();
        let want = if n % 2 == 0 {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(status, want, "request {n}");
    }
    assert_eq!(provider.fetches(), 1, "one fetch for fifty requests");
    // Unknown kids within the cooldown are answered from the keys held.
    for n in 0..20 {
        let junk = token(keys::ED_B, &format!("later-{n}"));
        assert_eq!(status(&base, &junk).await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(provider.fetches(), 1);
}

#[tokio::test]
async fn stale_keys_start_one_background_refresh_not_one_per_request() {
    let (provider, url) = start_provider(vec![ed_jwk(keys::ED_A_PUB, "k1")]).await;
    // Old after 50 ms, refreshed at most once a second.
    let base = service(&url, Duration::from_secs(1), Duration::from_millis(50)).await;
    assert_eq!(
        status(&base, &token(keys::ED_A, "k1")).await,
        StatusCode::OK
    );
    provider.down.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let requests: Vec<_> = (0..30)
        .map(|_| {
            let base = base.clone();
            tokio::spawn(async move { status(&base, &token(keys::ED_A, "k1")).await })
        })
        .collect();
    for request in requests {
        assert_eq!(
            request.await.unwrap(),
            StatusCode::OK,
            "stale keys keep serving"
        );
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        provider.fetches(),
        2,
        "one refresh while the keys were stale"
    );
}
