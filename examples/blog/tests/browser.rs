//! The blog in a real browser: headless Chromium loads pages from other origins, served
//! by the test, that call the blog. A browser decides what it sends and what a page may
//! read, so this is where CORS and CSRF are proven.
//!
//! - A page on an allowed origin (`127.0.0.1`, another port) logs in and creates a post;
//!   on an origin the blog does not list, the browser keeps the answer from the page.
//! - A page on a sibling origin (`localhost`, another port: same site, other origin)
//!   submits a plain HTML form to `POST /posts`, the browser sending the victim's session
//!   cookie: 403, nothing created. A `fetch` with `mode: "no-cors"` fares no better.

mod common;

use axum::response::Html;
use blog::Config;
use common::{ADMIN_PASSWORD, account, send, serve};
use reqwest::{Method, StatusCode};
use secure_endpoint_tests::webdriver::Browser;
use secure_endpoint_tests::{SECRET, capture_logs};
use serde_json::{Value, json};

/// Serves `page` at `/` on `host` (an address to bind, a name to reach it by): its origin.
async fn serve_page(bind: &str, name: &str, page: String) -> String {
    let listener = tokio::net::TcpListener::bind(format!("{bind}:0"))
        .await
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new().route("/", axum::routing::get(move || async move { Html(page) }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{name}:{port}")
}

/// A listener bound now, so that its origin is known before the page is.
async fn reserve(name: &str) -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{name}:{}", listener.local_addr().unwrap().port());
    (listener, origin)
}

fn serve_on(listener: tokio::net::TcpListener, page: String) {
    let app = axum::Router::new().route("/", axum::routing::get(move || async move { Html(page) }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
}

/// The blog, reached as `http://localhost:PORT`, allowing `origins`.
async fn blog(origins: &[&str]) -> String {
    let mut config = Config::for_tests(SECRET, ADMIN_PASSWORD);
    config.cors_origins = origins.iter().map(|o| (*o).to_owned()).collect();
    serve(&config).await.replace("127.0.0.1", "localhost")
}

/// What the front end does: log in with the cookie and the token, then post.
fn front_end(blog: &str) -> String {
    format!(
        r#"<!doctype html><title>front end</title><script>
        window.tryIt = async function (done) {{
          try {{
            const login = await fetch("{blog}/auth/login", {{
              method: "POST", credentials: "include",
              headers: {{ "content-type": "application/json" }},
              body: JSON.stringify({{ username: "alice", password: "correct horse" }}),
            }});
            const {{ token }} = await login.json();
            const created = await fetch("{blog}/posts", {{
              method: "POST", credentials: "include",
              headers: {{ "content-type": "application/json", "authorization": "Bearer " + token }},
              body: JSON.stringify({{ title: "from the browser", content: "c" }}),
            }});
            const post = await created.json();
            done({{ login: login.status, created: created.status, title: post.title,
                   request_id: created.headers.get("x-request-id") !== null }});
          }} catch (error) {{
            done({{ error: String(error) }});
          }}
        }};
        </script>"#
    )
}

/// How the audit log writes a refusal of the CSRF step.
const CSRF_DENIED: &str = "step=\"csrf\" decision=\"deny\"";

async fn posts(blog: &str) -> Vec<Value> {
    let (status, body) = send(blog, Method::GET, "/posts", None, None).await;
    assert_eq!(status, StatusCode::OK);
    body.as_array().unwrap().clone()
}

#[tokio::test]
async fn a_front_end_on_an_allowed_origin_reads_the_blog_and_others_cannot() {
    let browser = Browser::start().await;

    let (listener, allowed) = reserve("127.0.0.1").await;
    let base = blog(&[allowed.as_str()]).await;
    account(&base, "alice", None).await;
    serve_on(listener, front_end(&base));
    browser.goto(&allowed).await;
    let seen = browser
        .run_async("window.tryIt(arguments[arguments.length - 1])")
        .await;
    assert_eq!(
        seen,
        json!({ "login": 200, "created": 201, "title": "from the browser", "request_id": true }),
        "an allowed origin reads every answer and its exposed headers"
    );
    assert_eq!(posts(&base).await.len(), 1);

    // The same page on an origin the blog does not list.
    let other_base = blog(&["https://somewhere-else.example"]).await;
    account(&other_base, "alice", None).await;
    let elsewhere = serve_page("127.0.0.1", "127.0.0.1", front_end(&other_base)).await;
    browser.goto(&elsewhere).await;
    let seen = browser
        .run_async("window.tryIt(arguments[arguments.length - 1])")
        .await;
    assert!(
        seen["error"]
            .as_str()
            .is_some_and(|e| e.contains("Failed to fetch")),
        "the browser keeps the answer from the page: {seen}"
    );
    assert!(posts(&other_base).await.is_empty());
    browser.stop().await;
}

#[tokio::test]
async fn a_forged_form_from_a_sibling_origin_changes_nothing() {
    let logs = capture_logs();
    let browser = Browser::start().await;
    let base = blog(&[]).await;
    let (_, token) = account(&base, "alice", None).await;
    // The victim is signed in: the browser holds the blog's session cookie.
    browser.goto(&format!("{base}/feed")).await;
    browser.set_cookie("__Host-session", &token).await;

    // A page on another port of the same host: same site, another origin.
    let form = format!(
        r#"<!doctype html><title>win a prize</title>
        <form id="f" method="POST" action="{base}/posts" enctype="text/plain">
          <input name='{{"title":"forged","content":"x","pad":"' value='"}}'>
        </form>
        <script>document.getElementById("f").submit();</script>"#
    );
    let attacker = serve_page("127.0.0.1", "localhost", form).await;
    browser.goto(&attacker).await;
    // The form's answer is the page now.
    let mut text = String::new();
    for _ in 0..50 {
        text = browser.text().await;
        if text.contains("error") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(text.trim(), r#"{"error":"Forbidden"}"#);
    assert!(posts(&base).await.is_empty(), "nothing was created");
    let logged = logs.contents();
    assert!(
        logged.contains(CSRF_DENIED) && logged.contains("sec-fetch-site=Some(\\\"same-site\\\")"),
        "the cookie came, and the CSRF step refused it: {logged}"
    );

    // Another page of the attacker's, with fetch in no-cors mode.
    let quiet = serve_page(
        "127.0.0.1",
        "localhost",
        "<!doctype html><title>quiet</title>".into(),
    )
    .await;
    browser.goto(&quiet).await;
    let no_cors = format!(
        r#"const done = arguments[arguments.length - 1];
        fetch("{base}/posts", {{ method: "POST", mode: "no-cors", credentials: "include",
          headers: {{ "content-type": "text/plain" }},
          body: JSON.stringify({{ title: "forged again", content: "x" }}) }})
          .then(r => done({{ type: r.type, status: r.status }}), e => done({{ error: String(e) }}));"#
    );
    let refused_before = logs.contents().matches(CSRF_DENIED).count();
    let seen = browser.run_async(&no_cors).await;
    // The answer is opaque at best; with `Cross-Origin-Resource-Policy: same-origin` on
    // every answer, Chromium does not even hand over that.
    assert!(
        seen == json!({ "type": "opaque", "status": 0 })
            || seen["error"]
                .as_str()
                .is_some_and(|e| e.contains("Failed to fetch")),
        "the page learns nothing: {seen}"
    );
    assert!(posts(&base).await.is_empty(), "nothing was created");
    assert_eq!(
        logs.contents().matches(CSRF_DENIED).count(),
        refused_before + 1,
        "the request went out with the cookie and was refused"
    );
    browser.stop().await;
}
