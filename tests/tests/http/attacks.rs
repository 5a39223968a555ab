//! The verifier under attack: every forged, expired, malformed or oversized token is
//! refused with the same 401 and body, over real HTTP.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use jsonwebtoken::Algorithm;
use secure_endpoint::routing::get;
use secure_endpoint::testing::TokenMint;
use secure_endpoint::{Claims, JwtAuthenticator, Key, SecureRouter, Security, secure};
use secure_endpoint_tests::{SECRET, assert_unauthorized, forge, keys, now, serve_secured};
use serde_json::{Value, json};

const ISSUER: &str = "https://issuer.test";
const AUDIENCE: &str = "attack-api";

#[secure(auth)]
async fn me(claims: Claims) -> String {
    claims.sub
}

fn routes() -> SecureRouter {
    SecureRouter::new().route("/me", get(me))
}

async fn hmac_server(leeway: Duration) -> String {
    let jwt = JwtAuthenticator::hmac(Algorithm::HS256, SECRET)
        .unwrap()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .leeway(leeway);
    serve_secured(
        routes(),
        Security::builder().authenticator(jwt).build().unwrap(),
    )
    .await
}

async fn rsa_server() -> String {
    let key = Key::rsa_pem(keys::RSA_A_PUB).unwrap();
    let jwt = JwtAuthenticator::new(&[Algorithm::RS256], key)
        .unwrap()
        .issuer(ISSUER)
        .audience(AUDIENCE);
    serve_secured(
        routes(),
        Security::builder().authenticator(jwt).build().unwrap(),
    )
    .await
}

fn hmac_mint() -> TokenMint {
    TokenMint::hmac(Algorithm::HS256, SECRET)
        .issuer(ISSUER)
        .audience(AUDIENCE)
}

async fn call(base: &str, token: &str) -> reqwest::Response {
    secure_endpoint_tests::get(&format!("{base}/me"), Some(token)).await
}

async fn assert_accepted(base: &str, token: &str) {
    let response = call(base, token).await;
    assert_eq!(
        response.status(),
        reqwest::StatusCode::OK,
        "a good token is accepted"
    );
}

async fn assert_refused(base: &str, token: &str) {
    assert_unauthorized(call(base, token).await, true).await;
}

fn signature_of(token: &str) -> &str {
    token.rsplit('.').next().unwrap()
}

#[tokio::test]
async fn alg_none_in_any_casing_with_or_without_a_signature() {
    let base = hmac_server(Duration::from_secs(30)).await;
    let good = hmac_mint().token("alice", &[]);
    let claims = hmac_mint().claims("alice", &["admin"]);
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = json!({"alg": alg, "typ": "JWT"});
        assert_refused(&base, &forge(&header, &claims, "")).await;
        assert_refused(&base, &forge(&header, &claims, signature_of(&good))).await;
    }
}

#[tokio::test]
async fn an_hmac_token_keyed_with_the_servers_rsa_public_key() {
    let base = rsa_server().await;
    let good = TokenMint::rsa_pem(Algorithm::RS256, keys::RSA_A)
        .unwrap()
        .issuer(ISSUER)
        .audience(AUDIENCE);
    assert_accepted(&base, &good.token("alice", &[])).await;
    // The classic confusion: the public key, which is public, used as an HMAC secret.
    for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
        let forged = TokenMint::hmac(alg, keys::RSA_A_PUB)
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .token("alice", &["admin"]);
        assert_refused(&base, &forged).await;
    }
}

#[tokio::test]
async fn stripped_and_tampered_signatures() {
    let base = hmac_server(Duration::from_secs(30)).await;
    let token = hmac_mint().token("alice", &[]);
    assert_accepted(&base, &token).await;
    let (unsigned, signature) = token.rsplit_once('.').unwrap();
    assert_refused(&base, &format!("{unsigned}.")).await;
    assert_refused(&base, unsigned).await;
    let mut flipped: Vec<char> = signature.chars().collect();
    flipped[5] = if flipped[5] == 'A' { 'B' } else { 'A' };
    let flipped: String = flipped.into_iter().collect();
    assert_refused(&base, &format!("{unsigned}.{flipped}")).await;
    // The payload of another user's token under this token's signature.
    let other = hmac_mint().token("mallory", &["admin"]);
    let other_payload = other.split('.').nth(1).unwrap();
    let header = token.split('.').next().unwrap();
    assert_refused(&base, &format!("{header}.{other_payload}.{signature}")).await;
}

#[tokio::test]
async fn expiry_with_and_without_leeway() {
    let lenient = hmac_server(Duration::from_secs(30)).await;
    let strict = hmac_server(Duration::ZERO).await;
    let mint = hmac_mint();
    let mut just_expired = mint.claims("alice", &[]);
    just_expired["exp"] = json!(now() - 10);
    let just_expired = mint.sign(&just_expired);
    assert_accepted(&lenient, &just_expired).await;
    assert_refused(&strict, &just_expired).await;
    let mut long_expired = mint.claims("alice", &[]);
    long_expired["exp"] = json!(now() - 120);
    assert_refused(&lenient, &mint.sign(&long_expired)).await;
}

#[tokio::test]
async fn nbf_in_the_future() {
    let base = hmac_server(Duration::from_secs(30)).await;
    let mint = hmac_mint();
    let mut early = mint.claims("alice", &[]);
    early["nbf"] = json!(now() + 300);
    assert_refused(&base, &mint.sign(&early)).await;
    let mut ready = mint.claims("alice", &[]);
    ready["nbf"] = json!(now() - 5);
    assert_accepted(&base, &mint.sign(&ready)).await;
}

#[tokio::test]
async fn exp_missing_or_not_a_number() {
    let base = hmac_server(Duration::from_secs(30)).await;
    let mint = hmac_mint();
    let mut missing = mint.claims("alice", &[]);
    missing.as_object_mut().unwrap().remove("exp");
    assert_refused(&base, &mint.sign(&missing)).await;
    for bad in [
        json!((now() + 600).to_string()),
        json!(null),
        json!([now() + 600]),
        json!(1e300),
    ] {
        let mut claims = mint.claims("alice", &[]);
        claims["exp"] = bad;
        assert_refused(&base, &mint.sign(&claims)).await;
    }
}

#[tokio::test]
async fn issuer_and_audience_missing_or_wrong() {
    let base = hmac_server(Duration::from_secs(30)).await;
    let mint = hmac_mint();
    for (claim, wrong) in [
        ("iss", json!("https://evil.test")),
        ("aud", json!("other-api")),
    ] {
        let mut missing = mint.claims("alice", &[]);
        missing.as_object_mut().unwrap().remove(claim);
        assert_refused(&base, &mint.sign(&missing)).await;
        let mut wrong_value = mint.claims("alice", &[]);
        wrong_value[claim] = wrong;
        assert_refused(&base, &mint.sign(&wrong_value)).await;
    }
}

/// Signs a header we craft (fields jsonwebtoken would not write) and `claims` with the
/// test secret, as HS256.
fn sign_raw(header: &Value, claims: &Value) -> String {
    let unsigned = forge(header, claims, "");
    let unsigned = unsigned.trim_end_matches('.');
    format!("{unsigned}.{}", hmac_sha256(unsigned.as_bytes()))
}

/// HMAC-SHA256 with the test secret, base64url: a signature over bytes we choose.
fn hmac_sha256(message: &[u8]) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    // RFC 2104 over SHA-256; the test secret is shorter than the 64-byte block.
    let key = SECRET;
    let mut padded = [0u8; 64];
    padded[..key.len()].copy_from_slice(key);
    let ipad: Vec<u8> = padded.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = padded.iter().map(|b| b ^ 0x5c).collect();
    let inner = sha256(&[ipad.as_slice(), message].concat());
    let outer = sha256(&[opad.as_slice(), inner.as_slice()].concat());
    URL_SAFE_NO_PAD.encode(outer)
}

fn sha256(data: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(data).to_vec()
}

#[tokio::test]
async fn a_crafted_header_with_a_valid_signature_is_accepted_so_the_attacks_below_are_real() {
    let base = hmac_server(Duration::from_secs(30)).await;
    let header = json!({"alg": "HS256", "typ": "JWT"});
    assert_accepted(&base, &sign_raw(&header, &hmac_mint().claims("alice", &[]))).await;
}

#[tokio::test]
async fn an_unknown_crit_header() {
    let base = hmac_server(Duration::from_secs(30)).await;
    let header = json!({"alg": "HS256", "typ": "JWT", "crit": ["exp-v2"], "exp-v2": true});
    assert_refused(&base, &sign_raw(&header, &hmac_mint().claims("alice", &[]))).await;
}

#[tokio::test]
async fn an_embedded_jwk_is_not_trusted() {
    let base = rsa_server().await;
    // The attacker signs with their own key and embeds its public half.
    let attacker = TokenMint::rsa_pem(Algorithm::RS256, keys::RSA_B)
        .unwrap()
        .issuer(ISSUER)
        .audience(AUDIENCE);
    let token = attacker.token("alice", &["admin"]);
    let (_, rest) = token.split_once('.').unwrap();
    let header = json!({
        "alg": "RS256",
        "typ": "JWT",
        "jwk": {"kty": "RSA", "e": "AQAB", "n": "attacker-modulus"}
    });
    let forged_header = forge(&header, &json!({}), "");
    let forged_header = forged_header.split('.').next().unwrap();
    assert_refused(&base, &format!("{forged_header}.{rest}")).await;
    assert_refused(&base, &token).await;
}

#[tokio::test]
async fn a_jku_is_never_fetched() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let jku = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    tokio::spawn(async move {
        while listener.accept().await.is_ok() {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    let base = rsa_server().await;
    let attacker = TokenMint::rsa_pem(Algorithm::RS256, keys::RSA_B)
        .unwrap()
        .issuer(ISSUER)
        .audience(AUDIENCE);
    let token = attacker.token("alice", &["admin"]);
    let (_, rest) = token.split_once('.').unwrap();
    for field in ["jku", "x5u"] {
        let header = json!({"alg": "RS256", "typ": "JWT", field: jku});
        let forged_header = forge(&header, &json!({}), "");
        let forged_header = forged_header.split('.').next().unwrap();
        assert_refused(&base, &format!("{forged_header}.{rest}")).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "the jku/x5u listener was contacted"
    );
}

#[tokio::test]
async fn a_100_kb_token_and_junk() {
    let base = hmac_server(Duration::from_secs(30)).await;
    let good = hmac_mint().token("alice", &[]);
    let padded = format!("{good}{}", "A".repeat(100 * 1024));
    assert_refused(&base, &padded).await;
    for junk in ["junk", "a.b.c", "....", "eyJ.eyJ.eyJ", "%00%ff", "Bearer"] {
        assert_refused(&base, junk).await;
    }
}

#[tokio::test]
async fn two_authorization_headers() {
    let base = hmac_server(Duration::from_secs(30)).await;
    let good = hmac_mint().token("alice", &[]);
    let response = reqwest::Client::new()
        .get(format!("{base}/me"))
        .header("authorization", format!("Bearer {good}"))
        .header("authorization", "Bearer junk")
        .send()
        .await
        .unwrap();
    assert_unauthorized(response, true).await;
}

#[tokio::test]
async fn a_header_or_claims_that_are_not_an_object_are_refused_though_signed() {
    let base = hmac_server(Duration::from_secs(30)).await;
    let claims = hmac_mint().claims("alice", &[]);
    // `["HS256"]` as the header: serde's derive reads an array as a struct.
    assert_refused(&base, &sign_raw(&json!(["HS256"]), &claims)).await;
    assert_refused(&base, &sign_raw(&json!(["HS256", null]), &claims)).await;
    // The claims' values as an array, in the order `Claims` declares them.
    let array = json!(["alice", [], null, secure_endpoint::testing::now() + 600]);
    assert_refused(&base, &sign_raw(&json!({"alg": "HS256"}), &array)).await;
    // The same token as an object passes: the refusal is for the shape alone.
    assert_accepted(&base, &sign_raw(&json!({"alg": "HS256"}), &claims)).await;
}
