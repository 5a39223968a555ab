//! Authorization beyond one object, over HTTP: lists filtered to the caller, tenants
//! that never see each other's data, and fields only some callers may read or write.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use reqwest::StatusCode;
use secure_endpoint::routing::get;
use secure_endpoint::testing::{ScanSettings, TokenMint, scan};
use secure_endpoint::{
    Algorithm, Authenticated, Collection, Error, Guarded, JwtAuthenticator, NoQuery, Principal,
    Resource, Scope, SecureRouter, Security, public, secure,
};
use secure_endpoint_tests::{SECRET, serve};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use validator::Validate;

/// A member of an organisation.
#[derive(Clone, Deserialize)]
struct Member {
    sub: String,
    #[serde(default)]
    org: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
}

impl Principal for Member {
    fn id(&self) -> &str {
        &self.sub
    }
    fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
    fn tenant(&self) -> Option<&str> {
        self.org.as_deref()
    }
}

#[derive(Clone, Debug, Serialize)]
struct Doc {
    id: u64,
    org_id: String,
    owner_id: String,
    title: String,
}

#[derive(Clone, Default)]
struct Store {
    docs: Arc<Mutex<Vec<Doc>>>,
    profiles: Arc<Mutex<Vec<Profile>>>,
}

impl Resource for Doc {
    type Key = u64;
    type State = Store;

    async fn load(id: u64, store: &Store) -> Result<Option<Self>, Error> {
        Ok(store
            .docs
            .lock()
            .unwrap()
            .iter()
            .find(|d| d.id == id)
            .cloned())
    }
}

impl Collection for Doc {
    type State = Store;
    type Query = NoQuery;
    const MAX_PAGE: usize = 10;

    async fn list(scope: Scope<'_>, _query: NoQuery, store: &Store) -> Result<Vec<Self>, Error> {
        let docs = store.docs.lock().unwrap();
        Ok(docs
            .iter()
            .filter(|d| scope.owner().is_none_or(|owner| d.owner_id == owner))
            .filter(|d| scope.tenant().is_none_or(|tenant| d.org_id == tenant))
            .take(scope.limit())
            .cloned()
            .collect())
    }
}

/// A loader that forgets the owner filter: the framework must not hand its items over.
#[derive(Clone, Debug, Serialize)]
struct Leaky {
    inner: Doc,
}

impl Collection for Leaky {
    type State = Store;
    type Query = NoQuery;

    async fn list(_scope: Scope<'_>, _query: NoQuery, store: &Store) -> Result<Vec<Self>, Error> {
        Ok(store
            .docs
            .lock()
            .unwrap()
            .iter()
            .cloned()
            .map(|inner| Leaky { inner })
            .collect())
    }
}

#[secure(auth, tenant = "doc.org_id")]
async fn read_doc(doc: Doc) -> Json<Doc> {
    Json(doc)
}

#[secure(auth, tenant = "docs[].org_id")]
async fn org_docs(docs: Vec<Doc>) -> Json<Vec<Doc>> {
    Json(docs)
}

#[secure(auth, owner = "docs[].owner_id", owner_or_role = "admin")]
async fn my_docs(docs: Vec<Doc>) -> Json<Vec<Doc>> {
    Json(docs)
}

#[secure(auth, owner = "docs[].inner.owner_id")]
async fn leaky_docs(docs: Vec<Leaky>) -> Json<Vec<Leaky>> {
    Json(docs)
}

#[derive(Clone, Debug, Serialize, Deserialize, Validate, Guarded)]
struct Profile {
    #[serde(default)]
    id: String,
    #[validate(length(min = 1, max = 40))]
    name: String,
    #[guarded(owner = "id", role = "admin")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[guarded(role = "admin")]
    #[serde(default, rename = "isPinned")]
    pinned: Option<bool>,
}

#[public(optional_auth)]
async fn profiles(State(store): State<Store>) -> Json<Vec<Profile>> {
    Json(store.profiles.lock().unwrap().clone())
}

#[secure(auth, validate = Profile)]
async fn create_profile(
    Authenticated(member): Authenticated<Member>,
    State(store): State<Store>,
    mut profile: Profile,
) -> Json<Profile> {
    profile.id = member.sub;
    store.profiles.lock().unwrap().push(profile.clone());
    Json(profile)
}

fn doc(id: u64, org: &str, owner: &str) -> Doc {
    Doc {
        id,
        org_id: org.into(),
        owner_id: owner.into(),
        title: format!("doc {id}"),
    }
}

/// A handler that serializes a guarded type with plain serde_json: the hole the scanner
/// must find.
#[public(reason = "a deliberately broken fixture")]
async fn leaked_profiles(State(store): State<Store>) -> (StatusCode, String) {
    let everyone = store.profiles.lock().unwrap().clone();
    (StatusCode::OK, serde_json::to_string(&everyone).unwrap())
}

fn fixture() -> Store {
    let store = Store::default();
    store.docs.lock().unwrap().extend([
        doc(1, "acme", "alice"),
        doc(2, "acme", "bob"),
        doc(3, "globex", "carol"),
    ]);
    store.profiles.lock().unwrap().push(Profile {
        id: "alice".into(),
        name: "Alice".into(),
        email: Some("alice@example.com".into()),
        pinned: Some(true),
    });
    store
}

/// The service, with the deliberately broken routes when `broken`.
fn router(store: &Store, broken: bool) -> SecureRouter {
    let jwt = JwtAuthenticator::hmac(Algorithm::HS256, SECRET)
        .unwrap()
        .claims::<Member>();
    let security = Security::builder().authenticator(jwt).build().unwrap();
    let mut router = SecureRouter::new()
        .route("/docs/{id}", get(read_doc))
        .route("/docs", get(org_docs))
        .route("/mine", get(my_docs))
        .route("/profiles", get(profiles).post(create_profile));
    if broken {
        router = router
            .route("/leaky", get(leaky_docs))
            .route("/leaked-profiles", get(leaked_profiles));
    }
    router.with_security(security).with_state(store.clone())
}

async fn start() -> (String, Store) {
    let store = fixture();
    (serve(router(&store, true)).await, store)
}

fn scan_settings() -> ScanSettings {
    ScanSettings::new()
        .mint(TokenMint::hmac(Algorithm::HS256, SECRET))
        .tenant_claim("org")
        .path("/docs/{id}", "/docs/1")
        .tenant("/docs/{id}", "acme")
        .tenant("/docs", "acme")
        .owner("/mine", "alice")
        .guarded::<Profile>()
}

#[tokio::test]
async fn the_scanner_passes_the_sound_routes() {
    let report = scan(router(&fixture(), false), scan_settings()).await;
    report.assert_clean();
}

#[tokio::test]
async fn the_scanner_finds_a_loader_without_its_filter_and_a_guarded_type_serialized_plainly() {
    let report = scan(
        router(&fixture(), true),
        scan_settings().owner("/leaky", "alice"),
    )
    .await;
    let found = |route: &str, case: &str| {
        report
            .findings
            .iter()
            .any(|f| f.route == route && f.case == case)
    };
    assert!(found("GET /leaky", "another principal's list"), "{report}");
    assert!(
        found(
            "GET /leaked-profiles",
            "guarded fields for a caller who may not read them"
        ),
        "{report}"
    );
    assert_eq!(report.findings.len(), 2, "{report}");
}

fn token(sub: &str, org: Option<&str>, roles: &[&str]) -> String {
    let mint = TokenMint::hmac(Algorithm::HS256, SECRET);
    let mut claims = mint.claims(sub, roles);
    if let Some(org) = org {
        claims["org"] = json!(org);
    }
    mint.sign(&claims)
}

async fn get_as(url: &str, token: Option<&str>) -> (StatusCode, String) {
    let response = secure_endpoint_tests::get(url, token).await;
    (response.status(), response.text().await.unwrap())
}

fn ids(body: &str) -> Vec<u64> {
    let docs: Vec<Value> = serde_json::from_str(body).unwrap();
    docs.iter().map(|d| d["id"].as_u64().unwrap()).collect()
}

#[tokio::test]
async fn each_caller_sees_only_their_own_items() {
    let (base, _) = start().await;
    let alice = token("alice", Some("acme"), &[]);
    let bob = token("bob", Some("acme"), &[]);
    let (status, body) = get_as(&format!("{base}/mine"), Some(&alice)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&body), [1]);
    let (_, body) = get_as(&format!("{base}/mine"), Some(&bob)).await;
    assert_eq!(ids(&body), [2]);
    let admin = token("root", Some("acme"), &["admin"]);
    let (_, body) = get_as(&format!("{base}/mine"), Some(&admin)).await;
    assert_eq!(ids(&body), [1, 2, 3], "owner_or_role sees everyone's");
    let (status, _) = get_as(&format!("{base}/mine?page=2"), Some(&alice)).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "NoQuery refuses any parameter"
    );
}

#[tokio::test]
async fn a_loader_that_returns_someone_elses_item_fails_closed() {
    let (base, _) = start().await;
    let alice = token("alice", Some("acme"), &[]);
    let (status, body) = get_as(&format!("{base}/leaky"), Some(&alice)).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!body.contains("doc 2") && !body.contains("bob"), "{body}");
}

#[tokio::test]
async fn another_tenants_resource_is_404_and_its_list_is_empty() {
    let (base, _) = start().await;
    let carol = token("carol", Some("globex"), &[]);
    let (status, body) = get_as(&format!("{base}/docs/1"), Some(&carol)).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::NOT_FOUND, r#"{"error":"Not found"}"#)
    );
    let (status, _) = get_as(&format!("{base}/docs/3"), Some(&carol)).await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = get_as(&format!("{base}/docs"), Some(&carol)).await;
    assert_eq!(ids(&body), [3]);
    let alice = token("alice", Some("acme"), &[]);
    let (_, body) = get_as(&format!("{base}/docs"), Some(&alice)).await;
    assert_eq!(ids(&body), [1, 2]);
    let stranger = token("dave", Some("initech"), &[]);
    let (_, body) = get_as(&format!("{base}/docs"), Some(&stranger)).await;
    assert_eq!(ids(&body), Vec::<u64>::new());
    let nobody = token("erin", None, &[]);
    let (status, _) = get_as(&format!("{base}/docs/1"), Some(&nobody)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no tenant on the principal");
    let (status, _) = get_as(&format!("{base}/docs"), Some(&nobody)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_guarded_field_is_read_only_by_its_owner_or_the_role() {
    let (base, _) = start().await;
    let url = format!("{base}/profiles");
    let read = |token: Option<String>| {
        let url = url.clone();
        async move {
            let (status, body) = get_as(&url, token.as_deref()).await;
            assert_eq!(status, StatusCode::OK);
            let list: Vec<Value> = serde_json::from_str(&body).unwrap();
            list[0].clone()
        }
    };
    let anonymous = read(None).await;
    assert!(
        anonymous.get("email").is_none(),
        "the key is absent: {anonymous}"
    );
    assert!(anonymous.get("isPinned").is_none(), "{anonymous}");
    assert_eq!(anonymous["name"], "Alice");
    let other = read(Some(token("bob", Some("acme"), &[]))).await;
    assert!(other.get("email").is_none(), "{other}");
    let owner = read(Some(token("alice", Some("acme"), &[]))).await;
    assert_eq!(owner["email"], "alice@example.com");
    assert!(
        owner.get("isPinned").is_none(),
        "a role guard, not the owner's"
    );
    let admin = read(Some(token("root", None, &["admin"]))).await;
    assert_eq!(admin["email"], "alice@example.com");
    assert_eq!(admin["isPinned"], true);
    let (status, _) = get_as(&url, Some("not-a-token")).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "optional, but an invalid one is refused"
    );
}

#[tokio::test]
async fn a_guarded_field_sent_without_the_role_is_403_and_nothing_is_written() {
    let (base, store) = start().await;
    let url = format!("{base}/profiles");
    let send = |token: String, body: Value| {
        let url = url.clone();
        async move {
            reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let bob = token("bob", Some("acme"), &[]);
    let response = send(bob.clone(), json!({"name": "Bob", "isPinned": true})).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(response.text().await.unwrap(), r#"{"error":"Forbidden"}"#);
    assert_eq!(store.profiles.lock().unwrap().len(), 1, "nothing written");
    let response = send(bob, json!({"name": "Bob"})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let admin = token("root", None, &["admin"]);
    let response = send(admin, json!({"name": "Root", "isPinned": true})).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(store.profiles.lock().unwrap().len(), 3);
}
