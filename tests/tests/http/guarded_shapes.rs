//! Guarded values in every shape a handler returns them, read back over HTTP by an
//! anonymous caller, by the owner of a nested value and by an admin: what each may not
//! read is absent (the key, not `null`), nested values included, whatever serde renames.

use axum::Json;
use reqwest::StatusCode;
use secure_endpoint::routing::get;
use secure_endpoint::testing::TokenMint;
use secure_endpoint::{
    Algorithm, Error, Guarded, JwtAuthenticator, SecureRouter, Security, public,
};
use secure_endpoint_tests::{SECRET, serve};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{Value, json};

#[derive(Clone, Serialize, Guarded)]
struct Contact {
    owner: String,
    #[guarded(owner = "owner")]
    phone: String,
}

#[derive(Clone, Serialize, Guarded)]
#[serde(rename_all = "camelCase")]
struct Account {
    user_name: String,
    #[guarded(role = "admin")]
    #[serde(rename = "mail", skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    contact: Contact,
    contacts: Vec<Contact>,
    backup: Option<Contact>,
    /// Guarded itself, and holding a guarded value: an admin sees it, filtered for them.
    #[guarded(role = "admin")]
    escalation: Contact,
}

/// A flattened field: serde writes a map, filtered through a `Value`.
#[derive(Clone, Serialize, Guarded)]
struct Flat {
    id: u64,
    #[serde(flatten)]
    contact: Contact,
    #[guarded(role = "admin")]
    note: String,
}

/// A guarded type whose hand-written `Serialize` writes a map: its fields cannot be
/// filtered as they go by, so its answer fails instead of going out whole.
#[derive(Guarded)]
struct Mapped {
    #[guarded(role = "admin")]
    secret: String,
}

impl Serialize for Mapped {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("secret", &self.secret)?;
        map.end()
    }
}

fn contact(owner: &str) -> Contact {
    Contact {
        owner: owner.into(),
        phone: format!("{owner}-phone"),
    }
}

fn account() -> Account {
    Account {
        user_name: "alice".into(),
        email: Some("alice@example.com".into()),
        contact: contact("alice"),
        contacts: vec![contact("alice"), contact("bob")],
        backup: Some(contact("bob")),
        escalation: contact("bob"),
    }
}

#[public(reason = "guarded shapes", optional_auth)]
async fn one() -> Json<Account> {
    Json(account())
}

#[public(reason = "guarded shapes", optional_auth)]
async fn many() -> Json<Vec<Account>> {
    Json(vec![account(), account()])
}

#[public(reason = "guarded shapes", optional_auth)]
async fn maybe() -> Result<(StatusCode, Json<Option<Account>>), Error> {
    Ok((StatusCode::CREATED, Json(Some(account()))))
}

#[public(reason = "guarded shapes", optional_auth)]
async fn flat() -> Json<Flat> {
    Json(Flat {
        id: 7,
        contact: contact("alice"),
        note: "internal".into(),
    })
}

#[public(reason = "guarded shapes", optional_auth)]
async fn mapped() -> Json<Mapped> {
    Json(Mapped {
        secret: "s3cr3t".into(),
    })
}

async fn start() -> String {
    let jwt = JwtAuthenticator::hmac(Algorithm::HS256, SECRET).unwrap();
    let security = Security::builder().authenticator(jwt).build().unwrap();
    let router = SecureRouter::new()
        .route("/one", get(one))
        .route("/many", get(many))
        .route("/maybe", get(maybe))
        .route("/flat", get(flat))
        .route("/mapped", get(mapped))
        .with_security(security);
    serve(router).await
}

fn token(sub: &str, roles: &[&str]) -> String {
    let mint = TokenMint::hmac(Algorithm::HS256, SECRET);
    mint.sign(&mint.claims(sub, roles))
}

async fn read(url: String, token: Option<&str>) -> (StatusCode, Value) {
    let response = secure_endpoint_tests::get(&url, token).await;
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// The account as `viewer` should see it.
fn expected(viewer: &str) -> Value {
    let phone = |owner: &str| {
        let mut contact = json!({ "owner": owner });
        if viewer == owner {
            contact["phone"] = json!(format!("{owner}-phone"));
        }
        contact
    };
    let mut account = json!({
        "userName": "alice",
        "contact": phone("alice"),
        "contacts": [phone("alice"), phone("bob")],
        "backup": phone("bob"),
    });
    if viewer == "admin" {
        account["mail"] = json!("alice@example.com");
        account["escalation"] = phone("bob");
    }
    account
}

#[tokio::test]
async fn each_caller_reads_only_what_it_may_in_every_shape() {
    let base = start().await;
    let alice = token("alice", &[]);
    let bob = token("bob", &[]);
    let admin = token("admin", &["admin"]);
    for (name, credential) in [
        ("anonymous", None),
        ("alice", Some(alice.as_str())),
        ("bob", Some(bob.as_str())),
        ("admin", Some(admin.as_str())),
    ] {
        let want = expected(name);
        let (status, body) = read(format!("{base}/one"), credential).await;
        assert_eq!((status, &body), (StatusCode::OK, &want), "{name}: /one");
        let (status, body) = read(format!("{base}/many"), credential).await;
        assert_eq!(
            (status, body),
            (StatusCode::OK, json!([want, want])),
            "{name}: /many"
        );
        let (status, body) = read(format!("{base}/maybe"), credential).await;
        assert_eq!(
            (status, &body),
            (StatusCode::CREATED, &want),
            "{name}: /maybe"
        );
    }
}

#[tokio::test]
async fn a_guarded_field_is_left_out_beside_a_flattened_one() {
    let base = start().await;
    let (status, body) = read(format!("{base}/flat"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({ "id": 7, "owner": "alice" }));
    let alice = token("alice", &[]);
    let (_, body) = read(format!("{base}/flat"), Some(&alice)).await;
    assert_eq!(
        body,
        json!({ "id": 7, "owner": "alice", "phone": "alice-phone" })
    );
    let admin = token("admin", &["admin"]);
    let (_, body) = read(format!("{base}/flat"), Some(&admin)).await;
    assert_eq!(
        body,
        json!({ "id": 7, "owner": "alice", "note": "internal" })
    );
}

#[tokio::test]
async fn a_guarded_type_that_serializes_as_a_map_fails_closed() {
    let base = start().await;
    let admin = token("admin", &["admin"]);
    for credential in [None, Some(admin.as_str())] {
        let response = secure_endpoint_tests::get(&format!("{base}/mapped"), credential).await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let text = response.text().await.unwrap();
        assert!(!text.contains("s3cr3t"), "{text}");
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body["error"], "An unexpected error occurred", "{text}");
        assert_eq!(
            body.as_object().unwrap().len(),
            2,
            "error and request_id: {text}"
        );
    }
}

/// A generic page of guarded values.
#[derive(Clone, Serialize, Guarded)]
struct Page<T> {
    items: Vec<T>,
    next: Option<u64>,
}

#[public(reason = "guarded shapes", optional_auth)]
async fn by_id() -> Json<std::collections::HashMap<u64, Account>> {
    Json([(1, account()), (2, account())].into_iter().collect())
}

#[public(reason = "guarded shapes", optional_auth)]
async fn sorted() -> Json<std::collections::BTreeMap<String, Account>> {
    Json([("a".to_owned(), account())].into_iter().collect())
}

#[public(reason = "guarded shapes", optional_auth)]
async fn pair() -> Json<[Account; 2]> {
    Json([account(), account()])
}

#[public(reason = "guarded shapes", optional_auth)]
async fn located() -> ([(axum::http::HeaderName, &'static str); 1], Json<Account>) {
    ([(axum::http::header::LOCATION, "/one")], Json(account()))
}

#[public(reason = "guarded shapes", optional_auth)]
async fn page() -> Json<Page<Account>> {
    Json(Page {
        items: vec![account()],
        next: Some(2),
    })
}

#[tokio::test]
async fn maps_arrays_header_tuples_and_generic_pages_are_filtered_too() {
    let jwt = JwtAuthenticator::hmac(Algorithm::HS256, SECRET).unwrap();
    let security = Security::builder().authenticator(jwt).build().unwrap();
    let base = serve(
        SecureRouter::new()
            .route("/by-id", get(by_id))
            .route("/sorted", get(sorted))
            .route("/pair", get(pair))
            .route("/located", get(located))
            .route("/page", get(page))
            .with_security(security),
    )
    .await;
    let admin = token("admin", &["admin"]);
    for (name, credential) in [("anonymous", None), ("admin", Some(admin.as_str()))] {
        let want = expected(name);
        let cases = [
            ("/by-id", json!({"1": want, "2": want})),
            ("/sorted", json!({"a": want})),
            ("/pair", json!([want, want])),
            ("/located", want.clone()),
            ("/page", json!({"items": [want], "next": 2})),
        ];
        for (path, expected) in cases {
            let (status, body) = read(format!("{base}{path}"), credential).await;
            assert_eq!((status, body), (StatusCode::OK, expected), "{name}: {path}");
        }
    }
}

/// A body whose guarded fields sit in a map, behind an owner, and inside a guarded
/// field: every one is checked before the handler runs.
#[derive(serde::Deserialize, validator::Validate, Guarded)]
struct Batch {
    #[serde(default)]
    items: std::collections::HashMap<String, Pinning>,
    #[serde(default)]
    account: Option<Verification>,
    #[serde(default)]
    #[guarded(role = "editor")]
    meta: Option<Meta>,
}

#[derive(serde::Deserialize, Guarded)]
struct Pinning {
    title: String,
    #[serde(default)]
    #[guarded(role = "admin")]
    pinned: Option<bool>,
}

#[derive(serde::Deserialize, Guarded)]
struct Verification {
    id: String,
    #[serde(default)]
    #[guarded(owner = "id", role = "admin")]
    verified: Option<bool>,
}

#[derive(serde::Deserialize, Guarded)]
struct Meta {
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    #[guarded(role = "admin")]
    featured: Option<bool>,
}

#[secure_endpoint::secure(auth, validate = Batch)]
async fn batch(input: Batch) -> String {
    let _ = (&input.items, &input.account, &input.meta);
    input
        .items
        .values()
        .map(|item| item.title.clone())
        .chain(input.account.map(|a| a.id))
        .chain(input.meta.and_then(|m| m.note))
        .collect::<Vec<_>>()
        .join(",")
}

#[tokio::test]
async fn guarded_writes_are_refused_in_maps_behind_owners_and_inside_guarded_fields() {
    let jwt = JwtAuthenticator::hmac(Algorithm::HS256, SECRET).unwrap();
    let security = Security::builder().authenticator(jwt).build().unwrap();
    let base = serve(
        SecureRouter::new()
            .route("/batch", secure_endpoint::routing::post(batch))
            .with_security(security),
    )
    .await;
    let send = |roles: &'static [&'static str], body: Value| {
        let base = base.clone();
        async move {
            reqwest::Client::new()
                .post(format!("{base}/batch"))
                .bearer_auth(token("alice", roles))
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let forbidden = [
        json!({"items": {"x": {"title": "t", "pinned": true}}}),
        // The body's own owner field cannot authorise the write.
        json!({"account": {"id": "alice", "verified": true}}),
        // An editor may write `meta`, but not what an admin guards inside it.
        json!({"meta": {"note": "n", "featured": true}}),
    ];
    for body in &forbidden {
        let roles: &'static [&'static str] = &["editor"];
        assert_eq!(
            send(roles, body.clone()).await,
            StatusCode::FORBIDDEN,
            "{body}"
        );
    }
    let allowed = json!({
        "items": {"x": {"title": "t"}},
        "account": {"id": "alice"},
        "meta": {"note": "n"}
    });
    assert_eq!(send(&["editor"], allowed).await, StatusCode::OK);
    assert_eq!(
        send(&["editor", "admin"], forbidden[2].clone()).await,
        StatusCode::OK
    );
    assert_eq!(send(&["admin"], forbidden[1].clone()).await, StatusCode::OK);
}
