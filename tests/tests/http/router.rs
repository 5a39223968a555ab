//! The router itself: setup errors, the inventory, nesting, and the opt-out.

use axum::routing::get as axum_get;
use reqwest::StatusCode;
use secure_endpoint::routing::{get, post};
use secure_endpoint::{Access, RoutePolicy, SecureRouter, SetupError, public, secure};
use secure_endpoint_tests::{assert_security_headers, mint, now, serve};
use serde_json::json;

#[secure(auth)]
async fn private_page() -> &'static str {
    "private"
}

#[public(reason = "health checks")]
async fn health() -> &'static str {
    "ok"
}

#[test]
fn an_auth_route_without_an_authenticator_is_a_setup_error_naming_the_route() {
    let router: SecureRouter = SecureRouter::new()
        .route("/health", get(health))
        .route("/private", get(private_page));
    let error = router.try_into_router().unwrap_err();
    assert!(matches!(&error, SetupError::Missing { route, .. } if route == "GET /private"));
    assert!(error.to_string().contains("GET /private"));
    assert!(error.to_string().contains("authenticator"));
}

#[tokio::test]
async fn public_routes_run_without_any_settings() {
    let router: SecureRouter = SecureRouter::new().route("/health", get(health));
    let base = serve(router).await;
    let response = reqwest::get(format!("{base}/health")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_security_headers(&response);
}

#[test]
fn the_inventory_lists_nested_merged_and_unchecked_routes() {
    let api: SecureRouter = SecureRouter::new().route("/private", get(private_page).post(health));
    let router: SecureRouter = SecureRouter::new()
        .route("/health", get(health))
        .nest("/api", api)
        .merge(SecureRouter::new().route("/other", post(health)))
        .route_unchecked(
            "/metrics",
            axum_get(|| async { "metrics" }),
            "scraped on the private network",
        );
    let inventory = router.inventory();
    let rows: Vec<(String, String, String)> = inventory
        .routes()
        .iter()
        .map(|r| (r.method.clone(), r.path.clone(), r.policy.to_string()))
        .collect();
    assert_eq!(
        rows,
        [
            ("GET", "/health", "public (health checks)"),
            ("GET", "/api/private", "auth"),
            ("POST", "/api/private", "public (health checks)"),
            ("POST", "/other", "public (health checks)"),
            (
                "*",
                "/metrics",
                "UNCHECKED (scraped on the private network)"
            ),
        ]
        .map(|(m, p, d)| (m.to_owned(), p.to_owned(), d.to_owned()))
    );
    let RoutePolicy::Declared(policy) = inventory.routes()[1].policy else {
        panic!("declared");
    };
    assert_eq!(policy.access(), Access::Secure);
    assert!(policy.requires_auth());

    let table = inventory.to_string();
    assert!(table.starts_with("METHOD  PATH"));
    assert!(table.contains("UNCHECKED (scraped on the private network)"));

    let json = inventory.to_json();
    assert_eq!(json["routes"][1]["path"], "/api/private");
    assert_eq!(json["routes"][1]["policy"]["kind"], "declared");
    assert_eq!(json["routes"][1]["policy"]["auth"], true);
    assert_eq!(json["routes"][4]["policy"]["kind"], "unchecked");
}

#[tokio::test]
async fn unchecked_routes_still_get_headers_and_sanitizing() {
    let router: SecureRouter = SecureRouter::new().route_unchecked(
        "/legacy",
        axum_get(|| async {
            (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "canary-legacy-trace",
            )
        }),
        "legacy endpoint",
    );
    let base = serve(router).await;
    let response = reqwest::get(format!("{base}/legacy")).await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_security_headers(&response);
    assert!(!response.text().await.unwrap().contains("canary"));
}

#[tokio::test]
async fn an_annotated_handler_in_a_plain_axum_router_refuses_rather_than_admits() {
    // Without the SecureRouter there are no settings to verify a token with: the handler
    // must fail closed.
    let app = axum::Router::new().route("/private", axum::routing::get(private_page));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let token = mint(&json!({"sub": "alice", "exp": now() + 60}));
    let response = reqwest::Client::new()
        .get(format!("http://{addr}/private"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_ne!(response.text().await.unwrap(), "private");
}

#[tokio::test]
async fn hsts_is_sent_when_configured() {
    let security = secure_endpoint::Security::builder()
        .hsts(std::time::Duration::from_secs(31_536_000), true)
        .build()
        .unwrap();
    let router: SecureRouter = SecureRouter::new()
        .route("/health", get(health))
        .with_security(security);
    let base = serve(router).await;
    for path in ["/health", "/missing"] {
        let response = reqwest::get(format!("{base}{path}")).await.unwrap();
        assert_eq!(
            response.headers()["strict-transport-security"],
            "max-age=31536000; includeSubDomains"
        );
    }
}

#[test]
fn settings_that_cannot_work_are_refused_by_name() {
    let error = secure_endpoint::JwtAuthenticator::hmac(jsonwebtoken::Algorithm::HS256, b"short")
        .unwrap_err();
    assert!(matches!(
        error,
        SetupError::WeakSecret {
            setting: "secret",
            len: 5,
            min: 32
        }
    ));
    let error = secure_endpoint::JwtAuthenticator::hmac(jsonwebtoken::Algorithm::RS256, [0u8; 32])
        .unwrap_err();
    assert!(error.to_string().contains("algorithm"));
    let error = secure_endpoint::Security::builder()
        .max_token_bytes(0)
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("max_token_bytes"));
}

#[test]
fn the_openapi_document_reads_as_a_utoipa_document() {
    let security = secure_endpoint::Security::builder().build().unwrap();
    let router: SecureRouter = SecureRouter::new()
        .route("/health", get(health))
        .route("/private/{id}", get(private_page))
        .route_unchecked("/metrics", axum_get(|| async { "m" }), "scraped")
        .with_security(security);
    let inventory = router.inventory();
    let api = inventory.utoipa("test", "1.0.0");
    let private = api
        .paths
        .paths
        .get("/private/{id}")
        .expect("the route is documented");
    let get = private.get.as_ref().expect("GET is documented");
    assert_eq!(get.operation_id.as_deref(), Some("private_page"));
    assert!(get.responses.responses.contains_key("401"));
    let json = inventory.openapi("test", "1.0.0");
    assert_eq!(json["x-unchecked-routes"][0]["path"], "/metrics");
    assert_eq!(
        json["paths"]["/private/{id}"]["get"]["parameters"][0]["name"],
        "id"
    );
    assert_eq!(
        json["paths"]["/health"]["get"]["security"],
        serde_json::json!([])
    );
}
