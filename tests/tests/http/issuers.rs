//! Several issuers, attacked as a less trusted provider would: a token of its own making
//! names another issuer's user and claims roles it may not grant (DESIGN §12).

use jsonwebtoken::Algorithm;
use reqwest::StatusCode;
use secure_endpoint::routing::get;
use secure_endpoint::testing::TokenMint;
use secure_endpoint::{
    Claims, Error, Issuers, JwtAuthenticator, Resource, SecureRouter, Security, secure,
};
use secure_endpoint_tests::serve;

const STAFF: &str = "https://staff.example";
const PARTNERS: &str = "https://partners.example";
const STAFF_KEY: [u8; 32] = *b"the staff provider's secret key!";
const PARTNER_KEY: [u8; 32] = *b"the partner provider's secret k!";

/// Staff user 1's note.
#[derive(Clone)]
struct Note {
    owner: String,
}

impl Resource for Note {
    type Key = u64;
    type State = ();

    async fn load(id: u64, _state: &()) -> Result<Option<Note>, Error> {
        Ok((id == 1).then(|| Note { owner: "1".into() }))
    }
}

#[secure(auth)]
async fn me(claims: Claims) -> String {
    claims.sub
}

#[secure(auth, role = "admin")]
async fn stats() -> &'static str {
    "stats"
}

#[secure(auth, owner = "note.owner")]
async fn read_note(note: Note) -> String {
    format!("note of {}", note.owner)
}

fn verifier(issuer: &str, key: [u8; 32]) -> JwtAuthenticator {
    JwtAuthenticator::hmac(Algorithm::HS256, key)
        .unwrap()
        .issuer(issuer)
        .audience("api")
}

async fn service(issuers: Issuers) -> String {
    let router = SecureRouter::new()
        .route("/me", get(me))
        .route("/admin/stats", get(stats))
        .route("/notes/{id}", get(read_note))
        .with_security(Security::builder().authenticator(issuers).build().unwrap());
    serve(router).await
}

fn token(issuer: &str, key: [u8; 32], sub: &str, roles: &[&str]) -> String {
    TokenMint::hmac(Algorithm::HS256, key)
        .issuer(issuer)
        .audience("api")
        .token(sub, roles)
}

async fn call(base: &str, path: &str, token: &str) -> (StatusCode, String) {
    let response = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
async fn another_issuer_s_user_one_is_not_the_service_s_user_one() {
    let base = service(
        Issuers::new()
            .issuer(verifier(STAFF, STAFF_KEY))
            .issuer(verifier(PARTNERS, PARTNER_KEY)),
    )
    .await;
    let staff = token(STAFF, STAFF_KEY, "1", &["admin"]);
    assert_eq!(
        call(&base, "/me", &staff).await,
        (StatusCode::OK, "1".into())
    );
    assert_eq!(call(&base, "/notes/1", &staff).await.0, StatusCode::OK);
    assert_eq!(call(&base, "/admin/stats", &staff).await.0, StatusCode::OK);

    // The partner signs `sub: 1` with `roles: [admin]`: it is its own user 1, with no
    // roles, owning nothing of the service's user 1.
    let partner = token(PARTNERS, PARTNER_KEY, "1", &["admin"]);
    assert_eq!(
        call(&base, "/me", &partner).await,
        (StatusCode::OK, format!("{PARTNERS}#1"))
    );
    assert_eq!(
        call(&base, "/notes/1", &partner).await,
        (StatusCode::FORBIDDEN, r#"{"error":"Forbidden"}"#.into())
    );
    assert_eq!(
        call(&base, "/admin/stats", &partner).await.0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_trusted_issuer_grants_roles_in_a_namespace_of_its_own() {
    let base = service(
        Issuers::new()
            .issuer(verifier(STAFF, STAFF_KEY))
            .trusted_issuer(verifier(PARTNERS, PARTNER_KEY)),
    )
    .await;
    let partner = token(PARTNERS, PARTNER_KEY, "1", &["admin"]);
    assert_eq!(
        call(&base, "/admin/stats", &partner).await.0,
        StatusCode::OK
    );
    assert_eq!(
        call(&base, "/notes/1", &partner).await.0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_shared_issuer_issues_for_the_service_s_own_accounts() {
    let base = service(
        Issuers::new()
            .issuer(verifier(STAFF, STAFF_KEY))
            .shared_issuer(verifier(PARTNERS, PARTNER_KEY)),
    )
    .await;
    let partner = token(PARTNERS, PARTNER_KEY, "1", &["admin"]);
    assert_eq!(
        call(&base, "/me", &partner).await,
        (StatusCode::OK, "1".into())
    );
    assert_eq!(call(&base, "/notes/1", &partner).await.0, StatusCode::OK);
    assert_eq!(
        call(&base, "/admin/stats", &partner).await.0,
        StatusCode::OK
    );
    // Still only with its own key.
    let forged = token(PARTNERS, STAFF_KEY, "1", &["admin"]);
    assert_eq!(
        call(&base, "/me", &forged).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[test]
fn an_issuer_with_the_namespace_separator_stops_the_start() {
    let error = Security::builder()
        .authenticator(
            Issuers::new()
                .issuer(verifier(STAFF, STAFF_KEY))
                .issuer(verifier("https://partners.example/#x", PARTNER_KEY)),
        )
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("`#`"), "{error}");
}
