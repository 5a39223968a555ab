//! What the blog's HTTP tests share: a served blog, a request, an account and a login.

#![allow(dead_code)]

use blog::Config;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub const ADMIN_PASSWORD: &str = "admin password for tests";

/// A blog on `config`, served on a loopback port: its base URL.
pub async fn serve(config: &Config) -> String {
    let (app, _state) = blog::app(config).await.expect("the blog starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = secure_endpoint::serve(listener, app).expect("settings complete");
    let addr = server.local_addr().unwrap();
    tokio::spawn(async move { server.await.unwrap() });
    format!("http://{addr}")
}

/// A blog with the test settings (in-memory database, limits and revocations).
pub async fn start() -> String {
    serve(&Config::for_tests(
        secure_endpoint_tests::SECRET,
        ADMIN_PASSWORD,
    ))
    .await
}

/// One request: its status and its body (JSON, or the text as a string).
pub async fn send(
    base: &str,
    method: Method,
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
pub async fn account(base: &str, name: &str, email: Option<&str>) -> (i64, String) {
    let mut body = json!({"username": name, "password": "correct horse"});
    if let Some(email) = email {
        body["email"] = json!(email);
    }
    let (status, created) = send(base, Method::POST, "/auth/register", None, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    (
        created["id"].as_i64().unwrap(),
        login(base, name, "correct horse").await,
    )
}

/// A fresh token for `name`.
pub async fn login(base: &str, name: &str, password: &str) -> String {
    let body = json!({"username": name, "password": password});
    let (status, token) = send(base, Method::POST, "/auth/login", None, Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    token["token"].as_str().unwrap().to_owned()
}
