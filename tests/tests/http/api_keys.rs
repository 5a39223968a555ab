//! The API-key authenticator, alone and beside JWTs on one route.

use jsonwebtoken::Algorithm;
use reqwest::StatusCode;
use secure_endpoint::routing::get;
use secure_endpoint::testing::TokenMint;
use secure_endpoint::{
    ApiKeys, Claims, JwtAuthenticator, SecureRouter, Security, SetupError, secure,
};
use secure_endpoint_tests::{SECRET, assert_unauthorized, serve_secured};

const KEY: &str = "sk_test_4eC39HqLyjWDarjtT1zdp7dc9f2kR8Lm";

#[secure(auth, role = "deployer")]
async fn deploy(claims: Claims) -> String {
    format!("deployed by {}", claims.sub)
}

fn robot() -> Claims {
    Claims {
        sub: "ci-bot".into(),
        roles: vec!["deployer".into()],
        scope: None,
        exp: u64::MAX,
    }
}

async fn call(base: &str, token: &str) -> reqwest::Response {
    secure_endpoint_tests::get(&format!("{base}/deploy"), Some(token)).await
}

#[tokio::test]
async fn a_known_key_is_its_principal_and_others_are_401() {
    let keys = ApiKeys::new().key(KEY, robot()).unwrap();
    let security = Security::builder().authenticator(keys).build().unwrap();
    let base = serve_secured(SecureRouter::new().route("/deploy", get(deploy)), security).await;

    let response = call(&base, KEY).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "deployed by ci-bot");

    let mut near = KEY.to_owned();
    near.pop();
    near.push('x');
    for wrong in [
        near.as_str(),
        &KEY[..KEY.len() - 1],
        "sk_test_other_key_that_is_long_enough_000",
    ] {
        assert_unauthorized(call(&base, wrong).await, true).await;
    }
}

#[tokio::test]
async fn a_stored_hash_authenticates_the_key_it_was_made_from() {
    // printf %s "$KEY" | sha256sum
    let hash = "98fdf3ae1cc8699d2e56f69bfd2df7da47a6682730cc43c5c9cc779e9eb87e10";
    let keys = ApiKeys::new().hashed(hash, robot()).unwrap();
    let security = Security::builder().authenticator(keys).build().unwrap();
    let base = serve_secured(SecureRouter::new().route("/deploy", get(deploy)), security).await;
    assert_eq!(call(&base, KEY).await.status(), StatusCode::OK);
    assert_unauthorized(call(&base, hash).await, true).await;
}

#[tokio::test]
async fn a_route_accepts_a_jwt_or_an_api_key() {
    let jwt = JwtAuthenticator::hmac(Algorithm::HS256, SECRET).unwrap();
    let keys = ApiKeys::new().key(KEY, robot()).unwrap();
    let security = Security::builder()
        .authenticator((jwt, keys))
        .build()
        .unwrap();
    let base = serve_secured(SecureRouter::new().route("/deploy", get(deploy)), security).await;

    let token = TokenMint::hmac(Algorithm::HS256, SECRET).token("alice", &["deployer"]);
    assert_eq!(
        call(&base, &token).await.text().await.unwrap(),
        "deployed by alice"
    );
    assert_eq!(
        call(&base, KEY).await.text().await.unwrap(),
        "deployed by ci-bot"
    );
    assert_unauthorized(
        call(&base, "neither-a-jwt-nor-a-known-key-000000").await,
        true,
    )
    .await;
}

#[test]
fn short_keys_and_malformed_hashes_are_setup_errors() {
    let error = ApiKeys::new().key("short", robot()).unwrap_err();
    assert!(matches!(
        error,
        SetupError::WeakSecret {
            setting: "api key",
            ..
        }
    ));
    let error = ApiKeys::new().hashed("abc", robot()).unwrap_err();
    assert!(error.to_string().contains("api key hash"));
    let error = ApiKeys::new()
        .hashed(&"zz".repeat(32), robot())
        .unwrap_err();
    assert!(error.to_string().contains("api key hash"));
}
