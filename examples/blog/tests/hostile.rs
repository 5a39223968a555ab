//! The blog against the attacks that found its defects: a squatted admin name, repeated
//! JSON keys, an unbounded list.

mod common;

use blog::{Config, Db};
use common::serve as start;
use reqwest::StatusCode;
use secure_endpoint_tests::SECRET;
use serde_json::{Value, json};

async fn post_text(base: &str, path: &str, body: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// A file database of its own in the system's temporary directory, removed on drop.
struct FileDb(std::path::PathBuf);

impl FileDb {
    fn new() -> Self {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "blog-hostile-{}-{}-{}.db",
            std::process::id(),
            secure_endpoint::testing::now(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ));
        FileDb(path)
    }

    fn url(&self) -> String {
        format!("sqlite:{}", self.0.display())
    }
}

impl Drop for FileDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

#[tokio::test]
async fn the_admin_name_cannot_be_registered_in_any_case() {
    let file = FileDb::new();
    let mut config = Config::for_tests(SECRET, "admin password for tests");
    config.database_url = file.url();
    config.admin_password = None;
    let base = start(&config).await;
    for name in ["admin", "Admin", "ADMIN"] {
        let body = json!({"username": name, "password": "squatter password"}).to_string();
        let response = post_text(&base, "/auth/register", &body, None).await;
        assert_eq!(response.status(), StatusCode::CONFLICT, "{name}");
    }
    // And no other name takes two accounts by case either.
    let body = json!({"username": "carol", "password": "correct horse"}).to_string();
    assert_eq!(
        post_text(&base, "/auth/register", &body, None)
            .await
            .status(),
        StatusCode::CREATED
    );
    let body = json!({"username": "Carol", "password": "correct horse"}).to_string();
    assert_eq!(
        post_text(&base, "/auth/register", &body, None)
            .await
            .status(),
        StatusCode::CONFLICT
    );
}

#[tokio::test]
async fn an_admin_account_squatted_before_start_stops_the_blog() {
    let file = FileDb::new();
    // A database where someone registered `admin` before the name was reserved.
    let db = Db::connect(&file.url()).await.unwrap();
    db.create_user("admin", "not a real hash", &[])
        .await
        .unwrap()
        .unwrap();
    drop(db);
    let mut config = Config::for_tests(SECRET, "admin password for tests");
    config.database_url = file.url();
    let error = blog::app(&config)
        .await
        .err()
        .expect("the blog refuses to start");
    let message = error.to_string();
    assert!(message.contains("BLOG_ADMIN_PASSWORD"), "{message}");
    assert!(message.contains("without the admin role"), "{message}");
}

async fn token_of(base: &str, name: &str) -> String {
    let body = json!({"username": name, "password": "correct horse"}).to_string();
    assert_eq!(
        post_text(base, "/auth/register", &body, None)
            .await
            .status(),
        StatusCode::CREATED
    );
    let response = post_text(base, "/auth/login", &body, None).await;
    let body: Value = response.json().await.unwrap();
    body["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn repeated_keys_are_refused_on_posts_and_register() {
    let base = start(&Config::for_tests(SECRET, "admin password for tests")).await;
    let token = token_of(&base, "dave").await;
    for body in [
        r#"{"title":12345,"content":"c","title":"ok"}"#,
        r#"{"title":"a","content":"c","title":"b"}"#,
        r#"{"title":"a","content":"c","\u0074itle":"b"}"#,
    ] {
        let response = post_text(&base, "/posts", body, Some(&token)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        let refusal: Value = response.json().await.unwrap();
        assert_eq!(
            refusal["details"],
            json!({"title": ["duplicate"]}),
            "{body}"
        );
    }
    let body = r#"{"title":"a","content":"c","tags":["x","x","x","x","x","x","x","x","x","x","x"],"tags":[]}"#;
    let response = post_text(&base, "/posts", body, Some(&token)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let register = r#"{"username":"erin","password":"short","password":"long enough now"}"#;
    let response = post_text(&base, "/auth/register", register, None).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let refusal: Value = response.json().await.unwrap();
    assert_eq!(refusal["details"], json!({"password": ["duplicate"]}));
}

#[tokio::test]
async fn the_post_list_comes_in_capped_pages() {
    let base = start(&Config::for_tests(SECRET, "admin password for tests")).await;
    let token = token_of(&base, "frank").await;
    // Ten posts per ten seconds per author: three authors for twenty-five posts.
    let authors = [
        token,
        token_of(&base, "grace").await,
        token_of(&base, "heidi").await,
    ];
    for n in 0..25 {
        let body = json!({"title": format!("post {n}"), "content": "c"}).to_string();
        let response = post_text(&base, "/posts", &body, Some(&authors[n / 10])).await;
        assert_eq!(response.status(), StatusCode::CREATED, "post {n}");
    }
    let page = |query: &'static str| {
        let base = base.clone();
        async move { reqwest::get(format!("{base}/posts{query}")).await.unwrap() }
    };
    let first: Vec<Value> = page("").await.json().await.unwrap();
    assert_eq!(first.len(), 10, "the default page");
    let last_id = first[9]["id"].as_i64().unwrap();
    let rest: Vec<Value> = reqwest::get(format!("{base}/posts?after={last_id}&limit=50"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rest.len(), 15);
    assert_eq!(
        page("?limit=3")
            .await
            .json::<Vec<Value>>()
            .await
            .unwrap()
            .len(),
        3
    );
    for bad in [
        "?limit=51",
        "?limit=0",
        "?limit=x",
        "?after=-1",
        "?extra=1",
        "?limit=5&limit=6",
    ] {
        assert_eq!(page(bad).await.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}

/// A login from `address`, presenting `device` when given: the status, and the device
/// credential handed back, if any.
async fn log_in_from(
    base: &str,
    address: &str,
    device: Option<&str>,
    name: &str,
    password: &str,
) -> (StatusCode, Option<String>) {
    let mut request = reqwest::Client::new()
        .post(format!("{base}/auth/login"))
        .header("x-forwarded-for", address)
        .json(&json!({"username": name, "password": password}));
    if let Some(device) = device {
        request = request.header("device-credential", device);
    }
    let response = request.send().await.unwrap();
    let credential = response
        .headers()
        .get("device-credential")
        .map(|v| v.to_str().unwrap().to_owned());
    (response.status(), credential)
}

#[tokio::test]
async fn failed_logins_from_elsewhere_do_not_lock_the_account_s_own_device_out() {
    let mut config = Config::for_tests(SECRET, "admin password for tests");
    config.trusted_proxies = vec!["127.0.0.1".to_owned()];
    let base = start(&config).await;
    common::account(&base, "owner", None).await;
    let (status, device) = log_in_from(&base, "192.0.2.1", None, "owner", "correct horse").await;
    assert_eq!(status, StatusCode::OK);
    let device = device.expect("the owner's device is handed a credential");
    // An attacker keeps the name locked from addresses of its own.
    for i in 0..5 {
        let from = format!("203.0.113.{i}");
        let (status, _) = log_in_from(&base, &from, None, "owner", "wrong password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let (locked, _) = log_in_from(&base, "198.51.100.9", None, "owner", "correct horse").await;
    assert_eq!(locked, StatusCode::TOO_MANY_REQUESTS, "the name is locked");
    // The owner's own device still logs in.
    let (status, _) =
        log_in_from(&base, "192.0.2.1", Some(&device), "owner", "correct horse").await;
    assert_eq!(status, StatusCode::OK, "the owner's device is spared");
    // A credential copied into an attempt for another name spares nothing there.
    common::account(&base, "other", None).await;
    for i in 0..5 {
        let from = format!("203.0.113.{}", 10 + i);
        let (status, _) = log_in_from(&base, &from, Some(&device), "other", "wrong password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let (locked, _) = log_in_from(&base, "198.51.100.10", None, "other", "correct horse").await;
    assert_eq!(locked, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn accounts_cannot_be_walked_one_id_after_another() {
    let base = start(&Config::for_tests(SECRET, "admin password for tests")).await;
    let mut statuses = Vec::new();
    for id in 1..=35 {
        let response = reqwest::get(format!("{base}/users/{id}")).await.unwrap();
        statuses.push(response.status());
    }
    assert!(
        statuses[..30]
            .iter()
            .all(|s| *s != StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    assert!(
        statuses[30..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
}
