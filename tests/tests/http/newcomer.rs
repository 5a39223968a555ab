//! What a newcomer's first service needs: a route per credential, tokens issued by the
//! framework, an error body of the application's own shape, and the mistakes that
//! compile but would refuse every request stopped at start.

use reqwest::StatusCode;
use secure_endpoint::routing::get;
use secure_endpoint::testing::{ScanSettings, TokenMint, scan};
use secure_endpoint::{
    Algorithm, ApiKeys, Authenticated, Claims, JwtAuthenticator, ProblemJson, SecureRouter,
    Security, SetupError, TokenIssuer, public, secure,
};
use secure_endpoint_tests::{SECRET, assert_security_headers, serve};
use serde_json::{Value, json};

const KEY: &str = "k2VqzL0wP7Yc3nRt9XbH4sJm6AeQ1uDf";

#[secure(auth, role = "deployer")]
async fn deploy_by_token(claims: Claims) -> String {
    format!("token {}", claims.sub)
}

#[secure(auth = "api_key", role = "deployer")]
async fn deploy_by_key(claims: Claims) -> String {
    format!("key {}", claims.sub)
}

fn robot() -> Claims {
    Claims {
        sub: "ci-bot".into(),
        roles: vec!["deployer".into()],
        scope: None,
        exp: u64::MAX,
    }
}

async fn two_credentials(keys: ApiKeys<Claims>) -> String {
    let jwt = JwtAuthenticator::hmac(Algorithm::HS256, SECRET).unwrap();
    let security = Security::builder()
        .authenticator(jwt)
        .named_authenticator("api_key", keys)
        .build()
        .unwrap();
    let router: SecureRouter = SecureRouter::new()
        .route("/deploy/token", get(deploy_by_token))
        .route("/deploy/key", get(deploy_by_key))
        .with_security(security);
    serve(router).await
}

async fn status(url: &str, header: Option<(&str, &str)>) -> (StatusCode, String) {
    let mut request = reqwest::Client::new().get(url);
    if let Some((name, value)) = header {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
async fn each_route_takes_only_the_credential_it_names() {
    let keys = ApiKeys::new().key(KEY, robot()).unwrap();
    let base = two_credentials(keys).await;
    let token = TokenMint::hmac(Algorithm::HS256, SECRET).token("alice", &["deployer"]);
    let bearer_token = format!("Bearer {token}");
    let bearer_key = format!("Bearer {KEY}");
    let by_token = format!("{base}/deploy/token");
    let by_key = format!("{base}/deploy/key");
    assert_eq!(
        status(&by_token, Some(("authorization", &bearer_token))).await,
        (StatusCode::OK, "token alice".to_owned())
    );
    // The key opens its own route only; a JWT with the same role does not open it.
    assert_eq!(
        status(&by_key, Some(("authorization", &bearer_key))).await,
        (StatusCode::OK, "key ci-bot".to_owned())
    );
    assert_eq!(
        status(&by_key, Some(("authorization", &bearer_token)))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(&by_token, Some(("authorization", &bearer_key)))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn api_keys_from_a_header_of_their_own() {
    let keys = ApiKeys::new()
        .header("X-API-Key")
        .unwrap()
        .key(KEY, robot())
        .unwrap();
    let base = two_credentials(keys).await;
    let by_key = format!("{base}/deploy/key");
    assert_eq!(
        status(&by_key, Some(("x-api-key", KEY))).await,
        (StatusCode::OK, "key ci-bot".to_owned())
    );
    let bearer_key = format!("Bearer {KEY}");
    assert_eq!(
        status(&by_key, Some(("authorization", &bearer_key)))
            .await
            .0,
        StatusCode::UNAUTHORIZED,
        "the key is read from its header only"
    );
    assert_eq!(status(&by_key, None).await.0, StatusCode::UNAUTHORIZED);
    let wrong = "k2VqzL0wP7Yc3nRt9XbH4sJm6AeQ1uDX";
    assert_eq!(
        status(&by_key, Some(("x-api-key", wrong))).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[test]
fn the_inventory_and_the_document_show_each_routes_credential() {
    let keys = ApiKeys::<Claims>::new().header("X-API-Key").unwrap();
    let jwt = JwtAuthenticator::hmac(Algorithm::HS256, SECRET).unwrap();
    let security = Security::builder()
        .authenticator(jwt)
        .named_authenticator("api_key", keys)
        .build()
        .unwrap();
    let router: SecureRouter = SecureRouter::new()
        .route("/deploy/token", get(deploy_by_token))
        .route("/deploy/key", get(deploy_by_key))
        .with_security(security);
    let inventory = router.inventory();
    let table = inventory.to_string();
    assert!(table.contains("auth via api_key, role deployer"), "{table}");
    let document = inventory.openapi("deploy", "1");
    assert_eq!(
        document["components"]["securitySchemes"]["api_key"],
        json!({"type": "apiKey", "in": "header", "name": "x-api-key", "description": "x-api-key: the credential alone"})
    );
    assert_eq!(
        document["paths"]["/deploy/key"]["get"]["security"],
        json!([{"api_key": []}])
    );
    assert_eq!(
        document["paths"]["/deploy/token"]["get"]["security"],
        json!([{"bearerAuth": []}])
    );
}

#[test]
fn a_route_naming_an_unknown_authenticator_is_a_startup_error() {
    let security = Security::builder()
        .authenticator(JwtAuthenticator::hmac(Algorithm::HS256, SECRET).unwrap())
        .build()
        .unwrap();
    let router: SecureRouter = SecureRouter::new()
        .route("/deploy/key", get(deploy_by_key))
        .with_security(security);
    let error = router.try_into_router().unwrap_err();
    assert!(
        matches!(error, SetupError::UnknownAuthenticator { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("`api_key`"), "{error}");
}

/// A principal type of the application's own.
#[derive(Clone, serde::Deserialize)]
struct Staff {
    sub: String,
}

impl secure_endpoint::Principal for Staff {
    fn id(&self) -> &str {
        &self.sub
    }
    fn has_role(&self, _role: &str) -> bool {
        false
    }
}

#[secure(auth)]
async fn wants_claims(claims: Claims) -> String {
    claims.sub
}

#[secure(auth)]
async fn wants_staff(Authenticated(staff): Authenticated<Staff>) -> String {
    staff.sub
}

#[test]
fn a_handler_taking_another_principal_type_is_a_startup_error() {
    let jwt = JwtAuthenticator::hmac(Algorithm::HS256, SECRET)
        .unwrap()
        .claims::<Staff>();
    let security = Security::builder().authenticator(jwt).build().unwrap();
    let router: SecureRouter = SecureRouter::new()
        .route("/staff", get(wants_staff))
        .route("/claims", get(wants_claims))
        .with_security(security);
    let error = router.try_into_router().unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, SetupError::PrincipalMismatch { .. }),
        "{message}"
    );
    assert!(message.contains("wants_claims"), "{message}");
    assert!(
        message.contains("secure_endpoint::principal::Claims"),
        "{message}"
    );
    assert!(message.contains("Staff"), "{message}");
}

#[tokio::test]
async fn a_nested_router_with_its_own_settings_is_refused_not_dropped() {
    let inner_security = Security::builder()
        .authenticator(
            JwtAuthenticator::hmac(
                Algorithm::HS256,
                b"another secret of at least thirty-two bytes",
            )
            .unwrap(),
        )
        .build()
        .unwrap();
    let admin = SecureRouter::new()
        .route("/stats", get(wants_claims))
        .with_security(inner_security);
    let outer: SecureRouter = SecureRouter::new().nest("/admin", admin).with_security(
        Security::builder()
            .authenticator(JwtAuthenticator::hmac(Algorithm::HS256, SECRET).unwrap())
            .build()
            .unwrap(),
    );
    let error = outer.try_into_router().unwrap_err().to_string();
    assert!(error.contains("own"), "{error}");
}

#[tokio::test]
async fn issued_tokens_carry_what_the_verifier_and_a_revocation_need() {
    let issuer = TokenIssuer::hmac(Algorithm::HS256, SECRET)
        .unwrap()
        .issuer("blog")
        .audience("blog")
        .lifetime(std::time::Duration::from_secs(600));
    let jwt = JwtAuthenticator::hmac(Algorithm::HS256, SECRET)
        .unwrap()
        .issuer("blog")
        .audience("blog");
    let router: SecureRouter = SecureRouter::new()
        .route("/me", get(wants_claims))
        .with_security(Security::builder().authenticator(jwt).build().unwrap());
    let base = serve(router).await;
    let first = issuer.issue("7", &json!({"roles": ["admin"]})).unwrap();
    let second = issuer.issue("7", &json!({})).unwrap();
    assert_ne!(first.jti, second.jti, "a jti per token");
    assert_eq!(first.jti.len(), 32);
    assert_eq!(first.expires_at - first.issued_at, 600);
    let (status, body) = status(
        &format!("{base}/me"),
        Some(("authorization", &format!("Bearer {}", first.token))),
    )
    .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "7"));
    // The claims the verifier reads, straight from the token.
    use base64::Engine;
    let payload = first.token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["iss"], "blog");
    assert_eq!(claims["aud"], "blog");
    assert_eq!(claims["roles"], json!(["admin"]));
    assert_eq!(claims["jti"], first.jti.as_str());
    // An application field cannot override a registered claim.
    let forged = issuer.issue("7", &json!({"sub": "0", "exp": 1})).unwrap();
    let payload = forged.token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["sub"], "7");
    assert!(claims["exp"].as_u64().unwrap() > 1);
}

#[test]
fn an_issuer_refuses_a_short_secret_or_a_public_key_algorithm() {
    assert!(matches!(
        TokenIssuer::hmac(Algorithm::HS256, b"short"),
        Err(SetupError::WeakSecret { .. })
    ));
    assert!(TokenIssuer::hmac(Algorithm::RS256, SECRET).is_err());
}

#[public]
async fn fails() -> Result<String, secure_endpoint::Error> {
    Err(std::io::Error::other("canary-disk-detail").into())
}

#[derive(serde::Deserialize, validator::Validate)]
struct Note {
    #[validate(length(max = 3))]
    text: String,
}

#[public(validate = Note)]
async fn note(input: Note) -> String {
    input.text
}

fn problem_router() -> SecureRouter {
    let security = Security::builder()
        .authenticator(JwtAuthenticator::hmac(Algorithm::HS256, SECRET).unwrap())
        .error_body(ProblemJson)
        .build()
        .unwrap();
    SecureRouter::new()
        .route("/me", get(wants_claims))
        .route("/fails", get(fails))
        .route("/notes", secure_endpoint::routing::post(note))
        .with_security(security)
}

#[tokio::test]
async fn a_custom_error_body_is_used_everywhere_and_carries_no_detail() {
    let base = serve(problem_router()).await;
    let response = reqwest::get(format!("{base}/me")).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_security_headers(&response);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"type": "about:blank", "title": "Unauthorized", "status": 401})
    );

    let response = reqwest::get(format!("{base}/fails")).await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let text = response.text().await.unwrap();
    assert!(!text.contains("canary"), "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        body,
        json!({"type": "about:blank", "title": "An unexpected error occurred", "status": 500, "request_id": id})
    );

    let response = reqwest::Client::new()
        .post(format!("{base}/notes"))
        .header("content-type", "application/json")
        .body(r#"{"text":"too long","extra":1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["title"], "Invalid input");
    assert_eq!(body["errors"], json!({"extra": ["unknown"]}));

    let response = reqwest::get(format!("{base}/nowhere")).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
}

#[tokio::test]
async fn the_scanner_passes_a_service_with_a_custom_error_body() {
    let settings = ScanSettings::new().mint(TokenMint::hmac(Algorithm::HS256, SECRET));
    scan(problem_router(), settings).await.assert_clean();
}
