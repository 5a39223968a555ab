//! The blog's lists and fields: each caller's own posts, a guarded `pinned`, an email
//! shown only to its owner and to admins.

use blog::Config;
use reqwest::StatusCode;
use secure_endpoint_tests::SECRET;
use serde_json::{Value, json};

const ADMIN_PASSWORD: &str = "admin password for tests";

async fn start() -> String {
    let (app, _state) = blog::app(&Config::for_tests(SECRET, ADMIN_PASSWORD))
        .await
        .expect("the blog starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = secure_endpoint::serve(listener, app).expect("settings complete");
    let addr = server.local_addr().unwrap();
    tokio::spawn(async move { server.await.unwrap() });
    format!("http://{addr}")
}

async fn send(
    base: &str,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new().request(method, format!("{base}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Registers `name` (with `email` when given) and logs in: its id and token.
async fn account(base: &str, name: &str, email: Option<&str>) -> (i64, String) {
    let mut body = json!({"username": name, "password": "correct horse"});
    if let Some(email) = email {
        body["email"] = json!(email);
    }
    let (status, created) = send(
        base,
        reqwest::Method::POST,
        "/auth/register",
        None,
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    (
        created["id"].as_i64().unwrap(),
        login(base, name, "correct horse").await,
    )
}

async fn login(base: &str, name: &str, password: &str) -> String {
    let body = json!({"username": name, "password": password});
    let (status, token) = send(base, reqwest::Method::POST, "/auth/login", None, Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    token["token"].as_str().unwrap().to_owned()
}

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
