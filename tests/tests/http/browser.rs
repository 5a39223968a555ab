//! Browser clients over HTTP, attacked: the token in a cookie, every CSRF rule of DESIGN
//! §13, and CORS for allowed and other origins, errors and preflights included.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::State;
use axum::http::StatusCode;
use secure_endpoint::routing::get;
use secure_endpoint::testing::TokenMint;
use secure_endpoint::{
    Algorithm, Claims, Cors, JwtAuthenticator, SecureRouter, Security, SessionCookie, public,
    secure,
};
use secure_endpoint_tests::{SECRET, serve};

const APP: &str = "https://app.example";

#[secure(auth)]
async fn list(claims: Claims) -> String {
    claims.sub
}

#[secure(auth)]
async fn create(State(created): State<Arc<AtomicUsize>>) -> StatusCode {
    created.fetch_add(1, Ordering::SeqCst);
    StatusCode::CREATED
}

#[public(reason = "the front end's start page")]
async fn open() -> &'static str {
    "open"
}

struct Service {
    base: String,
    created: Arc<AtomicUsize>,
}

async fn start_with(security: secure_endpoint::SecurityBuilder) -> Service {
    let jwt = JwtAuthenticator::hmac(Algorithm::HS256, SECRET).unwrap();
    let security = security
        .authenticator(jwt)
        .session_cookie(SessionCookie::new())
        .build()
        .unwrap();
    let created = Arc::new(AtomicUsize::new(0));
    let router = SecureRouter::new()
        .route("/posts", get(list).post(create))
        .route("/open", get(open))
        .with_security(security)
        .with_state(created.clone());
    Service {
        base: serve(router).await,
        created,
    }
}

async fn start() -> Service {
    start_with(Security::builder().cors(Cors::origins([APP]).credentials(true))).await
}

fn token(sub: &str) -> String {
    TokenMint::hmac(Algorithm::HS256, SECRET).token(sub, &[])
}

fn cookie(token: &str) -> String {
    format!("theme=dark; __Host-session={token}")
}

async fn send(
    base: &str,
    method: reqwest::Method,
    path: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = reqwest::Client::new().request(method, format!("{base}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

async fn post(service: &Service, headers: &[(&str, &str)]) -> StatusCode {
    send(&service.base, reqwest::Method::POST, "/posts", headers)
        .await
        .status()
}

#[tokio::test]
async fn the_token_may_come_in_the_cookie_and_the_bearer_token_wins() {
    let service = start().await;
    let alice = cookie(&token("alice"));
    let response = send(
        &service.base,
        reqwest::Method::GET,
        "/posts",
        &[("cookie", &alice)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "alice");
    // Both: the bearer token decides, whichever is bad.
    let bearer_bob = format!("Bearer {}", token("bob"));
    let response = send(
        &service.base,
        reqwest::Method::GET,
        "/posts",
        &[("cookie", &alice), ("authorization", &bearer_bob)],
    )
    .await;
    assert_eq!(response.text().await.unwrap(), "bob");
    let status = send(
        &service.base,
        reqwest::Method::GET,
        "/posts",
        &[
            ("cookie", &alice),
            ("authorization", "Bearer junk.junk.junk"),
        ],
    )
    .await
    .status();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_cookie_that_cannot_hold_a_token_is_401_never_400_or_500() {
    let service = start().await;
    let valid = token("alice");
    let long = format!("__Host-session={}", "a".repeat(9_000));
    let twice = format!("__Host-session={valid}; __Host-session={valid}");
    for bad in [
        twice.as_str(),
        long.as_str(),
        "__Host-session=",
        "__Host-session=a b",
        "__Host-session=forged.token.value",
        "only garbage here",
    ] {
        let response = send(
            &service.base,
            reqwest::Method::GET,
            "/posts",
            &[("cookie", bad)],
        )
        .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{bad:.40}");
        assert_eq!(
            response.text().await.unwrap(),
            r#"{"error":"Unauthorized"}"#
        );
    }
    let client = reqwest::Client::new();
    let response = client
        .get(format!("{}/posts", service.base))
        .header(
            "cookie",
            reqwest::header::HeaderValue::from_bytes(b"__Host-session=\xff\xfe").unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

/// A request's extra headers.
type Headers<'a> = &'a [(&'a str, &'a str)];

#[tokio::test]
async fn every_csrf_rule() {
    let service = start().await;
    let alice = cookie(&token("alice"));
    let own = service.base.clone();
    let evil = "https://evil.example";
    let cases: [(Headers, StatusCode, &str); 12] = [
        (
            &[("sec-fetch-site", "same-origin")],
            StatusCode::CREATED,
            "same-origin",
        ),
        (
            &[("sec-fetch-site", "none")],
            StatusCode::CREATED,
            "typed by the user",
        ),
        (
            &[("sec-fetch-site", "same-site"), ("origin", APP)],
            StatusCode::CREATED,
            "same-site, listed",
        ),
        (
            &[("sec-fetch-site", "same-site"), ("origin", evil)],
            StatusCode::FORBIDDEN,
            "same-site, other",
        ),
        (
            &[("sec-fetch-site", "cross-site"), ("origin", APP)],
            StatusCode::CREATED,
            "cross-site, listed",
        ),
        (
            &[("sec-fetch-site", "cross-site"), ("origin", evil)],
            StatusCode::FORBIDDEN,
            "cross-site, other",
        ),
        (
            &[("sec-fetch-site", "cross-site")],
            StatusCode::FORBIDDEN,
            "cross-site, no origin",
        ),
        (
            &[("sec-fetch-site", "weird")],
            StatusCode::FORBIDDEN,
            "unknown value, no origin",
        ),
        (
            &[("origin", &own)],
            StatusCode::CREATED,
            "no fetch metadata, own origin",
        ),
        (
            &[("origin", APP)],
            StatusCode::CREATED,
            "no fetch metadata, listed",
        ),
        (
            &[("origin", evil)],
            StatusCode::FORBIDDEN,
            "no fetch metadata, other",
        ),
        (&[], StatusCode::FORBIDDEN, "neither header"),
    ];
    for (headers, want, case) in cases {
        let before = service.created.load(Ordering::SeqCst);
        let mut all = vec![("cookie", alice.as_str())];
        all.extend_from_slice(headers);
        let response = send(&service.base, reqwest::Method::POST, "/posts", &all).await;
        assert_eq!(response.status(), want, "{case}");
        let created = service.created.load(Ordering::SeqCst) - before;
        assert_eq!(created, usize::from(want == StatusCode::CREATED), "{case}");
        if want == StatusCode::FORBIDDEN {
            assert_eq!(response.text().await.unwrap(), r#"{"error":"Forbidden"}"#);
        }
    }
    // A bearer token is never checked: no browser sends one on its own.
    let bearer = format!("Bearer {}", token("alice"));
    assert_eq!(
        post(
            &service,
            &[
                ("authorization", &bearer),
                ("sec-fetch-site", "cross-site"),
                ("origin", evil)
            ]
        )
        .await,
        StatusCode::CREATED
    );
    // Both credentials: the bearer token is the credential, so no CSRF check.
    assert_eq!(
        post(
            &service,
            &[
                ("authorization", &bearer),
                ("cookie", &alice),
                ("origin", evil)
            ]
        )
        .await,
        StatusCode::CREATED
    );
    // Safe methods are never checked.
    let status = send(
        &service.base,
        reqwest::Method::GET,
        "/posts",
        &[
            ("cookie", &alice),
            ("sec-fetch-site", "cross-site"),
            ("origin", evil),
        ],
    )
    .await
    .status();
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_configured_own_origin_replaces_the_host() {
    let service = start_with(Security::builder().own_origin("https://blog.example")).await;
    let alice = cookie(&token("alice"));
    assert_eq!(
        post(&service, &[("cookie", &alice), ("origin", &service.base)]).await,
        StatusCode::FORBIDDEN,
        "the Host no longer decides"
    );
    assert_eq!(
        post(
            &service,
            &[("cookie", &alice), ("origin", "https://blog.example")]
        )
        .await,
        StatusCode::CREATED
    );
}

fn header<'r>(response: &'r reqwest::Response, name: &str) -> Option<&'r str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn cors_headers_go_to_allowed_origins_only_errors_included() {
    let service = start().await;
    let response = send(
        &service.base,
        reqwest::Method::GET,
        "/open",
        &[("origin", APP)],
    )
    .await;
    assert_eq!(header(&response, "access-control-allow-origin"), Some(APP));
    assert_eq!(
        header(&response, "access-control-allow-credentials"),
        Some("true")
    );
    let exposed = header(&response, "access-control-expose-headers").unwrap();
    for name in [
        "retry-after",
        "ratelimit",
        "ratelimit-policy",
        "x-request-id",
    ] {
        assert!(exposed.contains(name), "{exposed}");
    }
    assert_eq!(header(&response, "vary"), Some("origin"));
    // An error to an allowed origin is readable by its front end.
    let response = send(
        &service.base,
        reqwest::Method::GET,
        "/posts",
        &[("origin", APP)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(header(&response, "access-control-allow-origin"), Some(APP));
    for other in [
        "https://evil.example",
        "null",
        "https://app.example.evil.example",
    ] {
        let response = send(
            &service.base,
            reqwest::Method::GET,
            "/open",
            &[("origin", other)],
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            header(&response, "access-control-allow-origin"),
            None,
            "{other}"
        );
        assert_eq!(header(&response, "access-control-allow-credentials"), None);
        assert_eq!(
            header(&response, "vary"),
            Some("origin"),
            "the answer depends on Origin"
        );
    }
}

#[tokio::test]
async fn preflights_are_answered_before_any_policy_step() {
    let service = start().await;
    let preflight =
        |origin: &'static str, path: &'static str, method: &'static str, headers: &'static str| {
            let base = service.base.clone();
            async move {
                let mut all = vec![
                    ("origin", origin),
                    ("access-control-request-method", method),
                ];
                if !headers.is_empty() {
                    all.push(("access-control-request-headers", headers));
                }
                send(&base, reqwest::Method::OPTIONS, path, &all).await
            }
        };
    let response = preflight(APP, "/posts", "POST", "authorization, content-type").await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT, "no token needed");
    assert_eq!(header(&response, "access-control-allow-origin"), Some(APP));
    assert_eq!(
        header(&response, "access-control-allow-methods"),
        Some("GET, POST, HEAD")
    );
    assert_eq!(
        header(&response, "access-control-allow-headers"),
        Some("authorization, content-type")
    );
    assert_eq!(header(&response, "access-control-max-age"), Some("600"));
    assert_eq!(
        header(&response, "access-control-allow-credentials"),
        Some("true")
    );
    assert!(
        header(&response, "x-content-type-options").is_some(),
        "security headers too"
    );

    let response = preflight("https://evil.example", "/posts", "POST", "").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(header(&response, "access-control-allow-origin"), None);
    assert_eq!(header(&response, "access-control-allow-methods"), None);

    let response = preflight(APP, "/posts", "DELETE", "").await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&response, "allow"), Some("GET, POST, HEAD"));
    assert_eq!(
        preflight(APP, "/nowhere", "GET", "").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        preflight(APP, "/posts", "POST", "x-secret-header")
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
}

#[test]
fn refused_cors_settings_stop_the_start_naming_the_setting() {
    for cors in [
        Cors::any_origin().credentials(true),
        Cors::origins(["https://app.example/"]),
        Cors::origins(["null"]),
        Cors::origins(["https://app.example/path"]),
    ] {
        let error = Security::builder()
            .cors(cors)
            .build()
            .unwrap_err()
            .to_string();
        assert!(error.contains("cors"), "{error}");
    }
    let error = Security::builder()
        .own_origin("https://blog.example/")
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("own_origin"), "{error}");
    let error = Security::builder()
        .session_cookie(SessionCookie::named("a;b"))
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("session_cookie"), "{error}");
}

#[test]
fn the_cookie_is_set_and_cleared_with_every_protection() {
    let cookie = SessionCookie::new();
    let set = cookie.set("a.b.c", secure_endpoint::testing::now() + 60);
    let set = set.to_str().unwrap();
    assert!(set.starts_with("__Host-session=a.b.c; Max-Age="), "{set}");
    for part in ["Path=/", "Secure", "HttpOnly", "SameSite=Lax"] {
        assert!(set.contains(part), "{set}");
    }
    let max_age: u64 = set
        .split("Max-Age=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((58..=60).contains(&max_age), "{set}");
    assert_eq!(
        cookie.clear().to_str().unwrap(),
        "__Host-session=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax"
    );
}

/// A layer that grants every origin, as a hand-written CORS layer mirroring `Origin`
/// would: the hole the scanner's preflight case must find.
async fn mirror_origin(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let origin = request.headers().get("origin").cloned();
    let mut response = next.run(request).await;
    if let Some(origin) = origin {
        response
            .headers_mut()
            .insert("access-control-allow-origin", origin);
    }
    response
}

#[tokio::test]
async fn the_scanner_sends_the_cookie_cross_site_and_a_preflight_from_elsewhere() {
    use secure_endpoint::testing::{ScanSettings, scan, scan_router};

    let build = || {
        let jwt = JwtAuthenticator::hmac(Algorithm::HS256, SECRET).unwrap();
        let security = Security::builder()
            .authenticator(jwt)
            .session_cookie(SessionCookie::new())
            .cors(Cors::origins([APP]).credentials(true))
            .build()
            .unwrap();
        SecureRouter::new()
            .route("/posts", get(list).post(create))
            .route("/open", get(open))
            .with_security(security)
            .with_state(Arc::new(AtomicUsize::new(0)))
    };
    let settings = || ScanSettings::new().mint(TokenMint::hmac(Algorithm::HS256, SECRET));
    let report = scan(build(), settings()).await;
    report.assert_clean();
    assert!(report.requests >= 12, "{report}");

    let inventory = build().inventory();
    let app = build()
        .with_mock_connect_info(std::net::SocketAddr::from(([192, 0, 2, 1], 40000)))
        .into_router()
        .layer(axum::middleware::from_fn(mirror_origin));
    let report = scan_router(app, &inventory, settings()).await;
    let cases: Vec<(&str, &str)> = report
        .findings
        .iter()
        .map(|f| (f.route.as_str(), f.case.as_str()))
        .collect();
    assert_eq!(
        cases,
        [
            ("GET /posts", "preflight from an origin CORS does not list"),
            ("POST /posts", "preflight from an origin CORS does not list"),
            ("GET /open", "preflight from an origin CORS does not list"),
        ],
        "{report}"
    );
}
