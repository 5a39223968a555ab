//! Roles and scopes that cannot be misspelled: typed ones over HTTP, and string ones
//! declared in the settings, where a misspelled one stops the router at start with a
//! suggestion that, applied, starts it.

use reqwest::StatusCode;
use secure_endpoint::routing::get;
use secure_endpoint::{
    Algorithm, Claims, JwtAuthenticator, RoleNames, ScopeNames, SecureHandler, SecureRouter,
    Security, SecurityBuilder, SetupError, secure,
};
use secure_endpoint_tests::{SECRET, capture_logs, mint, now, serve};
use serde_json::json;

#[derive(secure_endpoint::Role)]
enum Role {
    Admin,
    #[role(rename = "editor-in-chief")]
    Chief,
}

#[derive(secure_endpoint::Scope)]
enum Scope {
    #[scope(rename = "posts:write")]
    PostsWrite,
}

#[secure(auth, roles = [Role::Admin, Role::Chief], scope = Scope::PostsWrite)]
async fn publish(claims: Claims) -> String {
    claims.sub
}

#[secure(auth, role = "admn")]
async fn misspelled_role() {}

#[secure(auth, scope = "post:write")]
async fn misspelled_scope() {}

#[secure(auth, role = "admin")]
async fn stats() {}

fn jwt() -> JwtAuthenticator {
    JwtAuthenticator::hmac(Algorithm::HS256, SECRET).unwrap()
}

fn token(roles: &[&str], scope: &str) -> String {
    mint(&json!({"sub": "ada", "exp": now() + 600, "roles": roles, "scope": scope}))
}

#[test]
fn a_typed_role_is_read_by_its_declared_name() {
    let policy = <publish as SecureHandler>::POLICY;
    assert_eq!(policy.roles(), ["admin", "editor-in-chief"]);
    assert_eq!(policy.scopes(), ["posts:write"]);
    assert_eq!(Role::NAMES, ["admin", "editor-in-chief"]);
    assert_eq!(Role::Chief.name(), "editor-in-chief");
    assert_eq!(Scope::PostsWrite.name(), "posts:write");
}

#[tokio::test]
async fn typed_roles_admit_their_holders_and_refuse_everyone_else() {
    // Typed names need no declaration, even where strings are declared.
    let security = Security::builder()
        .authenticator(jwt())
        .roles(["auditor"])
        .scopes(["posts:read"])
        .build()
        .unwrap();
    let base = serve(
        SecureRouter::new()
            .route("/publish", get(publish))
            .with_security(security),
    )
    .await;
    let client = reqwest::Client::new();
    let ask = |token: String| {
        client
            .get(format!("{base}/publish"))
            .bearer_auth(token)
            .send()
    };
    for (roles, scope, expected) in [
        (&["editor-in-chief"][..], "posts:write", StatusCode::OK),
        (&["admin"][..], "posts:write", StatusCode::OK),
        (&["chief"][..], "posts:write", StatusCode::FORBIDDEN),
        (&["Admin"][..], "posts:write", StatusCode::FORBIDDEN),
        (&["admin"][..], "posts:read", StatusCode::FORBIDDEN),
    ] {
        let response = ask(token(roles, scope)).await.unwrap();
        assert_eq!(response.status(), expected, "{roles:?} {scope}");
        if expected == StatusCode::FORBIDDEN {
            assert_eq!(response.text().await.unwrap(), r#"{"error":"Forbidden"}"#);
        }
    }
}

fn build(security: SecurityBuilder, router: SecureRouter) -> Result<(), SetupError> {
    router
        .with_security(security.build()?)
        .try_into_router()
        .map(drop)
}

#[test]
fn an_undeclared_role_stops_the_router_and_its_suggestion_starts_it() {
    let error = build(
        Security::builder()
            .authenticator(jwt())
            .roles(["admin", "editor"]),
        SecureRouter::new().route("/stats", get(misspelled_role)),
    )
    .unwrap_err();
    let SetupError::UndeclaredName {
        route,
        kind,
        name,
        nearest,
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(
        (route.as_str(), *kind, name.as_str()),
        ("GET /stats", "role", "admn")
    );
    assert_eq!(nearest.as_deref(), Some("admin"));
    let message = error.to_string();
    assert!(message.contains("GET /stats") && message.contains("did you mean \"admin\"?"));
    // Applied: the route spelled as suggested starts.
    build(
        Security::builder()
            .authenticator(jwt())
            .roles(["admin", "editor"]),
        SecureRouter::new().route("/stats", get(stats)),
    )
    .unwrap();
}

#[test]
fn an_undeclared_scope_is_refused_as_a_role_is() {
    let error = build(
        Security::builder()
            .authenticator(jwt())
            .scopes(["posts:write", "posts:read"]),
        SecureRouter::new().route("/write", get(misspelled_scope)),
    )
    .unwrap_err();
    assert!(
        matches!(&error, SetupError::UndeclaredName { kind: "scope", name, nearest: Some(nearest), .. }
            if name == "post:write" && nearest == "posts:write"),
        "{error:?}"
    );
    // Declaring roles only leaves scopes undeclared: not checked.
    build(
        Security::builder().authenticator(jwt()).roles(["admin"]),
        SecureRouter::new().route("/write", get(misspelled_scope)),
    )
    .unwrap();
}

#[test]
fn a_name_far_from_every_declared_one_gets_no_guess() {
    let error = build(
        Security::builder().authenticator(jwt()).roles(["billing"]),
        SecureRouter::new().route("/stats", get(stats)),
    )
    .unwrap_err();
    assert!(
        matches!(&error, SetupError::UndeclaredName { nearest: None, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("declare it there"), "{error}");
}

#[test]
fn a_declaration_that_cannot_be_a_name_is_refused_naming_the_setting() {
    for (builder, setting) in [
        (Security::builder().roles(["admin", ""]), "roles"),
        (Security::builder().roles(["admin", "admin"]), "roles"),
        (Security::builder().scopes(["posts write"]), "scopes"),
    ] {
        let error = builder.build().unwrap_err();
        assert!(
            matches!(&error, SetupError::InvalidSetting { setting: named, .. } if *named == setting),
            "{error:?}"
        );
    }
}

#[test]
fn without_a_declaration_the_names_in_use_are_logged_at_start() {
    let logs = capture_logs();
    build(
        Security::builder().authenticator(jwt()),
        SecureRouter::new()
            .route("/stats", get(misspelled_role))
            .route("/other", get(stats))
            .route("/write", get(misspelled_scope)),
    )
    .unwrap();
    let contents = logs.contents();
    let line = contents
        .lines()
        .find(|line| line.contains("the routes name these roles") && line.contains("admn"))
        .unwrap_or_else(|| panic!("no roles line in {contents}"));
    assert!(line.contains(r#"{"admin", "admn"}"#), "{line}");
    assert!(
        contents.lines().any(
            |line| line.contains("the routes name these scopes") && line.contains("post:write")
        ),
        "{contents}"
    );
}

#[derive(serde::Deserialize, serde::Serialize, validator::Validate, secure_endpoint::Guarded)]
struct Article {
    #[validate(length(min = 1, max = 100))]
    title: String,
    #[guarded(role = "editr")]
    pinned: Option<bool>,
}

#[secure(auth, validate = Article)]
async fn publish_article(article: Article) -> String {
    article.title
}

#[test]
fn a_guarded_field_naming_an_undeclared_role_is_refused_too() {
    let error = build(
        Security::builder()
            .authenticator(jwt())
            .roles(["admin", "editor"]),
        SecureRouter::new().route("/articles", secure_endpoint::routing::post(publish_article)),
    )
    .unwrap_err();
    assert!(
        matches!(&error, SetupError::UndeclaredName { route, kind: "role", name, nearest: Some(nearest) }
            if route == "POST /articles" && name == "editr" && nearest == "editor"),
        "{error:?}"
    );
    // Debug is the message, for `main` returning the error.
    assert_eq!(format!("{error:?}"), error.to_string());
}
