//! Tokens over their lifetime, attacked over HTTP: after logout, after logout
//! everywhere, after the account is deleted, after a restart gave the account's id to
//! someone else; and a feed that says who reads it.

mod common;

use blog::Config;
use common::{ADMIN_PASSWORD, account, login, send, serve, start};
use reqwest::{Method, StatusCode};
use secure_endpoint::testing::TokenMint;
use secure_endpoint_tests::SECRET;
use serde_json::{Value, json};

/// The refusal every invalid token gets: a revoked one must look the same.
async fn refusal(base: &str, token: &str) -> (StatusCode, Option<String>, String) {
    let response = reqwest::Client::new()
        .get(format!("{base}/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: Value = response.json().await.unwrap();
    (status, challenge, body["error"].to_string())
}

async fn me(base: &str, token: &str) -> StatusCode {
    send(base, Method::GET, "/me", Some(token), None).await.0
}

#[tokio::test]
async fn logout_ends_that_token_only() {
    let base = start().await;
    let (_, first) = account(&base, "alice", None).await;
    let second = login(&base, "alice", "correct horse").await;
    let (status, _) = send(&base, Method::POST, "/auth/logout", Some(&first), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(me(&base, &first).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&base, &second).await, StatusCode::OK, "the other token");
    // Refused exactly as a forged token is: same status, challenge and body.
    let forged = TokenMint::hmac(secure_endpoint::Algorithm::HS256, [9u8; 32])
        .issuer(blog::ISSUER)
        .audience(blog::ISSUER)
        .token("1", &[]);
    assert_eq!(refusal(&base, &first).await, refusal(&base, &forged).await);
    // Logging out again with the revoked token is refused too.
    let (status, _) = send(&base, Method::POST, "/auth/logout", Some(&first), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn logout_everywhere_ends_every_token_until_then() {
    let base = start().await;
    let (_, first) = account(&base, "alice", None).await;
    let second = login(&base, "alice", "correct horse").await;
    let (_, bob) = account(&base, "bob", None).await;
    let (status, _) = send(&base, Method::POST, "/auth/logout-all", Some(&first), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(me(&base, &first).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&base, &second).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&base, &bob).await, StatusCode::OK, "another user");
    let after = login(&base, "alice", "correct horse").await;
    assert_eq!(me(&base, &after).await, StatusCode::OK, "issued afterwards");
}

#[tokio::test]
async fn a_deleted_account_stops_at_once() {
    let base = start().await;
    let (_, token) = account(&base, "alice", None).await;
    let other = login(&base, "alice", "correct horse").await;
    let body = json!({"title": "mine", "content": "c"});
    let (status, post) = send(&base, Method::POST, "/posts", Some(&token), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = send(&base, Method::DELETE, "/me", Some(&token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for token in [&token, &other] {
        assert_eq!(me(&base, token).await, StatusCode::UNAUTHORIZED);
        let body = json!({"title": "ghost", "content": "c"});
        let (status, _) = send(&base, Method::POST, "/posts", Some(token), Some(body)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, _) = send(
        &base,
        Method::GET,
        &format!("/posts/{}", post["id"]),
        None,
        None,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the posts went with the account"
    );
}

#[tokio::test]
async fn a_token_of_an_account_that_is_gone_or_reused_acts_for_nobody() {
    // Alice logs in; the blog restarts with the same secret and an empty database.
    let config = Config::for_tests(SECRET, ADMIN_PASSWORD);
    let first = serve(&config).await;
    let (_, _) = account(&first, "nobody", None).await;
    let (alice_id, alice) = account(&first, "alice", None).await;
    let second = serve(&config).await;
    // No account has her id yet: a signed token of nobody is 401, not 500.
    let body = json!({"title": "t", "content": "c"});
    let (status, answer) = send(&second, Method::POST, "/posts", Some(&alice), Some(body)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    // Bob registers and gets her id; her old token must not act for him.
    account(&second, "someone", None).await;
    let (bob_id, bob) = account(&second, "bob", None).await;
    assert_eq!(bob_id, alice_id, "the restart reused the id");
    let body = json!({"title": "Bob's", "content": "c"});
    let (status, post) = send(&second, Method::POST, "/posts", Some(&bob), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED);
    let path = format!("/posts/{}", post["id"]);
    let body = json!({"title": "taken over", "content": "c"});
    let (status, _) = send(&second, Method::PUT, &path, Some(&alice), Some(body)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = send(&second, Method::DELETE, &path, Some(&alice), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&second, &alice).await, StatusCode::UNAUTHORIZED);
    let (status, kept) = send(&second, Method::GET, &path, None, None).await;
    assert_eq!((status, &kept["title"]), (StatusCode::OK, &json!("Bob's")));
}

#[tokio::test]
async fn the_feed_says_who_reads_it() {
    let base = start().await;
    let (id, token) = account(&base, "alice", None).await;
    let body = json!({"title": "hello", "content": "c"});
    send(&base, Method::POST, "/posts", Some(&token), Some(body)).await;
    let (status, feed) = send(&base, Method::GET, "/feed", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(feed["viewer"], Value::Null);
    assert_eq!(feed["posts"][0]["title"], "hello");
    let (_, feed) = send(&base, Method::GET, "/feed", Some(&token), None).await;
    assert_eq!(feed["viewer"], json!(id.to_string()));
    let (status, _) = send(&base, Method::GET, "/feed", Some("not.a.token"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    send(&base, Method::POST, "/auth/logout", Some(&token), None).await;
    let (status, _) = send(&base, Method::GET, "/feed", Some(&token), None).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a revoked token is refused here too"
    );
}

/// A token without `iat`, or living longer than the blog's tokens, is refused.
#[tokio::test]
async fn tokens_revocation_cannot_judge_are_refused() {
    let base = start().await;
    let (id, _) = account(&base, "alice", None).await;
    let mint = TokenMint::hmac(secure_endpoint::Algorithm::HS256, SECRET)
        .issuer(blog::ISSUER)
        .audience(blog::ISSUER);
    let good = mint.token(&id.to_string(), &[]);
    assert_eq!(me(&base, &good).await, StatusCode::OK);
    let mut claims = mint.claims(&id.to_string(), &[]);
    claims.as_object_mut().unwrap().remove("iat");
    assert_eq!(
        me(&base, &mint.sign(&claims)).await,
        StatusCode::UNAUTHORIZED
    );
    let mut claims = mint.claims(&id.to_string(), &[]);
    claims["exp"] = json!(secure_endpoint::testing::now() + 30 * 24 * 3600);
    assert_eq!(
        me(&base, &mint.sign(&claims)).await,
        StatusCode::UNAUTHORIZED
    );
}

/// Two instances on one Redis: a logout on one is refused by the other on the next
/// request.
#[tokio::test]
async fn a_logout_on_one_instance_is_honoured_by_the_other() {
    let redis_url =
        std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let database = format!(
        "sqlite:file:lifetime-{}-{}?mode=memory&cache=shared",
        std::process::id(),
        secure_endpoint::testing::now()
    );
    let mut config = Config::for_tests(SECRET, ADMIN_PASSWORD);
    config.redis_url = Some(redis_url);
    config.database_url = database;
    let one = serve(&config).await;
    let two = serve(&config).await;
    let (_, token) = account(&one, "alice", None).await;
    let kept = login(&two, "alice", "correct horse").await;
    assert_eq!(me(&two, &token).await, StatusCode::OK);
    let (status, _) = send(&one, Method::POST, "/auth/logout", Some(&token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(me(&two, &token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&two, &kept).await, StatusCode::OK);
    let (status, _) = send(&two, Method::POST, "/auth/logout-all", Some(&kept), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(me(&one, &kept).await, StatusCode::UNAUTHORIZED);
}

/// Login hands a browser the session cookie; every route takes it; logout clears it.
#[tokio::test]
async fn the_session_cookie_from_login_to_logout() {
    let base = start().await;
    account(&base, "alice", None).await;
    let client = reqwest::Client::new();
    let login = client
        .post(format!("{base}/auth/login"))
        .json(&json!({"username": "alice", "password": "correct horse"}))
        .send()
        .await
        .unwrap();
    let set = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    for part in [
        "__Host-session=",
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=36",
    ] {
        assert!(set.contains(part), "{set}");
    }
    let token: Value = login.json().await.unwrap();
    let cookie = format!("__Host-session={}", token["token"].as_str().unwrap());
    let me = client
        .get(format!("{base}/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    // An unsafe method with the cookie needs the blog's own origin (or an allowed one).
    let post = |origin: &'static str| {
        let request = client
            .post(format!("{base}/posts"))
            .header("cookie", &cookie)
            .json(&json!({"title": "t", "content": "c"}));
        if origin.is_empty() {
            request
        } else {
            request.header("origin", origin)
        }
    };
    assert_eq!(
        post("").send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post("https://evil.example").send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let own = client
        .post(format!("{base}/posts"))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "same-origin")
        .json(&json!({"title": "t", "content": "c"}))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::CREATED);
    let logout = client
        .post(format!("{base}/auth/logout"))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    assert!(
        logout.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let me = client
        .get(format!("{base}/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        me.status(),
        StatusCode::UNAUTHORIZED,
        "the cookie's token is revoked"
    );
}
