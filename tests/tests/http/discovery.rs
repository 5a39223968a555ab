//! Token providers found by OpenID discovery, served by the test on loopback: keys that
//! rotate, a document naming another issuer or none, several issuers with their own
//! keys behind one authenticator.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use jsonwebtoken::Algorithm;
use secure_endpoint::routing::get;
use secure_endpoint::testing::TokenMint;
use secure_endpoint::{Claims, Issuers, Jwks, JwtAuthenticator, SecureRouter, Security, secure};
use secure_endpoint_tests::{capture_logs, keys, serve_secured};
use serde_json::{Value, json};

/// A provider the test controls: its discovery document and its key set.
struct Provider {
    base: String,
    document: Mutex<Value>,
    keys: Mutex<Value>,
}

async fn document(State(provider): State<Arc<Provider>>) -> String {
    provider.document.lock().unwrap().to_string()
}

async fn key_set(State(provider): State<Arc<Provider>>) -> String {
    provider.keys.lock().unwrap().to_string()
}

async fn start_provider(keys: Vec<Value>) -> Arc<Provider> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/realms/staff", listener.local_addr().unwrap());
    let provider = Arc::new(Provider {
        document: Mutex::new(json!({
            "issuer": base,
            "jwks_uri": format!("{base}/certs"),
            "authorization_endpoint": format!("{base}/auth"),
        })),
        keys: Mutex::new(json!({ "keys": keys })),
        base,
    });
    let app = axum::Router::new()
        .route(
            "/realms/staff/.well-known/openid-configuration",
            axum::routing::get(document),
        )
        .route("/realms/staff/certs", axum::routing::get(key_set))
        .with_state(provider.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    provider
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

const API: &str = "test-api";

async fn service(authenticator: impl secure_endpoint::Authenticator<Principal = Claims>) -> String {
    let security = Security::builder()
        .authenticator(authenticator)
        .build()
        .unwrap();
    serve_secured(SecureRouter::new().route("/me", get(me)), security).await
}

fn discovered(provider: &Provider) -> JwtAuthenticator {
    let jwks = Jwks::discover(&provider.base)
        .unwrap()
        .cooldown(Duration::from_millis(100));
    JwtAuthenticator::jwks(&[Algorithm::EdDSA], jwks)
        .unwrap()
        .audience(API)
}

fn token(private_pem: &[u8], kid: &str, issuer: &str) -> String {
    TokenMint::ed_pem(private_pem)
        .unwrap()
        .kid(kid)
        .issuer(issuer)
        .audience(API)
        .token("alice", &[])
}

async fn status(base: &str, token: &str) -> StatusCode {
    secure_endpoint_tests::get(&format!("{base}/me"), Some(token))
        .await
        .status()
}

#[tokio::test]
async fn discovered_keys_verify_and_rotate() {
    let provider = start_provider(vec![ed_jwk(keys::ED_A_PUB, "a")]).await;
    let base = service(discovered(&provider)).await;
    assert_eq!(
        status(&base, &token(keys::ED_A, "a", &provider.base)).await,
        StatusCode::OK
    );
    // The discovered issuer is required: the same key naming another issuer is refused.
    assert_eq!(
        status(&base, &token(keys::ED_A, "a", "https://elsewhere.example")).await,
        StatusCode::UNAUTHORIZED
    );
    *provider.keys.lock().unwrap() = json!({ "keys": [ed_jwk(keys::ED_B_PUB, "b")] });
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(
        status(&base, &token(keys::ED_B, "b", &provider.base)).await,
        StatusCode::OK,
        "the new kid is fetched through the document"
    );
}

#[tokio::test]
async fn a_document_naming_another_issuer_or_no_keys_is_refused_until_it_is_good() {
    let provider = start_provider(vec![ed_jwk(keys::ED_A_PUB, "a")]).await;
    let good = provider.document.lock().unwrap().clone();
    let logs = capture_logs();
    let bad_documents = [
        json!({ "issuer": "https://attacker.example", "jwks_uri": good["jwks_uri"] }),
        json!({ "issuer": provider.base }),
        json!({ "issuer": provider.base, "jwks_uri": "http://example.com/certs" }),
        json!("not a document"),
    ];
    let base = service(discovered(&provider)).await;
    let valid = token(keys::ED_A, "a", &provider.base);
    for bad in bad_documents {
        *provider.document.lock().unwrap() = bad.clone();
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(
            status(&base, &valid).await,
            StatusCode::UNAUTHORIZED,
            "{bad}"
        );
    }
    let logged = logs.contents();
    for reason in [
        "names the issuer \\\"https://attacker.example\\\"",
        "has no jwks_uri",
        "keys must come over https",
        "not an OpenID discovery document",
    ] {
        assert!(logged.contains(reason), "{reason} in {logged}");
    }
    *provider.document.lock().unwrap() = good;
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(status(&base, &valid).await, StatusCode::OK);
}

#[test]
fn discovery_over_plain_http_elsewhere_than_loopback_stops_the_start() {
    let error = Jwks::discover("http://login.example.com/realms/staff").unwrap_err();
    assert!(error.to_string().contains("https"), "{error}");
}

#[tokio::test]
async fn several_issuers_each_with_their_own_keys() {
    let staff = start_provider(vec![ed_jwk(keys::ED_A_PUB, "a")]).await;
    let partners = start_provider(vec![ed_jwk(keys::ED_B_PUB, "b")]).await;
    let base = service(
        Issuers::new()
            .issuer(discovered(&staff).audiences(&[API, "test-api-v2"]))
            .issuer(discovered(&partners)),
    )
    .await;
    assert_eq!(
        status(&base, &token(keys::ED_A, "a", &staff.base)).await,
        StatusCode::OK
    );
    assert_eq!(
        status(&base, &token(keys::ED_B, "b", &partners.base)).await,
        StatusCode::OK
    );
    // One provider's key never vouches for the other's issuer.
    assert_eq!(
        status(&base, &token(keys::ED_B, "b", &staff.base)).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(&base, &token(keys::ED_A, "a", "https://unknown.example")).await,
        StatusCode::UNAUTHORIZED
    );
    let second_audience = TokenMint::ed_pem(keys::ED_A)
        .unwrap()
        .kid("a")
        .issuer(&staff.base)
        .audience("test-api-v2")
        .token("alice", &[]);
    assert_eq!(status(&base, &second_audience).await, StatusCode::OK);
}

#[test]
fn issuers_must_each_name_their_issuer_once() {
    let unnamed = JwtAuthenticator::hmac(Algorithm::HS256, [1u8; 32]).unwrap();
    let named = || {
        JwtAuthenticator::hmac(Algorithm::HS256, [1u8; 32])
            .unwrap()
            .issuer("https://one.example")
    };
    let error = Security::builder()
        .authenticator(Issuers::new().issuer(unnamed))
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("issuers"), "{error}");
    let error = Security::builder()
        .authenticator(Issuers::new().issuer(named()).issuer(named()))
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("given twice"), "{error}");
}

#[tokio::test]
async fn keys_are_fetched_only_from_the_issuer_s_origin_or_one_allowed_by_name() {
    let logs = capture_logs();
    let provider = start_provider(vec![]).await;
    // The keys are served by another server (another origin: another port).
    let elsewhere = start_provider(vec![ed_jwk(keys::ED_A_PUB, "a")]).await;
    let elsewhere_origin = elsewhere.base.trim_end_matches("/realms/staff").to_owned();
    provider.document.lock().unwrap()["jwks_uri"] = json!(format!("{}/certs", elsewhere.base));
    let valid = token(keys::ED_A, "a", &provider.base);

    let base = service(discovered(&provider)).await;
    assert_eq!(status(&base, &valid).await, StatusCode::UNAUTHORIZED);
    assert!(
        logs.contents().contains("is not on the issuer's origin"),
        "{}",
        logs.contents()
    );

    let allowed = Jwks::discover_allowing(&provider.base, &[&elsewhere_origin])
        .unwrap()
        .cooldown(Duration::from_millis(100));
    let authenticator = JwtAuthenticator::jwks(&[Algorithm::EdDSA], allowed)
        .unwrap()
        .audience(API);
    let base = service(authenticator).await;
    assert_eq!(status(&base, &valid).await, StatusCode::OK);
}
