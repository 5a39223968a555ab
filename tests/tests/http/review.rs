//! The policy under review: the security lock is stable whatever the order routes are
//! added in, a change to it fails with the diff marked weaker or stronger, and the
//! permission matrix renders in a browser.

use secure_endpoint::routing::{get, post};
use secure_endpoint::testing::assert_security_lock;
use secure_endpoint::{
    Algorithm, Claims, Cors, JwtAuthenticator, Limiter, SecureRouter, Security, SessionCookie,
    public, secure,
};
use secure_endpoint_tests::SECRET;
use secure_endpoint_tests::webdriver::Browser;

#[derive(serde::Deserialize, validator::Validate)]
struct Note {
    #[validate(length(min = 1, max = 200))]
    text: String,
}

#[public(reason = "health checks")]
async fn health() {}

#[secure(auth, validate = Note, rate = "10/m")]
async fn write(claims: Claims, note: Note) -> String {
    format!("{} {}", claims.sub, note.text)
}

#[secure(auth, role = "admin")]
async fn stats() {}

#[secure(auth, roles = ["admin", "auditor"])]
async fn audit() {}

fn security() -> Security {
    Security::builder()
        .authenticator(
            JwtAuthenticator::hmac(Algorithm::HS256, SECRET)
                .unwrap()
                .issuer("notes")
                .audience("notes"),
        )
        .rate_limiter(Limiter::memory())
        .session_cookie(SessionCookie::new())
        .cors(Cors::origins(["https://app.example"]).credentials(true))
        .trusted_proxies(["10.0.0.0/8"])
        .build()
        .unwrap()
}

fn forwards() -> SecureRouter {
    SecureRouter::new()
        .route("/health", get(health))
        .route("/notes", post(write))
        .route("/admin/stats", get(stats))
        .with_security(security())
}

fn backwards() -> SecureRouter {
    SecureRouter::new()
        .route("/admin/stats", get(stats))
        .route("/notes", post(write))
        .route("/health", get(health))
        .with_security(security())
}

#[test]
fn two_runs_and_two_orders_give_one_lock() {
    let lock = forwards().inventory().lock();
    assert_eq!(lock, forwards().inventory().lock());
    assert_eq!(lock, backwards().inventory().lock());
    assert!(lock.contains("\nGET /admin/stats stats\n  access secure\n  auth required\n  authenticator default\n  credential Authorization: Bearer\n  credential cookie __Host-session\n  roles admin\n"), "{lock}");
    assert!(lock.contains("  validate-body Note json\n"), "{lock}");
    assert!(lock.contains("  csrf checked\n"), "{lock}");
    assert!(
        lock.contains("\nsettings\n  authenticator default Authorization: Bearer\n"),
        "{lock}"
    );
    for line in [
        "  issuer default: notes\n",
        "  audience default: notes\n",
        "  algorithm default: HS256\n",
        "  trusted-proxy 10.0.0.0/8\n",
        "  cors-origin https://app.example\n",
        "  cors-credentials true\n",
        "  rate-limiter memory\n",
    ] {
        assert!(lock.contains(line), "{line:?} in {lock}");
    }
}

fn lock_file(name: &str, text: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("{name}-{}.lock", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

fn failure_of(router: SecureRouter, path: &std::path::Path) -> String {
    let check = std::panic::AssertUnwindSafe(|| assert_security_lock(&router, path));
    let panic = std::panic::catch_unwind(check).expect_err("the lock differs");
    panic.downcast_ref::<String>().cloned().unwrap_or_default()
}

#[test]
fn a_role_dropped_fails_marked_weaker_and_a_role_added_marked_stronger() {
    let committed = forwards().inventory().lock();
    let path = lock_file("role-dropped", &committed);
    // The same service with the role dropped from /admin/stats.
    let weakened = SecureRouter::new()
        .route("/health", get(health))
        .route("/notes", post(write))
        .route("/admin/stats", get(audit).post(write))
        .with_security(security());
    let message = failure_of(weakened, &path);
    assert!(
        message.starts_with(&format!(
            "{}: 1 route or setting weakened: GET /admin/stats audit\n",
            path.display()
        )),
        "{message}"
    );
    assert!(
        message.contains("  weaker   ~ roles admin -> admin auditor\n"),
        "{message}"
    );
    assert!(
        message.contains("POST /admin/stats write\n  neutral  + the route (new)\n"),
        "{message}"
    );
    assert!(
        message.contains("SECURE_ENDPOINT_LOCK=overwrite"),
        "{message}"
    );

    // A role added to a route that had none.
    let stronger = SecureRouter::new()
        .route("/health", get(health))
        .route("/notes", post(write))
        .route("/admin/stats", get(stats))
        .with_security(security());
    let relaxed = committed.replace(
        "  credential cookie __Host-session\n  roles admin\n",
        "  credential cookie __Host-session\n",
    );
    let path = lock_file("role-added", &relaxed);
    let message = failure_of(stronger, &path);
    assert!(message.contains("nothing weakened"), "{message}");
    assert!(
        message.contains("GET /admin/stats stats\n  stronger + roles admin\n"),
        "{message}"
    );
    std::fs::remove_file(&path).ok();
}

#[test]
fn a_public_route_made_of_a_secure_one_is_weaker_and_an_equal_lock_passes() {
    let committed = forwards().inventory().lock();
    let path = lock_file("made-public", &committed);
    assert_security_lock(&forwards(), &path);
    let opened = SecureRouter::new()
        .route("/health", get(health))
        .route("/notes", post(write))
        .route("/admin/stats", get(health))
        .with_security(security());
    let message = failure_of(opened, &path);
    assert!(
        message.contains("  weaker   ~ access secure -> public\n"),
        "{message}"
    );
    assert!(
        message.contains("  weaker   - auth required\n"),
        "{message}"
    );
    assert!(message.contains("  weaker   - roles admin\n"), "{message}");
    std::fs::remove_file(&path).ok();
}

#[tokio::test]
async fn the_matrix_page_renders_in_a_browser_with_nothing_fetched() {
    let router = forwards().route("/audit", get(audit));
    let html = router.inventory().matrix().to_html("notes");
    assert!(!html.contains("<script") && !html.contains("http://") && !html.contains("https://"));
    let path = std::env::temp_dir().join(format!("matrix-{}.html", std::process::id()));
    std::fs::write(&path, &html).unwrap();
    let browser = Browser::start().await;
    browser.goto(&format!("file://{}", path.display())).await;
    let headers = browser
        .run("return Array.from(document.querySelectorAll('thead th')).map(th => th.innerText)")
        .await;
    assert_eq!(
        headers,
        serde_json::json!([
            "route",
            "anonymous",
            "signed in",
            "role admin",
            "role auditor",
            "the owner"
        ])
    );
    let stats_row = browser
        .run("return Array.from(document.querySelectorAll('tbody tr')).map(tr => Array.from(tr.children).map(c => c.innerText)).find(r => r[0] === 'GET /admin/stats')")
        .await;
    assert_eq!(
        stats_row,
        serde_json::json!(["GET /admin/stats", "no", "no", "yes", "no", "no"])
    );
    let fetched = browser
        .run("return performance.getEntriesByType('resource').length")
        .await;
    assert_eq!(fetched, 0, "the page fetches nothing");
    browser.stop().await;
    std::fs::remove_file(&path).ok();
}
