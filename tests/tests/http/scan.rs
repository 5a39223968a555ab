//! The scanner finds what a weakened router lets through, by route and case.

use axum::routing::get as axum_get;
use jsonwebtoken::Algorithm;
use secure_endpoint::routing::{get, post};
use secure_endpoint::testing::{ScanSettings, TokenMint, scan};
use secure_endpoint::{
    AuthError, Authenticator, Claims, Limiter, SecureRouter, Security, public, secure,
};
use secure_endpoint_tests::SECRET;
use serde::Deserialize;
use validator::Validate;

#[secure(auth, role = "admin")]
async fn stats() -> &'static str {
    "stats"
}

#[derive(Deserialize, Validate)]
struct Note {
    #[validate(length(max = 10))]
    text: String,
}

#[public(validate = Note, rate = "3/m")]
async fn note(input: Note) -> String {
    input.text
}

/// A broken authenticator: it accepts whatever it is given.
struct AcceptsAnything;

impl Authenticator for AcceptsAnything {
    type Principal = Claims;

    async fn authenticate(&self, token: &str) -> Result<Claims, AuthError> {
        Ok(Claims {
            sub: token.chars().take(8).collect(),
            roles: vec!["admin".into()],
            scope: None,
            exp: u64::MAX,
        })
    }
}

fn routes() -> SecureRouter {
    SecureRouter::new()
        .route("/admin/stats", get(stats))
        .route("/notes", post(note))
}

#[tokio::test]
async fn a_sound_router_scans_clean() {
    let security = Security::builder()
        .authenticator(secure_endpoint::JwtAuthenticator::hmac(Algorithm::HS256, SECRET).unwrap())
        .rate_limiter(Limiter::memory())
        .build()
        .unwrap();
    let settings = ScanSettings::new().mint(TokenMint::hmac(Algorithm::HS256, SECRET));
    let report = scan(routes().with_security(security), settings).await;
    report.assert_clean();
    assert_eq!(report.routes, 2);
}

#[tokio::test]
async fn a_weakened_router_is_reported_by_route_and_case() {
    let security = Security::builder()
        .authenticator(AcceptsAnything)
        .rate_limiter(Limiter::memory())
        .build()
        .unwrap();
    let router = routes()
        .route_unchecked(
            "/internal/dump",
            axum_get(|| async { "everything" }),
            "debug endpoint",
        )
        .with_security(security);
    let settings = ScanSettings::new().mint(TokenMint::hmac(Algorithm::HS256, SECRET));
    let report = scan(router, settings).await;
    assert!(!report.is_clean());
    let found = |route: &str, case: &str| {
        report
            .findings
            .iter()
            .any(|f| f.route == route && f.case == case)
    };
    for case in ["junk token", "alg none", "another key", "expired token"] {
        assert!(
            found("GET /admin/stats", case),
            "{case} not reported:\n{report}"
        );
    }
    assert!(found("* /internal/dump", "unchecked route"), "{report}");
    assert!(!found("POST /notes", "burst past the limit"), "{report}");
    let text = report.to_string();
    assert!(
        text.contains("- GET /admin/stats [junk token]: answered 200 OK"),
        "{text}"
    );
}

#[tokio::test]
async fn a_missing_setting_is_reported_not_panicked() {
    let report = scan(routes(), ScanSettings::new()).await;
    assert_eq!(report.findings.len(), 1, "{report}");
    assert_eq!(report.findings[0].case, "setup");
}

#[tokio::test]
async fn a_raw_route_added_outside_the_router_is_reported_for_its_leak_and_headers() {
    let security = Security::builder()
        .authenticator(secure_endpoint::JwtAuthenticator::hmac(Algorithm::HS256, SECRET).unwrap())
        .rate_limiter(Limiter::memory())
        .build()
        .unwrap();
    let secure = routes()
        .with_security(security)
        .with_mock_connect_info(std::net::SocketAddr::from(([192, 0, 2, 1], 1)));
    let inventory = secure.inventory();
    // A raw service added to the served axum::Router bypasses the sanitizing layer.
    let app = secure.try_into_router().unwrap().route(
        "/debug",
        axum_get(|| async {
            (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "panicked at src/db.rs:42: connection refused (password=hunter2)",
            )
        }),
    );
    let settings = ScanSettings::new()
        .mint(TokenMint::hmac(Algorithm::HS256, SECRET))
        .outside_the_inventory("/debug");
    let report = secure_endpoint::testing::scan_router(app, &inventory, settings).await;
    let debug: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.route == "GET /debug" && f.case == "outside the inventory")
        .collect();
    assert!(
        debug.iter().any(|f| f.detail.contains("leaks its body")),
        "{report}"
    );
    assert!(
        debug
            .iter()
            .any(|f| f.detail.contains("x-content-type-options")),
        "{report}"
    );
    assert!(
        report.findings.iter().all(|f| f.route == "GET /debug"),
        "only the raw route is weak:\n{report}"
    );
}

#[public]
async fn chatty() -> (http::StatusCode, String) {
    (
        http::StatusCode::BAD_REQUEST,
        "field `email` = 'victim@example.com' is invalid".to_owned(),
    )
}

#[secure(auth)]
async fn private_page() -> &'static str {
    "private"
}

#[tokio::test]
async fn a_4xx_in_the_handlers_own_words_and_an_open_fallback_are_reported() {
    let security = Security::builder()
        .authenticator(AcceptsAnything)
        .build()
        .unwrap();
    let router = SecureRouter::new()
        .route("/chatty", get(chatty))
        .fallback(private_page)
        .with_security(security);
    let report = scan(router, ScanSettings::new()).await;
    let found = |route: &str, case: &str| {
        report
            .findings
            .iter()
            .any(|f| f.route == route && f.case == case && !f.detail.is_empty())
    };
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.route == "GET /chatty"
                && f.detail.contains("is not the framework's error body")),
        "{report}"
    );
    assert!(found("* (fallback)", "junk token"), "{report}");
}
