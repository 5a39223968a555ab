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
