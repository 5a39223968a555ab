//! In-process benchmarks of one request through the pipeline, side by side with the same
//! checks written by hand with the same crates, and of the steps alone.
//!
//! `cargo bench -p secure-endpoint --bench pipeline`

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use criterion::{Criterion, criterion_group, criterion_main};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secure_endpoint::routing::post;
use secure_endpoint::testing::TokenMint;
use secure_endpoint::{
    AuthError, Authenticator, Claims, JwtAuthenticator, Limiter, SecureRouter, Security, secure,
};
use serde::Deserialize;
use tower::ServiceExt;
use validator::Validate;

const SECRET: &[u8] = b"benchmark-secret-that-is-32-bytes-or-more";

#[derive(Deserialize, Validate)]
struct CreatePost {
    #[validate(length(min = 1, max = 200))]
    title: String,
    #[validate(length(min = 1, max = 50000))]
    content: String,
    #[serde(default)]
    #[validate(length(max = 10))]
    tags: Vec<String>,
}

#[secure(auth, validate = CreatePost, rate = "1000000000/s")]
async fn create(claims: Claims, input: CreatePost) -> StatusCode {
    std::hint::black_box((claims.sub, input.title, input.content, input.tags));
    StatusCode::CREATED
}

/// The same checks by hand, with the same crates.
#[derive(Clone)]
struct Manual {
    key: Arc<DecodingKey>,
    validation: Arc<Validation>,
    limiter: Arc<DefaultKeyedRateLimiter<String>>,
    verify: bool,
}

async fn manual(State(m): State<Manual>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(token) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let claims: Claims = if m.verify {
        match jsonwebtoken::decode::<Claims>(token, &m.key, &m.validation) {
            Ok(data) => data.claims,
            Err(_) => return StatusCode::UNAUTHORIZED.into_response(),
        }
    } else if token == "fixed-token" {
        fixed_claims()
    } else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    if m.limiter.check_key(&claims.sub).is_err() {
        return StatusCode::TOO_MANY_REQUESTS.into_response();
    }
    if headers.get("content-type").and_then(|v| v.to_str().ok()) != Some("application/json") {
        return StatusCode::UNSUPPORTED_MEDIA_TYPE.into_response();
    }
    let Ok(input) = serde_json::from_slice::<CreatePost>(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    if input.validate().is_err() {
        return StatusCode::BAD_REQUEST.into_response();
    }
    std::hint::black_box((claims.sub, input.title, input.content, input.tags));
    StatusCode::CREATED.into_response()
}

async fn nothing(body: Bytes) -> StatusCode {
    std::hint::black_box(body);
    StatusCode::CREATED
}

/// Accepts one fixed token: the pipeline without the cost of cryptography.
struct Fixed;

fn fixed_claims() -> Claims {
    Claims {
        sub: "42".into(),
        roles: vec![],
        scope: None,
        exp: u64::MAX,
    }
}

impl Authenticator for Fixed {
    type Principal = Claims;

    async fn authenticate(&self, token: &str) -> Result<Claims, AuthError> {
        if token == "fixed-token" {
            Ok(fixed_claims())
        } else {
            Err(AuthError::new("unknown token"))
        }
    }
}

fn body() -> String {
    // About 200 bytes, as a post would be.
    serde_json::json!({
        "title": "Benchmarks that mean something",
        "content": "A body of about two hundred bytes, parsed and validated on every request, the way a real create call would send it to the API.",
        "tags": ["rust", "axum"]
    })
    .to_string()
}

fn request(token: &str, body: &str) -> Request<Body> {
    Request::post("/posts")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .expect("a request")
}

fn secure_router(security: Security) -> Router {
    SecureRouter::new()
        .route("/posts", post(create))
        .with_security(security)
        .with_mock_connect_info(SocketAddr::from(([127, 0, 0, 1], 1)))
        .try_into_router()
        .expect("complete settings")
}

fn manual_router(verify: bool) -> Router {
    let quota = Quota::per_second(NonZeroU32::new(1_000_000_000).expect("non-zero"));
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_required_spec_claims(&["exp"]);
    Router::new()
        .route("/posts", axum::routing::post(manual))
        .with_state(Manual {
            key: Arc::new(DecodingKey::from_secret(SECRET)),
            validation: Arc::new(validation),
            limiter: Arc::new(RateLimiter::keyed(quota)),
            verify,
        })
}

fn pipeline(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let body = body();
    let token = TokenMint::hmac(Algorithm::HS256, SECRET).token("42", &[]);
    let jwt = JwtAuthenticator::hmac(Algorithm::HS256, SECRET).expect("a long secret");
    let with_crypto = Security::builder()
        .authenticator(jwt)
        .rate_limiter(Limiter::memory())
        .build()
        .expect("settings");
    let without_crypto = Security::builder()
        .authenticator(Fixed)
        .rate_limiter(Limiter::memory())
        .build()
        .expect("settings");

    let variants: [(&str, Router, &str); 5] = [
        (
            "no checks",
            Router::new().route("/posts", axum::routing::post(nothing)),
            token.as_str(),
        ),
        ("hand-written, HS256", manual_router(true), token.as_str()),
        (
            "#[secure], HS256",
            secure_router(with_crypto),
            token.as_str(),
        ),
        (
            "hand-written, no crypto",
            manual_router(false),
            "fixed-token",
        ),
        (
            "#[secure], no crypto",
            secure_router(without_crypto),
            "fixed-token",
        ),
    ];
    let mut group = c.benchmark_group("POST /posts in process");
    for (name, router, token) in variants {
        // Each variant must succeed, or it measures a refusal.
        let status = runtime
            .block_on(router.clone().oneshot(request(token, &body)))
            .expect("infallible")
            .status();
        assert_eq!(status, StatusCode::CREATED, "{name}");
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| {
                let router = router.clone();
                let request = request(token, &body);
                async move { router.oneshot(request).await.expect("infallible").status() }
            });
        });
    }
    group.finish();
}

fn token_verification(c: &mut Criterion) {
    let jwt = JwtAuthenticator::hmac(Algorithm::HS256, SECRET).expect("a long secret");
    let token = TokenMint::hmac(Algorithm::HS256, SECRET).token("42", &["admin"]);
    c.bench_function("verify HS256", |b| {
        b.iter(|| futures_now(jwt.authenticate(&token)).expect("valid"))
    });
}

/// Polls a future that completes without waiting (the JWT verifier with static keys).
fn futures_now<F: std::future::Future>(future: F) -> F::Output {
    let waker = std::task::Waker::noop();
    let mut context = std::task::Context::from_waker(waker);
    let mut future = std::pin::pin!(future);
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("the verifier waited"),
    }
}

criterion_group!(benches, pipeline, token_verification);
criterion_main!(benches);
