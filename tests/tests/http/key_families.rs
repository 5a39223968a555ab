//! Each key family accepts a token signed by its key and refuses one signed by another
//! key of the same family; `kid` selects among configured keys.

use jsonwebtoken::Algorithm;
use secure_endpoint::routing::get;
use secure_endpoint::testing::TokenMint;
use secure_endpoint::{Claims, JwtAuthenticator, Key, SecureRouter, Security, secure};
use secure_endpoint_tests::{assert_unauthorized, keys, serve_secured};

#[secure(auth)]
async fn me(claims: Claims) -> String {
    claims.sub
}

async fn server(algorithms: &[Algorithm], key: Key) -> String {
    let jwt = JwtAuthenticator::new(algorithms, key).unwrap();
    let security = Security::builder().authenticator(jwt).build().unwrap();
    serve_secured(SecureRouter::new().route("/me", get(me)), security).await
}

async fn check(base: &str, good: &TokenMint, other: &TokenMint) {
    let url = format!("{base}/me");
    let response = secure_endpoint_tests::get(&url, Some(&good.token("alice", &[]))).await;
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "alice");
    let forged = other.token("alice", &[]);
    assert_unauthorized(secure_endpoint_tests::get(&url, Some(&forged)).await, true).await;
}

#[tokio::test]
async fn hmac() {
    for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
        let base = server(&[alg], Key::hmac([1u8; 32]).unwrap()).await;
        check(
            &base,
            &TokenMint::hmac(alg, [1u8; 32]),
            &TokenMint::hmac(alg, [2u8; 32]),
        )
        .await;
    }
}

#[tokio::test]
async fn rsa_pkcs1_and_pss_from_pem() {
    for alg in [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
    ] {
        let base = server(&[alg], Key::rsa_pem(keys::RSA_A_PUB).unwrap()).await;
        let good = TokenMint::rsa_pem(alg, keys::RSA_A).unwrap();
        let other = TokenMint::rsa_pem(alg, keys::RSA_B).unwrap();
        check(&base, &good, &other).await;
    }
}

#[tokio::test]
async fn rsa_from_der() {
    let base = server(&[Algorithm::RS256], Key::rsa_der(keys::RSA_A_PUB_DER)).await;
    let good = TokenMint::rsa_pem(Algorithm::RS256, keys::RSA_A).unwrap();
    let other = TokenMint::rsa_pem(Algorithm::RS256, keys::RSA_B).unwrap();
    check(&base, &good, &other).await;
}

#[tokio::test]
async fn ecdsa_p256_and_p384() {
    let base = server(&[Algorithm::ES256], Key::ec_pem(keys::EC256_A_PUB).unwrap()).await;
    let good = TokenMint::ec_pem(Algorithm::ES256, keys::EC256_A).unwrap();
    let other = TokenMint::ec_pem(Algorithm::ES256, keys::EC256_B).unwrap();
    check(&base, &good, &other).await;

    let base = server(&[Algorithm::ES384], Key::ec_pem(keys::EC384_A_PUB).unwrap()).await;
    let good = TokenMint::ec_pem(Algorithm::ES384, keys::EC384_A).unwrap();
    let other = TokenMint::ec_pem(Algorithm::ES384, keys::EC384_B).unwrap();
    check(&base, &good, &other).await;
}

#[tokio::test]
async fn eddsa() {
    let base = server(&[Algorithm::EdDSA], Key::ed_pem(keys::ED_A_PUB).unwrap()).await;
    let good = TokenMint::ed_pem(keys::ED_A).unwrap();
    let other = TokenMint::ed_pem(keys::ED_B).unwrap();
    check(&base, &good, &other).await;
}

#[tokio::test]
async fn kid_selects_among_configured_keys() {
    let jwt = JwtAuthenticator::new(
        &[Algorithm::EdDSA],
        Key::ed_pem(keys::ED_A_PUB).unwrap().kid("a"),
    )
    .unwrap()
    .key(Key::ed_pem(keys::ED_B_PUB).unwrap().kid("b"))
    .unwrap();
    let security = Security::builder().authenticator(jwt).build().unwrap();
    let base = serve_secured(SecureRouter::new().route("/me", get(me)), security).await;
    let url = format!("{base}/me");
    for (private, kid) in [(keys::ED_A, "a"), (keys::ED_B, "b")] {
        let token = TokenMint::ed_pem(private)
            .unwrap()
            .kid(kid)
            .token("alice", &[]);
        let response = secure_endpoint_tests::get(&url, Some(&token)).await;
        assert_eq!(response.status(), reqwest::StatusCode::OK, "kid {kid}");
    }
    // Signed by b but naming a: only key a is tried.
    let mislabelled = TokenMint::ed_pem(keys::ED_B)
        .unwrap()
        .kid("a")
        .token("alice", &[]);
    assert_unauthorized(
        secure_endpoint_tests::get(&url, Some(&mislabelled)).await,
        true,
    )
    .await;
    let unknown = TokenMint::ed_pem(keys::ED_A)
        .unwrap()
        .kid("zzz")
        .token("alice", &[]);
    assert_unauthorized(secure_endpoint_tests::get(&url, Some(&unknown)).await, true).await;
}

#[test]
fn keys_that_cannot_serve_the_algorithms_are_setup_errors() {
    let error =
        JwtAuthenticator::new(&[Algorithm::RS256], Key::hmac([1u8; 32]).unwrap()).unwrap_err();
    assert!(error.to_string().contains("key"), "{error}");
    let error = Key::rsa_pem(b"not a pem").unwrap_err();
    assert!(error.to_string().contains("rsa_pem"), "{error}");
    let error = JwtAuthenticator::new(&[], Key::hmac([1u8; 32]).unwrap()).unwrap_err();
    assert!(error.to_string().contains("algorithms"), "{error}");
    let error = JwtAuthenticator::new(&[Algorithm::HS256], Key::hmac([1u8; 32]).unwrap().kid("x"))
        .unwrap()
        .key(Key::hmac([2u8; 32]).unwrap().kid("x"))
        .unwrap_err();
    assert!(error.to_string().contains("kid"), "{error}");
}
