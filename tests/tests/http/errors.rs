//! Sanitizing: every 5xx becomes the generic 500 with a request id, the detail reaches the
//! log under that id and never the client, and the server keeps serving.

use reqwest::StatusCode;
use secure_endpoint_tests::{assert_security_headers, capture_logs};
use serde_json::Value;

use crate::app::start;

/// Asserts the generic 500 and returns its request id.
async fn assert_generic_500(response: reqwest::Response, canaries: &[&str]) -> String {
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_security_headers(&response);
    assert_eq!(response.headers()["content-type"], "application/json");
    let header_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let text = response.text().await.unwrap();
    for canary in canaries {
        assert!(!text.contains(canary), "the body leaked {canary:?}: {text}");
    }
    let body: Value = serde_json::from_str(&text).expect("a JSON body");
    let object = body.as_object().expect("an object");
    assert_eq!(object.len(), 2, "only error and request_id: {text}");
    assert_eq!(body["error"], "An unexpected error occurred");
    let id = body["request_id"]
        .as_str()
        .expect("a request id")
        .to_owned();
    assert_eq!(id, header_id, "the body's id is the header's");
    assert_eq!(id.len(), 16);
    id
}

async fn get(base: &str, path: &str) -> reqwest::Response {
    reqwest::get(format!("{base}{path}"))
        .await
        .expect("request sent")
}

/// The line of the log that carries `id`, once it has been written.
async fn log_line_with(id: &str, logs: &secure_endpoint_tests::LogCapture) -> String {
    for _ in 0..50 {
        if let Some(line) = logs
            .contents()
            .lines()
            .find(|l| l.contains(id) && l.contains("ERROR"))
        {
            return line.to_owned();
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!(
        "no error line with request id {id} in the log:\n{}",
        logs.contents()
    );
}

#[tokio::test]
async fn a_returned_error_is_a_generic_500_logged_under_its_request_id() {
    let logs = capture_logs();
    let base = start().await;
    let id = assert_generic_500(
        get(&base, "/fails").await,
        &["canary", "nonexistent", "No such file"],
    )
    .await;
    let line = log_line_with(&id, &logs).await;
    assert!(
        line.contains("No such file"),
        "the detail is logged: {line}"
    );
}

#[tokio::test]
async fn a_panic_is_a_generic_500_and_the_server_keeps_serving() {
    let logs = capture_logs();
    let base = start().await;
    let id = assert_generic_500(get(&base, "/panics").await, &["canary", "panic"]).await;
    let line = log_line_with(&id, &logs).await;
    assert!(
        line.contains("canary-panic-detail"),
        "the panic message is logged: {line}"
    );
    for _ in 0..3 {
        assert_eq!(get(&base, "/open").await.status(), StatusCode::OK);
        assert_generic_500(get(&base, "/panics").await, &["canary"]).await;
    }
}

#[tokio::test]
async fn a_handler_built_500_loses_its_body() {
    let logs = capture_logs();
    let base = start().await;
    let id = assert_generic_500(
        get(&base, "/own-500").await,
        &["canary", "hunter2", "src/db.rs"],
    )
    .await;
    log_line_with(&id, &logs).await;
}

#[tokio::test]
async fn any_5xx_becomes_the_generic_500() {
    let base = start().await;
    assert_generic_500(get(&base, "/unavailable").await, &["canary", "upstream"]).await;
}

#[tokio::test]
async fn request_ids_differ_between_requests() {
    let base = start().await;
    let a = assert_generic_500(get(&base, "/fails").await, &[]).await;
    let b = assert_generic_500(get(&base, "/fails").await, &[]).await;
    assert_ne!(a, b);
}

#[tokio::test]
async fn a_deliberate_409_passes_through() {
    let base = start().await;
    let response = get(&base, "/conflict").await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_security_headers(&response);
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"error":"Username already taken"}"#
    );
}

#[tokio::test]
async fn a_handler_built_4xx_keeps_its_body() {
    let base = start().await;
    let response = get(&base, "/teapot").await;
    assert_eq!(response.status(), StatusCode::IM_A_TEAPOT);
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"error":"short and stout"}"#
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_are_json_with_the_headers() {
    let base = start().await;
    let response = get(&base, "/no/such/route").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_security_headers(&response);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.text().await.unwrap(), r#"{"error":"Not found"}"#);

    let response = reqwest::Client::new()
        .delete(format!("{base}/open"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_security_headers(&response);
    assert!(response.headers().get("allow").is_some(), "Allow is kept");
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"error":"Method not allowed"}"#
    );
}

#[tokio::test]
async fn a_malformed_path_parameter_is_a_json_400_that_does_not_echo_it() {
    let base = secure_endpoint_tests::serve(blog_like_router()).await;
    let response = get(&base, "/items/canary-not-a-number").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_security_headers(&response);
    let text = response.text().await.unwrap();
    assert_eq!(text, r#"{"error":"Bad request"}"#);
}

fn blog_like_router() -> secure_endpoint::SecureRouter {
    use axum::extract::Path;
    use secure_endpoint::public;
    use secure_endpoint::routing::get;

    #[public]
    async fn item(Path(id): Path<u32>) -> String {
        id.to_string()
    }
    secure_endpoint::SecureRouter::new().route("/items/{id}", get(item))
}
