//! The applications the benchmarks compare: one `POST /posts` route that takes an HS256
//! bearer token and a JSON body of about 200 bytes, answering 201 with the new id, built
//! five ways.
//!
//! - [`no_checks`]: the body parsed into the type, nothing else.
//! - [`hand_written`]: the same checks as `#[secure]`, written in the handler with the same
//!   crates (jsonwebtoken, governor, serde_json, validator).
//! - [`hand_written_same_response`]: the same, with what `#[secure]` adds to every
//!   response done the usual way, with tower-http's layers: the six security headers, an
//!   `x-request-id` (UUID), and panics caught as 500.
//! - [`secure()`]: `#[secure(auth, validate = CreatePost, rate = "…")]`.
//! - [`assembled`]: what a user would put together from crates.io instead: tower_governor's
//!   layer, axum-jwt's claims extractor, and a validating JSON extractor written the way
//!   axum's own example does it (axum-valid needs validator 0.20, this workspace is on
//!   0.21).
//!
//! Each has a second route, `POST /limited`, identical but for a limit of one request per
//! hour, to measure refusals over the limit.

pub mod accounts;
pub mod permissions;

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secure_endpoint::routing::post;
use secure_endpoint::testing::TokenMint;
use secure_endpoint::{Claims, JwtAuthenticator, Limiter, SecureRouter, Security, secure};
use serde::Deserialize;
use tower_governor::GovernorLayer;
use tower_governor::governor::GovernorConfigBuilder;
use validator::Validate;

/// The HMAC secret every variant verifies with.
pub const SECRET: &[u8] = b"benchmark-secret-that-is-32-bytes-or-more";

/// The subject of the benchmark's token.
pub const USER: &str = "42";

/// What `POST /posts` takes.
#[derive(Debug, Deserialize, Validate)]
pub struct CreatePost {
    /// The title.
    #[validate(length(min = 1, max = 200))]
    pub title: String,
    /// The text.
    #[validate(length(min = 1, max = 50000))]
    pub content: String,
    /// Up to ten tags.
    #[serde(default)]
    #[validate(length(max = 10))]
    pub tags: Vec<String>,
}

/// What every variant answers on success: 201 and the new post's id as JSON, as a create
/// call does (an empty 201 would be cheaper for hyper to write than any refusal).
pub type Created = (StatusCode, Json<NewPost>);

/// The body of a 201.
#[derive(Debug, serde::Serialize)]
pub struct NewPost {
    /// The new post's id.
    pub id: u64,
}

pub(crate) fn created() -> Created {
    (StatusCode::CREATED, Json(NewPost { id: 1 }))
}

/// A valid body of about 200 bytes, as a post would be.
pub fn body() -> String {
    serde_json::json!({
        "title": "Benchmarks that mean something",
        "content": "A body of about two hundred bytes, parsed and validated on every request, the way a real create call would send it to the API.",
        "tags": ["rust", "axum"]
    })
    .to_string()
}

/// The same body with an empty title: well-formed JSON that breaks a rule.
pub fn invalid_body() -> String {
    body().replace("Benchmarks that mean something", "")
}

/// A valid HS256 token for [`USER`], good for an hour.
pub fn token() -> String {
    TokenMint::hmac(Algorithm::HS256, SECRET).token(USER, &[])
}

/// The same token minted with jsonwebtoken alone: no secure-endpoint key is made, so a
/// process that serves only a hand-written variant keeps jsonwebtoken's own aws-lc
/// provider, as a hand-written service would.
pub fn token_from_jsonwebtoken() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(Algorithm::HS256),
        &serde_json::json!({ "sub": USER, "iat": now, "exp": now + 3600 }),
        &jsonwebtoken::EncodingKey::from_secret(SECRET),
    )
    .expect("an HS256 token")
}

/// A token of the same shape signed with another secret.
pub fn forged_token() -> String {
    TokenMint::hmac(Algorithm::HS256, b"another-secret-that-is-32-bytes-long!!").token(USER, &[])
}

/// A limit no benchmark reaches, so the success path is measured with the check done.
const UNREACHED: u32 = 1_000_000_000;

/// The applications, by the name the load benchmark reports.
pub const VARIANTS: [&str; 7] = [
    "no checks",
    "hand-written",
    "hand-written + same response",
    "#[secure]",
    "#[secure] + Redis",
    "assembled",
    "assembled + same response",
];

/// The application called `name` in [`VARIANTS`].
pub fn app(name: &str) -> Option<Router> {
    match name {
        "no checks" => Some(no_checks()),
        "hand-written" => Some(hand_written()),
        "hand-written + same response" => Some(hand_written_same_response()),
        "#[secure]" => Some(secure()),
        "#[secure] + Redis" => Some(secure_on(redis_security())),
        "assembled" => Some(assembled()),
        "assembled + same response" => Some(with_same_response(assembled())),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// No checks.

async fn unchecked(Json(input): Json<CreatePost>) -> Created {
    std::hint::black_box(input);
    created()
}

/// The body parsed into [`CreatePost`]; no token, no rules, no limit.
pub fn no_checks() -> Router {
    Router::new()
        .route("/posts", axum::routing::post(unchecked))
        .route("/limited", axum::routing::post(unchecked))
}

// ---------------------------------------------------------------------------------------
// By hand, with the same crates.

/// What the hand-written handler holds.
#[derive(Clone)]
pub struct Manual {
    key: Arc<DecodingKey>,
    validation: Arc<Validation>,
    limiter: Arc<DefaultKeyedRateLimiter<String>>,
    /// Accept this one token instead of verifying a JWT: the checks without cryptography.
    fixed: Option<&'static str>,
}

impl Manual {
    /// HS256 with [`SECRET`], and a limit of `quota` per user.
    pub fn new(quota: Quota) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp"]);
        Manual {
            key: Arc::new(DecodingKey::from_secret(SECRET)),
            validation: Arc::new(validation),
            limiter: Arc::new(RateLimiter::keyed(quota)),
            fixed: None,
        }
    }

    /// Accepts [`FIXED_TOKEN`] for [`USER`] instead of a JWT.
    pub fn without_crypto(mut self) -> Self {
        self.fixed = Some(FIXED_TOKEN);
        self
    }
}

fn refuse(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        Bytes::from_static(body.as_bytes()),
    )
        .into_response()
}

/// Authenticate, rate-limit, check the content type, parse and validate: the order
/// `#[secure]` uses, each refusal with a JSON body.
pub async fn manual(State(m): State<Manual>, headers: HeaderMap, body: Bytes) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(token) = token else {
        return refuse(StatusCode::UNAUTHORIZED, r#"{"error":"Unauthorized"}"#);
    };
    let verified = match m.fixed {
        Some(fixed) if token == fixed => Ok(fixed_claims()),
        Some(_) => Err(()),
        None => jsonwebtoken::decode::<Claims>(token, &m.key, &m.validation)
            .map(|data| data.claims)
            .map_err(drop),
    };
    let Ok(claims) = verified else {
        return refuse(StatusCode::UNAUTHORIZED, r#"{"error":"Unauthorized"}"#);
    };
    if m.limiter.check_key(&claims.sub).is_err() {
        return refuse(
            StatusCode::TOO_MANY_REQUESTS,
            r#"{"error":"Too many requests"}"#,
        );
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !json {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            r#"{"error":"Unsupported media type"}"#,
        );
    }
    let Ok(input) = serde_json::from_slice::<CreatePost>(&body) else {
        return refuse(StatusCode::BAD_REQUEST, r#"{"error":"Invalid input"}"#);
    };
    if input.validate().is_err() {
        return refuse(StatusCode::BAD_REQUEST, r#"{"error":"Invalid input"}"#);
    }
    std::hint::black_box((claims, input));
    created().into_response()
}

fn per_hour() -> Quota {
    Quota::per_hour(NonZeroU32::MIN)
}

fn unreached() -> Quota {
    Quota::per_second(NonZeroU32::new(UNREACHED).expect("non-zero"))
}

/// The checks written in the handler.
pub fn hand_written() -> Router {
    Router::new()
        .route(
            "/posts",
            axum::routing::post(manual).with_state(Manual::new(unreached())),
        )
        .route(
            "/limited",
            axum::routing::post(manual).with_state(Manual::new(per_hour())),
        )
}

/// The hand-written checks, and the response `#[secure]` gives, from tower-http's layers:
/// the security headers of DESIGN §5, a request id, panics caught.
pub fn hand_written_same_response() -> Router {
    with_same_response(hand_written())
}

/// `router` with what `#[secure]` adds to every response, from tower-http's layers: the
/// security headers of DESIGN §5, a request id, panics caught.
pub fn with_same_response(router: Router) -> Router {
    use axum::http::HeaderValue;
    use axum::http::header::{
        CACHE_CONTROL, CONTENT_SECURITY_POLICY, HeaderName, REFERRER_POLICY,
        X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
    };
    use tower_http::catch_panic::CatchPanicLayer;
    use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
    use tower_http::set_header::SetResponseHeaderLayer;

    let fixed = |value: &'static str| HeaderValue::from_static(value);
    let layers = tower::ServiceBuilder::new()
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetResponseHeaderLayer::overriding(
            X_CONTENT_TYPE_OPTIONS,
            fixed("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            CACHE_CONTROL,
            fixed("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            CONTENT_SECURITY_POLICY,
            fixed("default-src 'none'; frame-ancestors 'none'"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            X_FRAME_OPTIONS,
            fixed("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            REFERRER_POLICY,
            fixed("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("cross-origin-resource-policy"),
            fixed("same-origin"),
        ))
        .layer(CatchPanicLayer::new());
    router.layer(layers)
}

/// The hand-written checks with [`FIXED_TOKEN`] in place of a JWT.
pub fn hand_written_without_crypto() -> Router {
    Router::new().route(
        "/posts",
        axum::routing::post(manual).with_state(Manual::new(unreached()).without_crypto()),
    )
}

/// The token both variants without cryptography accept.
pub const FIXED_TOKEN: &str = "fixed-token";

fn fixed_claims() -> Claims {
    Claims {
        sub: USER.into(),
        roles: vec![],
        scope: None,
        exp: u64::MAX,
    }
}

/// Accepts [`FIXED_TOKEN`] only: `#[secure]` without the cost of cryptography.
pub struct Fixed;

impl secure_endpoint::Authenticator for Fixed {
    type Principal = Claims;

    async fn authenticate(&self, token: &str) -> Result<Claims, secure_endpoint::AuthError> {
        if token == FIXED_TOKEN {
            Ok(fixed_claims())
        } else {
            Err(secure_endpoint::AuthError::new("unknown token"))
        }
    }
}

/// The `#[secure]` routes accepting [`FIXED_TOKEN`] in place of a JWT.
pub fn secure_without_crypto() -> Router {
    secure_with(
        Security::builder()
            .authenticator(Fixed)
            .rate_limiter(Limiter::memory())
            .build()
            .expect("complete settings"),
    )
}

// ---------------------------------------------------------------------------------------
// #[secure].

#[secure(auth, validate = CreatePost, rate = "1000000000/s")]
async fn create(claims: Claims, input: CreatePost) -> Created {
    std::hint::black_box((claims, input));
    created()
}

/// The same route with two limits: a burst and a daily quota, neither reached.
#[secure(auth, validate = CreatePost, rate = ["1000000000/s", "1000000000/d"])]
async fn create_two_limits(claims: Claims, input: CreatePost) -> Created {
    std::hint::black_box((claims, input));
    created()
}

#[secure(auth, validate = CreatePost, rate = "1/h")]
async fn create_limited(claims: Claims, input: CreatePost) -> Created {
    std::hint::black_box((claims, input));
    created()
}

/// The Redis the benchmarks count in: `REDIS_URL`, default the local one.
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// The `#[secure]` variant's settings with its limits counted in Redis (`REDIS_URL`,
/// default the local one): every request one round trip, shared by those in flight on
/// the multiplexed connection.
pub fn redis_security() -> Security {
    Security::builder()
        .authenticator(JwtAuthenticator::hmac(Algorithm::HS256, SECRET).expect("a long secret"))
        .rate_limiter(Limiter::redis(&redis_url()).expect("a Redis URL"))
        .build()
        .expect("complete settings")
}

/// The security settings of the `#[secure]` variant: HS256 and in-memory limits.
pub fn security() -> Security {
    Security::builder()
        .authenticator(JwtAuthenticator::hmac(Algorithm::HS256, SECRET).expect("a long secret"))
        .rate_limiter(Limiter::memory())
        .build()
        .expect("complete settings")
}

/// The checks declared with `#[secure]`.
pub fn secure() -> Router {
    secure_with(security())
}

/// The `#[secure]` routes on the given settings (another limiter, revocations).
pub fn secure_on(security: Security) -> Router {
    secure_with(security)
}

fn secure_with(security: Security) -> Router {
    SecureRouter::new()
        .route("/posts", post(create))
        .route("/posts-two-limits", post(create_two_limits))
        .route("/limited", post(create_limited))
        .with_security(security)
        .try_into_router()
        .expect("complete settings")
}

// ---------------------------------------------------------------------------------------
// Assembled from crates.io.

/// A JSON body that must pass its `validator` rules: the extractor pattern of axum's
/// `validator` example.
pub struct ValidatedJson<T>(pub T);

impl<T, S> FromRequest<S> for ValidatedJson<T>
where
    T: serde::de::DeserializeOwned + Validate,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        let Json(value) = Json::<T>::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        value
            .validate()
            .map_err(|errors| (StatusCode::BAD_REQUEST, Json(errors)).into_response())?;
        Ok(ValidatedJson(value))
    }
}

async fn assembled_handler(
    axum_jwt::Claims(claims): axum_jwt::Claims<Claims>,
    ValidatedJson(input): ValidatedJson<CreatePost>,
) -> Created {
    std::hint::black_box((claims, input));
    created()
}

/// tower_governor (by peer address) + axum-jwt + a validating extractor.
pub fn assembled() -> Router {
    let key = axum_jwt::jsonwebtoken::DecodingKey::from_secret(SECRET);
    let decoder = axum_jwt::Decoder::from_key(key);
    let unreached = GovernorConfigBuilder::default()
        .per_nanosecond(1)
        .burst_size(UNREACHED)
        .finish()
        .expect("a valid quota");
    let limited = GovernorConfigBuilder::default()
        .per_second(3600)
        .burst_size(1)
        .finish()
        .expect("a valid quota");
    Router::new()
        .route(
            "/posts",
            axum::routing::post(assembled_handler).layer(GovernorLayer::new(unreached)),
        )
        .route(
            "/limited",
            axum::routing::post(assembled_handler).layer(GovernorLayer::new(limited)),
        )
        .with_state(decoder)
}

/// Serves `app` on `listener` with the peer address available, as every variant needs it
/// (tower_governor keys on it).
pub async fn serve(listener: tokio::net::TcpListener, app: Router) -> std::io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}
