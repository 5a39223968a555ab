//! Object-level authorization: `owner` and `owner_or_role`, over HTTP.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::State;
use jsonwebtoken::Algorithm;
use reqwest::StatusCode;
use secure_endpoint::routing::get;
use secure_endpoint::testing::TokenMint;
use secure_endpoint::{Error, JwtAuthenticator, Resource, SecureRouter, Security, secure};
use secure_endpoint_tests::{SECRET, assert_security_headers, assert_unauthorized, serve};

#[derive(Clone, Default)]
struct Notes {
    notes: Arc<HashMap<u64, Note>>,
    loads: Arc<AtomicUsize>,
}

#[derive(Clone)]
struct Note {
    owner: String,
    text: String,
    editor: Option<u64>,
}

impl Resource for Note {
    type Key = u64;
    type State = Notes;

    async fn load(id: u64, state: &Notes) -> Result<Option<Self>, Error> {
        state.loads.fetch_add(1, Ordering::SeqCst);
        if id == 666 {
            return Err(Error::internal("canary-db-down"));
        }
        Ok(state.notes.get(&id).cloned())
    }
}

#[secure(auth, owner = "note.owner")]
async fn read(note: Note) -> String {
    note.text
}

#[secure(auth, owner = "note.owner", owner_or_role = "moderator")]
async fn moderate(State(_notes): State<Notes>, note: Note) -> String {
    format!("moderated {}", note.text)
}

#[secure(auth, owner = "note.editor")]
async fn edit(note: Note) -> String {
    format!("edit {}", note.text)
}

fn notes() -> Notes {
    let mut notes = HashMap::new();
    notes.insert(
        1,
        Note {
            owner: "alice".into(),
            text: "alice's".into(),
            editor: Some(7),
        },
    );
    notes.insert(
        2,
        Note {
            owner: "bob".into(),
            text: "bob's".into(),
            editor: None,
        },
    );
    Notes {
        notes: Arc::new(notes),
        loads: Arc::default(),
    }
}

async fn start(hide: bool) -> (String, Notes) {
    let state = notes();
    let jwt = JwtAuthenticator::hmac(Algorithm::HS256, SECRET).unwrap();
    let security = Security::builder()
        .authenticator(jwt)
        .hide_forbidden_resources(hide)
        .build()
        .unwrap();
    let router = SecureRouter::new()
        .route("/notes/{id}", get(read))
        .route("/notes/{id}/moderate", get(moderate))
        .route("/notes/{id}/edit", get(edit))
        .with_security(security)
        .with_state(state.clone());
    (serve(router).await, state)
}

fn token(sub: &str, roles: &[&str]) -> String {
    TokenMint::hmac(Algorithm::HS256, SECRET).token(sub, roles)
}

async fn call(base: &str, path: &str, token: Option<&str>) -> reqwest::Response {
    secure_endpoint_tests::get(&format!("{base}{path}"), token).await
}

#[tokio::test]
async fn the_owner_is_admitted_with_the_loaded_resource() {
    let (base, state) = start(false).await;
    let response = call(&base, "/notes/1", Some(&token("alice", &[]))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "alice's");
    assert_eq!(
        state.loads.load(Ordering::SeqCst),
        1,
        "loaded once, handed to the handler"
    );
}

#[tokio::test]
async fn someone_elses_resource_is_403() {
    let (base, _) = start(false).await;
    let response = call(&base, "/notes/2", Some(&token("alice", &[]))).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_security_headers(&response);
    assert_eq!(response.text().await.unwrap(), r#"{"error":"Forbidden"}"#);
}

#[tokio::test]
async fn a_missing_resource_is_404() {
    let (base, _) = start(false).await;
    let response = call(&base, "/notes/99", Some(&token("alice", &[]))).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.text().await.unwrap(), r#"{"error":"Not found"}"#);
}

#[tokio::test]
async fn hiding_existence_answers_404_for_someone_elses() {
    let (base, _) = start(true).await;
    let theirs = call(&base, "/notes/2", Some(&token("alice", &[]))).await;
    let missing = call(&base, "/notes/99", Some(&token("alice", &[]))).await;
    assert_eq!(theirs.status(), StatusCode::NOT_FOUND);
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(theirs.text().await.unwrap(), missing.text().await.unwrap());
}

#[tokio::test]
async fn nothing_is_loaded_before_authentication() {
    let (base, state) = start(false).await;
    assert_unauthorized(call(&base, "/notes/1", None).await, false).await;
    assert_unauthorized(call(&base, "/notes/1", Some("forged")).await, true).await;
    assert_eq!(state.loads.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn the_role_of_owner_or_role_passes() {
    let (base, _) = start(false).await;
    let response = call(
        &base,
        "/notes/2/moderate",
        Some(&token("carol", &["moderator"])),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "moderated bob's");
    let response = call(
        &base,
        "/notes/2/moderate",
        Some(&token("carol", &["editor"])),
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = call(&base, "/notes/2/moderate", Some(&token("bob", &[]))).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_role_without_owner_or_role_does_not_pass() {
    let (base, _) = start(false).await;
    let response = call(
        &base,
        "/notes/2",
        Some(&token("carol", &["moderator", "admin"])),
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn numeric_and_optional_owner_fields() {
    let (base, _) = start(false).await;
    assert_eq!(
        call(&base, "/notes/1/edit", Some(&token("7", &[])))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        call(&base, "/notes/1/edit", Some(&token("07", &[])))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    // No editor: owned by nobody.
    assert_eq!(
        call(&base, "/notes/2/edit", Some(&token("7", &[])))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_malformed_key_is_400_and_a_failing_load_is_the_generic_500() {
    let (base, _) = start(false).await;
    let response = call(&base, "/notes/abc", Some(&token("alice", &[]))).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.text().await.unwrap(), r#"{"error":"Bad request"}"#);
    let response = call(&base, "/notes/666", Some(&token("alice", &[]))).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!response.text().await.unwrap().contains("canary"));
}
