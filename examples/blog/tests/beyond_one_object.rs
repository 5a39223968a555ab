//! The blog's lists and fields: each caller's own posts, a guarded `pinned`, an email
//! shown only to its owner and to admins.

mod common;

use common::{ADMIN_PASSWORD, account, login, send, start};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn each_user_lists_only_their_own_posts() {
    let base = start().await;
    let (_, alice) = account(&base, "alice", None).await;
    let (_, bob) = account(&base, "bob", None).await;
    for (token, title) in [(&alice, "a1"), (&bob, "b1"), (&alice, "a2")] {
        let body = json!({"title": title, "content": "c"});
        let (status, _) = send(
            &base,
            reqwest::Method::POST,
            "/posts",
            Some(token),
            Some(body),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let titles = |list: Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|p| p["title"].as_str().unwrap().to_owned())
            .collect()
    };
    let (status, mine) = send(&base, reqwest::Method::GET, "/me/posts", Some(&alice), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(titles(mine), ["a1", "a2"]);
    let (_, mine) = send(&base, reqwest::Method::GET, "/me/posts", Some(&bob), None).await;
    assert_eq!(titles(mine), ["b1"]);
    let (_, page) = send(
        &base,
        reqwest::Method::GET,
        "/me/posts?limit=1",
        Some(&alice),
        None,
    )
    .await;
    assert_eq!(titles(page), ["a1"]);
    let (status, _) = send(&base, reqwest::Method::GET, "/me/posts", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn pinned_is_an_admins_to_write() {
    let base = start().await;
    let (_, alice) = account(&base, "alice", None).await;
    let body = json!({"title": "pin me", "content": "c", "pinned": true});
    let (status, refusal) = send(
        &base,
        reqwest::Method::POST,
        "/posts",
        Some(&alice),
        Some(body.clone()),
    )
    .await;
    assert_eq!(
        (status, refusal),
        (StatusCode::FORBIDDEN, json!({"error": "Forbidden"}))
    );
    let (_, all) = send(&base, reqwest::Method::GET, "/posts", None, None).await;
    assert_eq!(all, json!([]), "nothing was written");
    let admin = login(&base, "admin", ADMIN_PASSWORD).await;
    let (status, post) = send(
        &base,
        reqwest::Method::POST,
        "/posts",
        Some(&admin),
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(post["pinned"], true);
    let body = json!({"title": "plain", "content": "c"});
    let (status, post) = send(
        &base,
        reqwest::Method::POST,
        "/posts",
        Some(&alice),
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(post["pinned"], false);
}

#[tokio::test]
async fn an_email_is_shown_to_its_owner_and_to_admins_only() {
    let base = start().await;
    let (alice_id, alice) = account(&base, "alice", Some("alice@example.com")).await;
    let (_, bob) = account(&base, "bob", None).await;
    let admin = login(&base, "admin", ADMIN_PASSWORD).await;
    let path = format!("/users/{alice_id}");
    let (status, anonymous) = send(&base, reqwest::Method::GET, &path, None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        anonymous,
        json!({"id": alice_id, "username": "alice"}),
        "the key is absent"
    );
    let (_, other) = send(&base, reqwest::Method::GET, &path, Some(&bob), None).await;
    assert_eq!(other, json!({"id": alice_id, "username": "alice"}));
    let (_, own) = send(&base, reqwest::Method::GET, &path, Some(&alice), None).await;
    assert_eq!(own["email"], "alice@example.com");
    let (_, admins) = send(&base, reqwest::Method::GET, &path, Some(&admin), None).await;
    assert_eq!(admins["email"], "alice@example.com");
    let (status, _) = send(&base, reqwest::Method::GET, "/users/999", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(
        &base,
        reqwest::Method::GET,
        &path,
        Some("junk.token.here"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let body = json!({"username": "carol", "password": "correct horse", "email": "not-an-email"});
    let (status, refusal) = send(
        &base,
        reqwest::Method::POST,
        "/auth/register",
        None,
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(refusal["details"], json!({"email": ["email"]}));
}
