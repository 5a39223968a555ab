//! `validate` and `validate_query` over HTTP: each refusal with its status and body, and
//! nothing the client sent echoed back.

use axum::Json;
use axum::extract::Query;
use reqwest::StatusCode;
use secure_endpoint::routing::{get, post};
use secure_endpoint::{SecureRouter, Security, public};
use secure_endpoint_tests::{assert_security_headers, serve};
use serde::Deserialize;
use serde_json::{Value, json};
use validator::Validate;

#[derive(Deserialize, Validate)]
struct Signup {
    #[validate(length(min = 3, max = 20))]
    name: String,
    age: u32,
    #[validate(nested)]
    address: Address,
    #[serde(default)]
    #[validate(nested)]
    pets: Vec<Pet>,
}

#[derive(Deserialize, Validate)]
struct Address {
    #[validate(length(min = 1))]
    city: String,
}

#[derive(Deserialize, Validate)]
struct Pet {
    #[validate(length(max = 5))]
    name: String,
}

#[derive(Deserialize, Validate)]
struct Article {
    title: String,
    #[serde(flatten)]
    #[validate(nested)]
    meta: Meta,
}

#[derive(Deserialize, Validate)]
struct Meta {
    author: String,
    #[serde(default)]
    draft: bool,
}

#[derive(Deserialize, Validate)]
struct Filter {
    #[validate(range(min = 1, max = 100))]
    limit: u32,
    #[serde(default)]
    tags: Vec<String>,
    q: Option<String>,
}

#[derive(Deserialize, Validate)]
struct Scores {
    #[validate(range(min = 0.0, max = 1.0))]
    max: f64,
    #[serde(default)]
    by_name: std::collections::HashMap<String, u32>,
}

#[public(validate = Scores)]
async fn scores(input: Scores) -> String {
    format!("{} {}", input.max, input.by_name.len())
}

#[public(validate_query = Scores)]
async fn scores_query(input: Scores) -> String {
    input.max.to_string()
}

#[derive(Deserialize, Validate)]
struct Note {
    #[validate(length(max = 50))]
    text: String,
}

#[public(validate = Signup)]
async fn signup(input: Signup) -> String {
    let pets: Vec<&str> = input.pets.iter().map(|p| p.name.as_str()).collect();
    format!(
        "{} {} {} {}",
        input.name,
        input.age,
        input.address.city,
        pets.join(",")
    )
}

#[public(validate = Article)]
async fn article(Json(input): Json<Article>) -> String {
    format!(
        "{} by {} draft={}",
        input.title, input.meta.author, input.meta.draft
    )
}

#[public(validate_query = Filter)]
async fn search(Query(filter): Query<Filter>) -> String {
    format!("{} {:?} {:?}", filter.limit, filter.tags, filter.q)
}

#[public(validate = Note)]
async fn note(input: Note) -> String {
    input.text
}

async fn start() -> String {
    let router: SecureRouter = SecureRouter::new()
        .route("/signup", post(signup))
        .route("/articles", post(article))
        .route("/search", get(search))
        .route("/notes", post(note).body_limit(100))
        .route("/scores", post(scores).get(scores_query))
        .with_security(Security::builder().build().unwrap());
    serve(router).await
}

async fn send(
    base: &str,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    request.send().await.expect("request sent")
}

async fn post_json(base: &str, path: &str, body: &Value) -> reqwest::Response {
    send(base, path, Some("application/json"), body.to_string()).await
}

/// Asserts a 400 with exactly these details, and that `canary` appears nowhere.
async fn assert_invalid(response: reqwest::Response, details: Value, canary: &str) {
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_security_headers(&response);
    assert_eq!(response.headers()["content-type"], "application/json");
    let text = response.text().await.unwrap();
    assert!(
        canary.is_empty() || !text.contains(canary),
        "the body echoed {canary:?}: {text}"
    );
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body, json!({"error": "Invalid input", "details": details}));
}

fn signup_body() -> Value {
    json!({"name": "alice", "age": 30, "address": {"city": "Lyon"}, "pets": [{"name": "rex"}]})
}

#[tokio::test]
async fn a_valid_body_reaches_the_handler() {
    let base = start().await;
    let response = post_json(&base, "/signup", &signup_body()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "alice 30 Lyon rex");
}

#[tokio::test]
async fn a_missing_or_foreign_content_type_is_415() {
    let base = start().await;
    let body = signup_body().to_string();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/jsonp"),
        Some("text/json"),
    ] {
        let response = send(&base, "/signup", content_type, body.clone()).await;
        assert_eq!(
            response.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type:?}"
        );
        assert_security_headers(&response);
        assert_eq!(
            response.text().await.unwrap(),
            r#"{"error":"Unsupported media type"}"#
        );
    }
    for content_type in [
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "application/problem+json",
    ] {
        let response = send(&base, "/signup", Some(content_type), body.clone()).await;
        assert_eq!(response.status(), StatusCode::OK, "{content_type}");
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let base = start().await;
    let mut big = signup_body();
    big["name"] = json!("x".repeat(70 * 1024));
    let response = post_json(&base, "/signup", &big).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_security_headers(&response);
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"error":"Payload too large"}"#
    );

    // The route's own limit (100 bytes) is lower than the default.
    let response = post_json(&base, "/notes", &json!({"text": "y".repeat(120)})).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let response = post_json(&base, "/notes", &json!({"text": "short"})).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_413() {
    let base = start().await;
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..200).map(|_| Ok(vec![b' '; 1024])).collect();
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let response = send(&base, "/signup", Some("application/json"), body).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn the_settings_limit_applies_to_routes_without_their_own() {
    let router: SecureRouter = SecureRouter::new()
        .route("/signup", post(signup))
        .with_security(Security::builder().body_limit(64).build().unwrap());
    let base = serve(router).await;
    let response = post_json(&base, "/signup", &signup_body()).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn malformed_json_is_400() {
    let base = start().await;
    for body in ["{", "{\"name\": \"canary-x\",}", "not json", "", "[1,2"] {
        let response = send(&base, "/signup", Some("application/json"), body).await;
        assert_invalid(response, json!({"body": ["malformed"]}), "canary").await;
    }
}

#[tokio::test]
async fn a_wrong_type_does_not_echo_the_value() {
    let base = start().await;
    let mut body = signup_body();
    body["age"] = json!("canary-age-7f3a");
    assert_invalid(
        post_json(&base, "/signup", &body).await,
        json!({"age": ["type"]}),
        "canary",
    )
    .await;
    let mut body = signup_body();
    body["address"] = json!("canary-address");
    assert_invalid(
        post_json(&base, "/signup", &body).await,
        json!({"address": ["type"]}),
        "canary",
    )
    .await;
}

#[tokio::test]
async fn a_broken_rule_does_not_echo_the_value() {
    let base = start().await;
    let mut body = signup_body();
    body["name"] = json!("canary-name-that-is-far-too-long");
    assert_invalid(
        post_json(&base, "/signup", &body).await,
        json!({"name": ["length"]}),
        "canary",
    )
    .await;
}

#[tokio::test]
async fn a_missing_field_is_required() {
    let base = start().await;
    let mut body = signup_body();
    body.as_object_mut().unwrap().remove("age");
    assert_invalid(
        post_json(&base, "/signup", &body).await,
        json!({"age": ["required"]}),
        "",
    )
    .await;
    let mut body = signup_body();
    body["address"] = json!({});
    assert_invalid(
        post_json(&base, "/signup", &body).await,
        json!({"address.city": ["required"]}),
        "",
    )
    .await;
}

#[tokio::test]
async fn unknown_fields_are_refused_at_any_depth() {
    let base = start().await;
    let mut body = signup_body();
    body["is_admin"] = json!(true);
    assert_invalid(
        post_json(&base, "/signup", &body).await,
        json!({"is_admin": ["unknown"]}),
        "",
    )
    .await;
    let mut body = signup_body();
    body["address"]["zip_canary"] = json!("x");
    body["pets"][0]["owner_id"] = json!(1);
    assert_invalid(
        post_json(&base, "/signup", &body).await,
        json!({"address.zip_canary": ["unknown"], "pets[0].owner_id": ["unknown"]}),
        "",
    )
    .await;
}

#[tokio::test]
async fn unknown_field_names_are_reported_bounded() {
    let base = start().await;
    let mut body = signup_body();
    let long_name = "k".repeat(500);
    body[long_name.as_str()] = json!(1);
    for i in 0..40 {
        body[format!("extra{i:02}")] = json!(i);
    }
    let response = post_json(&base, "/signup", &body).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let details: Value = response.json().await.unwrap();
    let details = details["details"].as_object().unwrap();
    assert_eq!(details.len(), 20, "at most 20 unknown fields are named");
    assert!(
        details.keys().all(|k| k.chars().count() <= 65),
        "{details:?}"
    );
}

#[tokio::test]
async fn a_flattened_struct_opens_no_hole() {
    let base = start().await;
    let good = json!({"title": "T", "author": "ann", "draft": true});
    let response = post_json(&base, "/articles", &good).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "T by ann draft=true");

    let mut sneaky = good.clone();
    sneaky["role"] = json!("admin");
    assert_invalid(
        post_json(&base, "/articles", &sneaky).await,
        json!({"role": ["unknown"]}),
        "",
    )
    .await;
    let mut nested = good.clone();
    nested["extra"] = json!({"deep": [1, 2, {"x": "canary"}]});
    assert_invalid(
        post_json(&base, "/articles", &nested).await,
        json!({"extra": ["unknown"]}),
        "canary",
    )
    .await;
    let mut wrong_type = good;
    wrong_type["draft"] = json!("canary-yes");
    let response = post_json(&base, "/articles", &wrong_type).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(!response.text().await.unwrap().contains("canary"));
}

#[tokio::test]
async fn nested_and_list_errors_carry_their_paths() {
    let base = start().await;
    let body = json!({
        "name": "al",
        "age": 30,
        "address": {"city": ""},
        "pets": [{"name": "ok"}, {"name": "canary-too-long"}]
    });
    assert_invalid(
        post_json(&base, "/signup", &body).await,
        json!({"name": ["length"], "address.city": ["length"], "pets[1].name": ["length"]}),
        "canary",
    )
    .await;
    let mut body = signup_body();
    body["pets"] = json!([{"name": "a"}, {"name": 5}]);
    assert_invalid(
        post_json(&base, "/signup", &body).await,
        json!({"pets[1].name": ["type"]}),
        "",
    )
    .await;
}

#[tokio::test]
async fn ten_thousand_nested_brackets_are_a_400_and_harmless() {
    let base = start().await;
    for body in ["[".repeat(10_000), "{\"a\":".repeat(10_000)] {
        let response = send(&base, "/signup", Some("application/json"), body).await;
        assert_invalid(response, json!({"body": ["malformed"]}), "").await;
    }
    let response = post_json(&base, "/signup", &signup_body()).await;
    assert_eq!(response.status(), StatusCode::OK, "the server still serves");
}

#[tokio::test]
async fn the_query_string_is_validated_too() {
    let base = start().await;
    let url = |q: &str| format!("{base}/search?{q}");
    let response = reqwest::get(url("limit=10&tags=a&tags=b&q=rust"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.text().await.unwrap(),
        r#"10 ["a", "b"] Some("rust")"#
    );
    let response = reqwest::get(url("limit=5&tags=solo")).await.unwrap();
    assert_eq!(response.text().await.unwrap(), r#"5 ["solo"] None"#);

    assert_invalid(
        reqwest::get(url("limit=0")).await.unwrap(),
        json!({"limit": ["range"]}),
        "",
    )
    .await;
    assert_invalid(
        reqwest::get(url("limit=canary")).await.unwrap(),
        json!({"limit": ["type"]}),
        "canary",
    )
    .await;
    assert_invalid(
        reqwest::get(url("tags=a")).await.unwrap(),
        json!({"limit": ["required"]}),
        "",
    )
    .await;
    assert_invalid(
        reqwest::get(url("limit=3&admin=canary")).await.unwrap(),
        json!({"admin": ["unknown"]}),
        "canary",
    )
    .await;
}

#[tokio::test]
async fn not_a_number_is_refused_in_a_query_string() {
    let base = start().await;
    for value in ["NaN", "nan", "inf", "-Infinity"] {
        let response = reqwest::get(format!("{base}/scores?max={value}"))
            .await
            .unwrap();
        assert_invalid(response, json!({"max": ["type"]}), "").await;
    }
    let response = reqwest::get(format!("{base}/scores?max=0.5"))
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "0.5");
}

#[tokio::test]
async fn a_long_map_key_in_an_error_path_is_cut() {
    let base = start().await;
    let key = format!("canary{}", "k".repeat(10_000));
    let body = json!({"max": 0.5, "by_name": {key: "not a number"}});
    let response = post_json(&base, "/scores", &body).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let text = response.text().await.unwrap();
    assert!(text.len() < 300, "{} bytes", text.len());
}

#[tokio::test]
async fn a_flood_of_captured_values_is_refused_cheaply() {
    let base = start().await;
    let mut body = json!({"title": "T", "author": "ann"});
    for i in 0..500 {
        body[format!("k{i}")] = json!({"nested": [1, 2, 3]});
    }
    let response = post_json(&base, "/articles", &body).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let details: Value = response.json().await.unwrap();
    assert_eq!(details["details"], json!({"body": ["too_complex"]}));
}
