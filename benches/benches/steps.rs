//! Criterion benchmarks: each step of the pipeline alone beside the same step done directly
//! with the crate underneath, then one whole request in process.
//!
//! `cargo bench -p secure-endpoint-benches --bench steps`

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::IntoResponse;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use governor::{Quota, RateLimiter};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secure_endpoint::__bench::{
    MemoryLimit, MemoryRevocations, guarded_json, parse_json, token_facts,
};
use secure_endpoint::testing::TokenMint;
use secure_endpoint::{Authenticator, Claims, JwtAuthenticator, Key, OwnerId};
use secure_endpoint_benches::{self as fixtures, CreatePost, SECRET, USER, accounts};
use tower::ServiceExt;
use validator::Validate;

fn key_file(name: &str) -> Vec<u8> {
    let path = format!("{}/../tests/keys/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Polls a future that completes without waiting (a verifier with static keys).
fn now<F: std::future::Future>(future: F) -> F::Output {
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match std::pin::pin!(future).poll(&mut context) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("the verifier waited"),
    }
}

/// Token verification per algorithm family: ours, then jsonwebtoken's `decode` alone.
fn verification(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify");
    let families: [(&str, Algorithm, TokenMint, Key, DecodingKey); 4] = [
        (
            "HS256",
            Algorithm::HS256,
            TokenMint::hmac(Algorithm::HS256, SECRET),
            Key::hmac(SECRET).expect("a long secret"),
            DecodingKey::from_secret(SECRET),
        ),
        (
            "RS256",
            Algorithm::RS256,
            TokenMint::rsa_pem(Algorithm::RS256, &key_file("rsa_a.pem")).expect("a key"),
            Key::rsa_pem(&key_file("rsa_a.pub.pem")).expect("a key"),
            DecodingKey::from_rsa_pem(&key_file("rsa_a.pub.pem")).expect("a key"),
        ),
        (
            "ES256",
            Algorithm::ES256,
            TokenMint::ec_pem(Algorithm::ES256, &key_file("ec256_a.pem")).expect("a key"),
            Key::ec_pem(&key_file("ec256_a.pub.pem")).expect("a key"),
            DecodingKey::from_ec_pem(&key_file("ec256_a.pub.pem")).expect("a key"),
        ),
        (
            "EdDSA",
            Algorithm::EdDSA,
            TokenMint::ed_pem(&key_file("ed_a.pem")).expect("a key"),
            Key::ed_pem(&key_file("ed_a.pub.pem")).expect("a key"),
            DecodingKey::from_ed_pem(&key_file("ed_a.pub.pem")).expect("a key"),
        ),
    ];
    for (name, algorithm, mint, key, decoding) in families {
        let token = mint.token(USER, &["editor"]);
        let ours = JwtAuthenticator::new(&[algorithm], key).expect("a verifier");
        let mut validation = Validation::new(algorithm);
        validation.set_required_spec_claims(&["exp"]);
        now(ours.authenticate(&token)).expect("valid");
        jsonwebtoken::decode::<Claims>(&token, &decoding, &validation).expect("valid");
        group.bench_function(format!("{name}, secure-endpoint"), |b| {
            b.iter(|| now(ours.authenticate(black_box(&token))).expect("valid"))
        });
        group.bench_function(format!("{name}, jsonwebtoken::decode"), |b| {
            b.iter(|| {
                jsonwebtoken::decode::<Claims>(black_box(&token), &decoding, &validation)
                    .expect("valid")
            })
        });
    }
    // The assembled stack's extractor verifies with jsonwebtoken 9 on ring.
    let token = fixtures::token();
    let ring_key = axum_jwt::jsonwebtoken::DecodingKey::from_secret(SECRET);
    let ring_validation = axum_jwt::jsonwebtoken::Validation::default();
    group.bench_function("HS256, jsonwebtoken 9 on ring (axum-jwt)", |b| {
        b.iter(|| {
            axum_jwt::jsonwebtoken::decode::<Claims>(black_box(&token), &ring_key, &ring_validation)
                .expect("valid")
        })
    });
    group.finish();
}

/// One rate check: a hot key, and 100,000 distinct client addresses in turn.
fn rate(c: &mut Criterion) {
    let mut group = c.benchmark_group("rate check");
    let unreached = Quota::per_second(NonZeroU32::new(1_000_000_000).expect("non-zero"));

    let ours = MemoryLimit::new("1000000000/s", 1_000_000);
    let theirs = RateLimiter::keyed(unreached);
    group.bench_function("hot user key, secure-endpoint", |b| {
        b.iter(|| assert!(ours.check_user(black_box(USER))))
    });
    group.bench_function("hot user key, governor keyed", |b| {
        b.iter(|| assert!(theirs.check_key(&black_box(USER).to_owned()).is_ok()))
    });

    const COLD: u32 = 100_000;
    let address = |n: u32| IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n));
    let ours = MemoryLimit::new("1000000000/s", 1_000_000);
    let theirs = RateLimiter::keyed(unreached);
    let mut n = 0;
    group.bench_function("100,000 cold addresses, secure-endpoint", |b| {
        b.iter(|| {
            n = (n + 1) % COLD;
            assert!(ours.check_ip(address(n)))
        })
    });
    let mut n = 0;
    group.bench_function("100,000 cold addresses, governor keyed", |b| {
        b.iter(|| {
            n = (n + 1) % COLD;
            assert!(theirs.check_key(&address(n)).is_ok())
        })
    });
    group.finish();
}

/// The body parsed and validated: strict (unknown fields refused, paths reported) against
/// serde_json then validator.
fn body(c: &mut Criterion) {
    let mut group = c.benchmark_group("body");
    let valid = fixtures::body();
    let invalid = fixtures::invalid_body();
    parse_json::<CreatePost>(valid.as_bytes()).expect("valid");
    group.bench_function("parse + validate, secure-endpoint", |b| {
        b.iter(|| parse_json::<CreatePost>(black_box(valid.as_bytes())).expect("valid"))
    });
    group.bench_function("parse + validate, serde_json + validator", |b| {
        b.iter(|| {
            let input: CreatePost =
                serde_json::from_slice(black_box(valid.as_bytes())).expect("valid");
            input.validate().expect("valid");
            input
        })
    });
    group.bench_function("refused by a rule, secure-endpoint", |b| {
        b.iter(|| parse_json::<CreatePost>(black_box(invalid.as_bytes())).expect_err("invalid"))
    });
    group.bench_function("refused by a rule, serde_json + validator", |b| {
        b.iter(|| {
            let input: CreatePost =
                serde_json::from_slice(black_box(invalid.as_bytes())).expect("well-formed");
            input.validate().expect_err("invalid")
        })
    });
    group.finish();
}

/// The owner field against the principal's id.
fn ownership(c: &mut Criterion) {
    let mut group = c.benchmark_group("owner");
    let owner: i64 = 42;
    group.bench_function("i64 owner, secure-endpoint OwnerId", |b| {
        b.iter(|| assert!(black_box(owner).is_owned_by(black_box(USER))))
    });
    group.bench_function("i64 owner, parse and compare by hand", |b| {
        b.iter(|| assert!(black_box(USER).parse::<i64>() == Ok(black_box(owner))))
    });
    let owner = String::from(USER);
    group.bench_function("string owner, secure-endpoint OwnerId", |b| {
        b.iter(|| assert!(black_box(&owner).is_owned_by(black_box(USER))))
    });
    group.finish();
}

/// Step 1c with revocations in memory: the facts read from the verified token, then the
/// check, on an empty store and on one holding 10,000 revoked tokens and 10,000
/// principals logged out everywhere.
fn revocation(c: &mut Criterion) {
    let mut group = c.benchmark_group("revocation in memory");
    let token = fixtures::token();
    let facts = token_facts(&token).expect("the fixture token is a JWT");
    group.bench_function("token facts read from the token", |b| {
        b.iter(|| token_facts(black_box(&token)));
    });
    let empty = MemoryRevocations::holding(0);
    group.bench_function("check, nothing revoked", |b| {
        b.iter(|| empty.is_revoked(black_box(USER), black_box(&facts)));
    });
    let full = MemoryRevocations::holding(10_000);
    assert!(!full.is_revoked(USER, &facts));
    group.bench_function("check, 10,000 tokens and 10,000 principals revoked", |b| {
        b.iter(|| full.is_revoked(black_box(USER), black_box(&facts)));
    });
    group.finish();
}

/// A page of 20 accounts answered as JSON: axum's `Json` beside the same values guarded,
/// for an anonymous caller and for the owner of one of them.
fn guarded(c: &mut Criterion) {
    let plain = accounts::plain_page();
    let guarded = accounts::guarded_page();
    let flattened = accounts::flattened_page();
    let owner = accounts::owner();
    let mut group = c.benchmark_group("answer of 20 accounts");
    group.bench_function("axum Json, no guards", |b| {
        b.iter_batched(
            || plain.clone(),
            |page| axum::Json(page).into_response(),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("Guarded, anonymous caller", |b| {
        b.iter_batched(
            || guarded.clone(),
            |page| guarded_json(page, None),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("Guarded, the owner of one", |b| {
        b.iter_batched(
            || guarded.clone(),
            |page| guarded_json(page, Some(&owner)),
            BatchSize::SmallInput,
        );
    });
    let admin = accounts::admin();
    group.bench_function("Guarded, an admin (every field shown)", |b| {
        b.iter_batched(
            || guarded.clone(),
            |page| guarded_json(page, Some(&admin)),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("Guarded with a flattened field, the owner of one", |b| {
        b.iter_batched(
            || flattened.clone(),
            |page| guarded_json(page, Some(&owner)),
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

fn request(token: &str, body: &str) -> Request<Body> {
    Request::post("/posts")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .expect("a request")
}

/// One whole `POST /posts` in process (no sockets), with and without cryptography.
fn pipeline(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let body = fixtures::body();
    let token = fixtures::token();
    let variants: [(&str, Router, &str); 6] = [
        ("no checks", fixtures::no_checks(), token.as_str()),
        (
            "hand-written, no crypto",
            fixtures::hand_written_without_crypto(),
            fixtures::FIXED_TOKEN,
        ),
        (
            "#[secure], no crypto",
            fixtures::secure_without_crypto(),
            fixtures::FIXED_TOKEN,
        ),
        ("hand-written, HS256", fixtures::hand_written(), &token),
        ("#[secure], HS256", fixtures::secure(), &token),
        ("assembled, HS256", fixtures::assembled(), &token),
    ];
    let mut group = c.benchmark_group("POST /posts in process");
    for (name, router, token) in variants {
        // tower_governor keys on the peer address, as served with connect info.
        let router = router.layer(axum::Extension(axum::extract::ConnectInfo(
            std::net::SocketAddr::from(([127, 0, 0, 1], 4000)),
        )));
        // Each variant must succeed, or it measures a refusal.
        let status = runtime
            .block_on(router.clone().oneshot(request(token, &body)))
            .expect("infallible")
            .status();
        assert_eq!(status, StatusCode::CREATED, "{name}");
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter_batched(
                || request(token, &body),
                |request| {
                    let router = router.clone();
                    async move { router.oneshot(request).await.expect("infallible").status() }
                },
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

/// One whole request with one limit and with two (a burst and a daily quota), without
/// cryptography so that the limits are a visible part of it.
fn limits(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let body = fixtures::body();
    let router = fixtures::secure_without_crypto();
    let mut group = c.benchmark_group("limits per request");
    for (name, path) in [("one limit", "/posts"), ("two limits", "/posts-two-limits")] {
        let request = || {
            Request::post(path)
                .header("authorization", format!("Bearer {}", fixtures::FIXED_TOKEN))
                .header("content-type", "application/json")
                .body(Body::from(body.clone()))
                .expect("a request")
        };
        let status = runtime
            .block_on(router.clone().oneshot(request()))
            .expect("infallible")
            .status();
        assert_eq!(status, StatusCode::CREATED, "{name}");
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter_batched(
                request,
                |request| {
                    let router = router.clone();
                    async move { router.oneshot(request).await.expect("infallible").status() }
                },
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

/// What Redis adds to one request on loopback: the limit in Redis, and the limit with
/// the token's revocation in the same script (one `EVALSHA` each, as the tests count),
/// beside the same request with both in memory. Skipped, saying so, when no Redis
/// answers at `REDIS_URL` (default `redis://127.0.0.1:6379`).
fn redis(c: &mut Criterion) {
    use secure_endpoint::{Limiter, Revocations, Security};
    let url = fixtures::redis_url();
    let address = url
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_owned();
    if std::net::TcpStream::connect(&address).is_err() {
        eprintln!("redis: no Redis answers at {url}; the group is skipped");
        return;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let settings = |limiter: Limiter, revocations: Option<Revocations>| {
        let mut builder = Security::builder()
            .authenticator(JwtAuthenticator::hmac(Algorithm::HS256, SECRET).expect("a long secret"))
            .rate_limiter(limiter);
        if let Some(revocations) = revocations {
            builder = builder.revocation(revocations);
        }
        builder.build().expect("complete settings")
    };
    let prefix = format!("bench{}", std::process::id());
    let on_redis = || {
        Limiter::redis(&url)
            .expect("a Redis URL")
            .prefix(&prefix)
            .expect("a prefix")
    };
    let variants = [
        (
            "limit and revocation in memory",
            settings(Limiter::memory(), Some(Revocations::memory())),
        ),
        ("limit in Redis", settings(on_redis(), None)),
        (
            "limit and revocation in Redis, one script",
            settings(
                on_redis(),
                Some(Revocations::redis(&url).expect("a Redis URL")),
            ),
        ),
    ];
    let body = fixtures::body();
    let token = fixtures::token();
    let mut group = c.benchmark_group("Redis on loopback");
    for (name, security) in variants {
        let router = fixtures::secure_on(security);
        let status = runtime
            .block_on(router.clone().oneshot(request(&token, &body)))
            .expect("infallible")
            .status();
        assert_eq!(status, StatusCode::CREATED, "{name}");
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter_batched(
                || request(&token, &body),
                |request| {
                    let router = router.clone();
                    async move { router.oneshot(request).await.expect("infallible").status() }
                },
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

/// A `can` decision on the embedded Cedar engine with the blog's policies: the first
/// question for a principal (the policies partially evaluated for it, then decided from
/// what remains) and every later one (decided from what remains).
fn permission(c: &mut Criterion) {
    use secure_endpoint::{Entity, Object, PermissionEngine, Question, Subject};

    let mut group = c.benchmark_group("permission");
    let cedar = fixtures::permissions::cedar();
    let post = fixtures::permissions::post();
    let question = |id: &'static str| Question {
        route: "PUT /posts/{id}",
        subject: Subject {
            id,
            roles: vec!["user"],
            tenant: None,
        },
        action: "edit",
        object: Some(Object {
            kind: fixtures::permissions::Post::TYPE,
            id: post.entity_id(),
            attributes: post.attributes(),
        }),
    };
    let known = question(USER);
    assert!(now(cedar.decide(&known)).expect("a decision").allowed);
    group.bench_function("a later question, Cedar", |b| {
        b.iter(|| now(cedar.decide(black_box(&known))))
    });
    group.bench_function("the first question for a principal, Cedar", |b| {
        b.iter_batched(
            || (fixtures::permissions::cedar(), question(USER)),
            |(fresh, first)| {
                let allowed = now(fresh.decide(&first)).map(|decision| decision.allowed);
                // The engine and the question are dropped outside the measurement.
                (fresh, first, allowed)
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(
    benches,
    permission,
    redis,
    limits,
    verification,
    rate,
    body,
    ownership,
    guarded,
    revocation,
    pipeline
);
criterion_main!(benches);
