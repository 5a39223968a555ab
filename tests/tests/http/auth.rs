//! Authentication and authorization over HTTP: each forged or invalid token is refused
//! with 401 and the same body; a missing role or scope is 403.

use jsonwebtoken::Algorithm;
use reqwest::StatusCode;
use secure_endpoint_tests::{
    SECRET, assert_security_headers, assert_unauthorized, forge, mint, mint_with, now,
};
use serde_json::{Value, json};

use crate::app::{AUDIENCE, ISSUER, start};

fn claims(sub: &str, roles: &[&str]) -> Value {
    json!({
        "sub": sub,
        "roles": roles,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "exp": now() + 600,
    })
}

async fn get(base: &str, path: &str, token: Option<&str>) -> reqwest::Response {
    secure_endpoint_tests::get(&format!("{base}{path}"), token).await
}

#[tokio::test]
async fn a_valid_token_is_accepted() {
    let base = start().await;
    let response = get(&base, "/me", Some(&mint(&claims("alice", &[])))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_security_headers(&response);
    assert_eq!(response.text().await.unwrap(), "alice");
}

#[tokio::test]
async fn no_token_is_401_with_a_plain_challenge() {
    let base = start().await;
    assert_unauthorized(get(&base, "/me", None).await, false).await;
}

#[tokio::test]
async fn another_scheme_is_401() {
    let base = start().await;
    let response = reqwest::Client::new()
        .get(format!("{base}/me"))
        .basic_auth("alice", Some("password"))
        .send()
        .await
        .unwrap();
    assert_unauthorized(response, false).await;
}

#[tokio::test]
async fn a_token_signed_with_another_secret_is_401() {
    let base = start().await;
    let token = mint_with(
        Algorithm::HS256,
        b"another-secret-that-is-also-32-bytes-long!",
        &claims("alice", &[]),
    );
    assert_unauthorized(get(&base, "/me", Some(&token)).await, true).await;
}

#[tokio::test]
async fn a_tampered_payload_is_401() {
    let base = start().await;
    let token = mint(&claims("alice", &[]));
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let forged = forge(
        &json!({"alg": "HS256", "typ": "JWT"}),
        &claims("alice", &["admin"]),
        "",
    );
    parts[1] = forged.split('.').nth(1).unwrap().to_owned();
    let tampered = parts.join(".");
    assert_unauthorized(get(&base, "/admin", Some(&tampered)).await, true).await;
}

#[tokio::test]
async fn an_expired_token_is_401() {
    let base = start().await;
    let mut expired = claims("alice", &[]);
    // Past the 30 s leeway.
    expired["exp"] = json!(now() - 120);
    assert_unauthorized(get(&base, "/me", Some(&mint(&expired))).await, true).await;
}

#[tokio::test]
async fn a_token_without_exp_is_401() {
    let base = start().await;
    let mut no_exp = claims("alice", &[]);
    no_exp.as_object_mut().unwrap().remove("exp");
    assert_unauthorized(get(&base, "/me", Some(&mint(&no_exp))).await, true).await;
}

#[tokio::test]
async fn a_wrong_issuer_is_401() {
    let base = start().await;
    let mut wrong = claims("alice", &[]);
    wrong["iss"] = json!("https://evil.test");
    assert_unauthorized(get(&base, "/me", Some(&mint(&wrong))).await, true).await;
}

#[tokio::test]
async fn a_missing_issuer_is_401() {
    let base = start().await;
    let mut missing = claims("alice", &[]);
    missing.as_object_mut().unwrap().remove("iss");
    assert_unauthorized(get(&base, "/me", Some(&mint(&missing))).await, true).await;
}

#[tokio::test]
async fn a_wrong_audience_is_401() {
    let base = start().await;
    let mut wrong = claims("alice", &[]);
    wrong["aud"] = json!("another-api");
    assert_unauthorized(get(&base, "/me", Some(&mint(&wrong))).await, true).await;
}

#[tokio::test]
async fn a_missing_audience_is_401() {
    let base = start().await;
    let mut missing = claims("alice", &[]);
    missing.as_object_mut().unwrap().remove("aud");
    assert_unauthorized(get(&base, "/me", Some(&mint(&missing))).await, true).await;
}

#[tokio::test]
async fn alg_none_is_401_in_every_casing() {
    let base = start().await;
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = json!({"alg": alg, "typ": "JWT"});
        let unsigned = forge(&header, &claims("alice", &["admin"]), "");
        assert_unauthorized(get(&base, "/admin", Some(&unsigned)).await, true).await;
    }
}

#[tokio::test]
async fn an_algorithm_outside_the_allow_list_is_401() {
    let base = start().await;
    // Same secret, but HS512 is not configured: the token's `alg` is not trusted.
    let token = mint_with(Algorithm::HS512, SECRET, &claims("alice", &[]));
    assert_unauthorized(get(&base, "/me", Some(&token)).await, true).await;
}

#[tokio::test]
async fn junk_and_oversized_tokens_are_401() {
    let base = start().await;
    assert_unauthorized(get(&base, "/me", Some("not-a-jwt")).await, true).await;
    let huge = "a".repeat(100 * 1024);
    assert_unauthorized(get(&base, "/me", Some(&huge)).await, true).await;
}

#[tokio::test]
async fn two_authorization_headers_are_401() {
    let base = start().await;
    let token = mint(&claims("alice", &[]));
    let response = reqwest::Client::new()
        .get(format!("{base}/me"))
        .header("authorization", format!("Bearer {token}"))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_unauthorized(response, true).await;
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let base = start().await;
    let token = mint(&claims("alice", &[]));
    let response = reqwest::Client::new()
        .get(format!("{base}/me"))
        .header("authorization", format!("bEARER {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_missing_role_is_403() {
    let base = start().await;
    let response = get(&base, "/admin", Some(&mint(&claims("alice", &["editor"])))).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_security_headers(&response);
    assert!(response.headers().get("www-authenticate").is_none());
    assert_eq!(response.text().await.unwrap(), r#"{"error":"Forbidden"}"#);
}

#[tokio::test]
async fn the_role_is_checked_after_authentication() {
    let base = start().await;
    // A forged admin token is a 401, never a 403 or a 200.
    let forged = mint_with(
        Algorithm::HS256,
        b"x-secret-that-is-at-least-32-bytes-long",
        &claims("eve", &["admin"]),
    );
    assert_unauthorized(get(&base, "/admin", Some(&forged)).await, true).await;
}

#[tokio::test]
async fn the_role_holder_is_admitted() {
    let base = start().await;
    let response = get(&base, "/admin", Some(&mint(&claims("root", &["admin"])))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "admin root");
}

#[tokio::test]
async fn any_one_of_several_roles_is_enough() {
    let base = start().await;
    for roles in [&["editor"][..], &["admin"], &["viewer", "editor"]] {
        let response = get(&base, "/edit", Some(&mint(&claims("bob", roles)))).await;
        assert_eq!(response.status(), StatusCode::OK, "roles {roles:?}");
    }
    let response = get(&base, "/edit", Some(&mint(&claims("bob", &["viewer"])))).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn every_scope_is_required() {
    let base = start().await;
    let mut both = claims("carol", &[]);
    both["scope"] = json!("posts:read posts:write");
    assert_eq!(
        get(&base, "/scoped", Some(&mint(&both))).await.status(),
        StatusCode::OK
    );
    let mut one = claims("carol", &[]);
    one["scope"] = json!("posts:read");
    let response = get(&base, "/scoped", Some(&mint(&one))).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(response.text().await.unwrap(), r#"{"error":"Forbidden"}"#);
}

#[tokio::test]
async fn a_public_route_needs_no_token_and_ignores_a_bad_one() {
    let base = start().await;
    assert_eq!(get(&base, "/open", None).await.status(), StatusCode::OK);
    assert_eq!(
        get(&base, "/open", Some("junk")).await.status(),
        StatusCode::OK
    );
}
