//! The blog's shared posts over HTTP (DESIGN §16), decided by its Cedar policies in
//! process and by a Cerbos decision point through AuthZEN with the same rules: drafts
//! only their readers learn of, editors who edit but neither delete nor share, and an
//! editor removed who loses access at once.

mod common;

use blog::Config;
use common::{ADMIN_PASSWORD, account, login, send, serve};
use reqwest::{Method, StatusCode};
use secure_endpoint_tests::cerbos::OwnCerbos;
use serde_json::{Value, json};

#[tokio::test]
async fn shared_posts_on_the_cedar_policies() {
    let config = Config::for_tests(secure_endpoint_tests::SECRET, ADMIN_PASSWORD);
    shared_posts(&serve(&config).await).await;
}

#[tokio::test]
async fn shared_posts_on_a_remote_decision_point() {
    let cerbos = OwnCerbos::start();
    let mut config = Config::for_tests(secure_endpoint_tests::SECRET, ADMIN_PASSWORD);
    config.authzen_url = Some(cerbos.url().to_owned());
    shared_posts(&serve(&config).await).await;
}

/// The ids of every post `GET /posts` lists for `token`, page after page of `limit`.
async fn every_page(base: &str, token: Option<&str>, limit: u32) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut after = 0;
    loop {
        let path = format!("/posts?limit={limit}&after={after}");
        let (status, page) = send(base, Method::GET, &path, token, None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let page = page.as_array().unwrap().clone();
        assert!(page.len() <= limit as usize);
        let Some(last) = page.last() else {
            return ids;
        };
        after = last["id"].as_i64().unwrap();
        ids.extend(page.iter().map(|post| post["id"].as_i64().unwrap()));
    }
}

async fn create(base: &str, token: &str, title: &str, draft: bool) -> i64 {
    let body = json!({"title": title, "content": "text", "draft": draft});
    let (status, post) = send(base, Method::POST, "/posts", Some(token), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    assert_eq!(post["draft"], json!(draft));
    post["id"].as_i64().unwrap()
}

fn edit() -> Option<Value> {
    Some(json!({"title": "edited", "content": "new text"}))
}

async fn shared_posts(base: &str) {
    let (_, alice) = account(base, "alice", None).await;
    let (bob_id, bob) = account(base, "bob", None).await;
    let (_, carol) = account(base, "carol", None).await;
    let admin = login(base, "admin", ADMIN_PASSWORD).await;
    let published = create(base, &alice, "published", false).await;
    let draft = create(base, &alice, "draft", true).await;
    let carols = create(base, &carol, "carol's draft", true).await;

    // Anonymous readers: no page holds a draft, and a draft is 404 as a missing post.
    for limit in [1, 2, 10] {
        assert_eq!(every_page(base, None, limit).await, [published]);
    }
    assert_eq!(
        status_of(base, Method::GET, &format!("/posts/{draft}"), None, None).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status_of(
            base,
            Method::GET,
            &format!("/posts/{published}"),
            None,
            None
        )
        .await,
        StatusCode::OK
    );

    // The author lists their drafts, with a token and with the session cookie.
    assert_eq!(every_page(base, Some(&alice), 1).await, [published, draft]);
    let session = session_cookie(base, "alice").await;
    let listed: Vec<i64> = reqwest::Client::new()
        .get(format!("{base}/posts"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .json::<Vec<Value>>()
        .await
        .unwrap()
        .iter()
        .map(|post| post["id"].as_i64().unwrap())
        .collect();
    assert_eq!(listed, [published, draft]);

    // Someone else: a published post they may read is 403 to edit; a draft they may not
    // read is 404 whatever they ask.
    let (status, body) = send(
        base,
        Method::PUT,
        &format!("/posts/{published}"),
        Some(&carol),
        edit(),
    )
    .await;
    assert_eq!(
        (status, body),
        (StatusCode::FORBIDDEN, json!({"error": "Forbidden"}))
    );
    for method in [Method::GET, Method::PUT, Method::DELETE] {
        let (status, body) = send(
            base,
            method.clone(),
            &format!("/posts/{draft}"),
            Some(&carol),
            edit(),
        )
        .await;
        assert_eq!(
            (status, body),
            (StatusCode::NOT_FOUND, json!({"error": "Not found"})),
            "{method}"
        );
    }
    let share = json!({"user_id": bob_id});
    let path = format!("/posts/{draft}/editors");
    assert_eq!(
        status_of(base, Method::POST, &path, Some(&carol), Some(share.clone())).await,
        StatusCode::NOT_FOUND
    );

    // The author shares the draft with bob; an unknown user is 404.
    assert_eq!(
        status_of(
            base,
            Method::POST,
            &path,
            Some(&alice),
            Some(json!({"user_id": 9999}))
        )
        .await,
        StatusCode::NOT_FOUND
    );
    let (status, added) = send(base, Method::POST, &path, Some(&alice), Some(share.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{added}");

    // The editor reads, lists and edits it, but neither deletes nor shares it.
    assert_eq!(every_page(base, Some(&bob), 10).await, [published, draft]);
    let (status, edited) = send(
        base,
        Method::PUT,
        &format!("/posts/{draft}"),
        Some(&bob),
        edit(),
    )
    .await;
    assert_eq!(
        (status, &edited["title"]),
        (StatusCode::OK, &json!("edited")),
        "{edited}"
    );
    assert_eq!(
        status_of(
            base,
            Method::DELETE,
            &format!("/posts/{draft}"),
            Some(&bob),
            None
        )
        .await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status_of(
            base,
            Method::POST,
            &path,
            Some(&bob),
            Some(json!({"user_id": bob_id}))
        )
        .await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status_of(
            base,
            Method::DELETE,
            &format!("{path}/{bob_id}"),
            Some(&bob),
            None
        )
        .await,
        StatusCode::FORBIDDEN
    );

    // Removed, the editor loses the draft at once: 404, and gone from their list.
    assert_eq!(
        status_of(
            base,
            Method::DELETE,
            &format!("{path}/{bob_id}"),
            Some(&alice),
            None
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(
        status_of(
            base,
            Method::PUT,
            &format!("/posts/{draft}"),
            Some(&bob),
            edit()
        )
        .await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(every_page(base, Some(&bob), 10).await, [published]);

    // Admins read every draft and delete any post; the draft is gone for everyone.
    assert_eq!(
        every_page(base, Some(&admin), 2).await,
        [published, draft, carols]
    );
    assert_eq!(
        status_of(
            base,
            Method::DELETE,
            &format!("/posts/{draft}"),
            Some(&admin),
            None
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(
        status_of(
            base,
            Method::GET,
            &format!("/posts/{draft}"),
            Some(&alice),
            None
        )
        .await,
        StatusCode::NOT_FOUND
    );
    // The author deletes their own.
    assert_eq!(
        status_of(
            base,
            Method::DELETE,
            &format!("/posts/{carols}"),
            Some(&carol),
            None
        )
        .await,
        StatusCode::OK
    );
}

/// The status `send` answers with.
async fn status_of(
    base: &str,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> StatusCode {
    send(base, method, path, token, body).await.0
}

/// The session cookie a login sets for `name`, as a `Cookie` header's value.
async fn session_cookie(base: &str, name: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("{base}/auth/login"))
        .json(&json!({"username": name, "password": "correct horse"}))
        .send()
        .await
        .unwrap();
    let cookie = response
        .headers()
        .get("set-cookie")
        .expect("a session cookie")
        .to_str()
        .unwrap();
    cookie.split(';').next().unwrap().to_owned()
}
