//! Rate limits over HTTP, in memory and in Redis: exact counts, the 429, honest client
//! addresses, per-principal keys, failed authentications, and a Redis outage.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use jsonwebtoken::Algorithm;
use reqwest::StatusCode;
use secure_endpoint::routing::get;
use secure_endpoint::testing::TokenMint;
use secure_endpoint::{
    Claims, JwtAuthenticator, Limiter, SecureRouter, Security, SetupError, public, secure,
};
use secure_endpoint_tests::{OwnRedis, SECRET, assert_security_headers};

#[public(rate = "5/1s")]
async fn open() -> &'static str {
    "open"
}

/// Slow limits, for exact counts that a loaded machine cannot blur with refills.
#[public(rate = "5/60s")]
async fn per_minute() -> &'static str {
    "per minute"
}

#[public(rate = "5/5s")]
async fn per_five_seconds() -> &'static str {
    "per five seconds"
}

#[secure(auth, rate = "3/1s")]
async fn mine(claims: Claims) -> String {
    claims.sub
}

/// A path prefix no other test (or earlier run) uses, so Redis keys never collide.
fn unique_prefix() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "/t{}-{}-{}",
        std::process::id(),
        secure_endpoint::testing::now(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

struct Server {
    base: String,
}

async fn start_at(prefix: &str, limiter: Limiter, proxies: &[&str]) -> Server {
    let jwt = JwtAuthenticator::hmac(Algorithm::HS256, SECRET).unwrap();
    let security = Security::builder()
        .authenticator(jwt)
        .rate_limiter(limiter)
        .trusted_proxies(proxies)
        .failed_auth_limit("3/m")
        .build()
        .unwrap();
    let routes = SecureRouter::new()
        .route("/open", get(open))
        .route("/minute", get(per_minute))
        .route("/five", get(per_five_seconds))
        .route("/mine", get(mine));
    let router: SecureRouter = SecureRouter::new()
        .nest(prefix, routes)
        .with_security(security);
    let base = secure_endpoint_tests::serve(router).await;
    Server {
        base: format!("{base}{prefix}"),
    }
}

async fn start(limiter: Limiter) -> Server {
    start_at(&unique_prefix(), limiter, &[]).await
}

fn backends() -> Vec<(&'static str, Limiter)> {
    vec![
        ("memory", Limiter::memory()),
        (
            "redis",
            Limiter::redis(&secure_endpoint_tests::redis_url()).unwrap(),
        ),
    ]
}

async fn call(url: &str, headers: &[(&str, &str)], token: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("request sent")
}

async fn status(url: &str, headers: &[(&str, &str)], token: Option<&str>) -> StatusCode {
    call(url, headers, token).await.status()
}

fn token(sub: &str) -> String {
    TokenMint::hmac(Algorithm::HS256, SECRET).token(sub, &[])
}

#[tokio::test]
async fn concurrent_requests_get_exactly_the_limit() {
    for (backend, limiter) in backends() {
        let server = start(limiter).await;
        let url = format!("{}/minute", server.base);
        let requests = (0..25).map(|_| {
            let url = url.clone();
            tokio::spawn(async move { call(&url, &[], None).await })
        });
        let mut admitted = 0;
        for request in requests {
            let response = request.await.unwrap();
            match response.status() {
                StatusCode::OK => admitted += 1,
                StatusCode::TOO_MANY_REQUESTS => {
                    assert_security_headers(&response);
                    let headers = response.headers().clone();
                    // One request per 12 s sustained: the next is at most 12 s away.
                    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
                    assert!((1..=12).contains(&retry), "{backend}: Retry-After {retry}");
                    assert_eq!(
                        headers["ratelimit-policy"], r#""5/m-ip";q=5;w=60"#,
                        "{backend}"
                    );
                    assert_eq!(
                        headers["ratelimit"],
                        format!(r#""5/m-ip";r=0;t={retry}"#).as_str(),
                        "{backend}"
                    );
                    assert_eq!(
                        response.text().await.unwrap(),
                        r#"{"error":"Too many requests"}"#
                    );
                }
                other => panic!("{backend}: unexpected {other}"),
            }
        }
        assert_eq!(admitted, 5, "{backend}");
    }
}

#[tokio::test]
async fn one_more_is_admitted_after_retry_after() {
    for (backend, limiter) in backends() {
        let server = start(limiter).await;
        let url = format!("{}/open", server.base);
        for _ in 0..5 {
            assert_eq!(status(&url, &[], None).await, StatusCode::OK, "{backend}");
        }
        let refused = call(&url, &[], None).await;
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS, "{backend}");
        let wait: u64 = refused.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        tokio::time::sleep(Duration::from_secs(wait)).await;
        assert_eq!(
            status(&url, &[], None).await,
            StatusCode::OK,
            "{backend}: after Retry-After"
        );
    }
}

#[tokio::test]
async fn memory_and_redis_decide_alike() {
    let memory = start(Limiter::memory()).await;
    let redis = start(Limiter::redis(&secure_endpoint_tests::redis_url()).unwrap()).await;
    let mut decisions: [Vec<bool>; 2] = [Vec::new(), Vec::new()];
    // "5/5s": a burst of 7, a pause worth two emission intervals (1 s each) and a
    // fifth, then 3 more. The margins are whole seconds, so a loaded machine agrees.
    for phase in [7, 3] {
        for _ in 0..phase {
            for (i, server) in [&memory, &redis].into_iter().enumerate() {
                let ok =
                    status(&format!("{}/five", server.base), &[], None).await == StatusCode::OK;
                decisions[i].push(ok);
            }
        }
        tokio::time::sleep(Duration::from_millis(2_200)).await;
    }
    let expected = [
        true, true, true, true, true, false, false, true, true, false,
    ];
    assert_eq!(decisions[0], expected, "memory");
    assert_eq!(decisions[1], expected, "redis");
}

#[tokio::test]
async fn a_handler_on_two_paths_has_a_limit_per_path() {
    let security = Security::builder()
        .rate_limiter(Limiter::memory())
        .build()
        .unwrap();
    let router: SecureRouter = SecureRouter::new()
        .route("/a", get(open))
        .route("/b", get(open))
        .with_security(security);
    let base = secure_endpoint_tests::serve(router).await;
    for path in ["/a", "/b"] {
        let mut admitted = 0;
        for _ in 0..7 {
            if status(&format!("{base}{path}"), &[], None).await == StatusCode::OK {
                admitted += 1;
            }
        }
        assert_eq!(admitted, 5, "{path}");
    }
}

#[tokio::test]
async fn two_servers_sharing_redis_enforce_one_limit() {
    let prefix = unique_prefix();
    let a = start_at(
        &prefix,
        Limiter::redis(&secure_endpoint_tests::redis_url()).unwrap(),
        &[],
    )
    .await;
    let b = start_at(
        &prefix,
        Limiter::redis(&secure_endpoint_tests::redis_url()).unwrap(),
        &[],
    )
    .await;
    let mut admitted = 0;
    for i in 0..12 {
        let server = if i % 2 == 0 { &a } else { &b };
        if status(&format!("{}/minute", server.base), &[], None).await == StatusCode::OK {
            admitted += 1;
        }
    }
    assert_eq!(admitted, 5);
}

#[tokio::test]
async fn a_forged_forwarded_for_does_not_evade_the_limit() {
    let server = start(Limiter::memory()).await;
    let url = format!("{}/open", server.base);
    let mut admitted = 0;
    for i in 0..12 {
        let forged = format!("203.0.113.{i}");
        let forwarded = format!("for={forged}");
        let headers = [
            ("x-forwarded-for", forged.as_str()),
            ("forwarded", forwarded.as_str()),
        ];
        if status(&url, &headers, None).await == StatusCode::OK {
            admitted += 1;
        }
    }
    assert_eq!(
        admitted, 5,
        "without a trusted proxy the headers are ignored"
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_rightmost_untrusted_hop_is_the_key() {
    let server = start_at(
        &unique_prefix(),
        Limiter::memory(),
        &["127.0.0.1", "10.0.0.0/8"],
    )
    .await;
    let url = format!("{}/open", server.base);
    // The client may write anything on the left; the hop our proxies saw is the key.
    for i in 0..5 {
        let chain = format!("198.51.100.{i}, 192.0.2.7, 10.1.2.3");
        assert_eq!(
            status(&url, &[("x-forwarded-for", &chain)], None).await,
            StatusCode::OK
        );
    }
    let chain = "6.6.6.6, 192.0.2.7, 10.1.2.3";
    assert_eq!(
        status(&url, &[("x-forwarded-for", chain)], None).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // A Forwarded header from the client is not read when the proxies write
    // X-Forwarded-For: it cannot pick a fresh bucket.
    let spoofed = "for=203.0.113.99";
    assert_eq!(
        status(
            &url,
            &[("forwarded", spoofed), ("x-forwarded-for", chain)],
            None
        )
        .await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another client behind the same proxies has its own bucket.
    assert_eq!(
        status(&url, &[("x-forwarded-for", "192.0.2.8, 10.1.2.3")], None).await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn proxies_that_write_forwarded_are_read_from_forwarded_only() {
    let jwt = JwtAuthenticator::hmac(Algorithm::HS256, SECRET).unwrap();
    let security = Security::builder()
        .authenticator(jwt)
        .rate_limiter(Limiter::memory())
        .trusted_proxies(["127.0.0.1"])
        .forwarded_header(secure_endpoint::ForwardedHeader::Forwarded)
        .build()
        .unwrap();
    let router: SecureRouter = SecureRouter::new()
        .route("/open", get(open))
        .with_security(security);
    let url = format!("{}/open", secure_endpoint_tests::serve(router).await);
    for i in 0..5 {
        let spoofed_xff = format!("198.51.100.{i}");
        let headers = [
            ("forwarded", r#"for="[2001:db8::1]:4711""#),
            ("x-forwarded-for", spoofed_xff.as_str()),
        ];
        assert_eq!(status(&url, &headers, None).await, StatusCode::OK);
    }
    let headers = [
        ("forwarded", "for=2001:db8::2"),
        ("x-forwarded-for", "198.51.100.77"),
    ];
    assert_eq!(
        status(&url, &headers, None).await,
        StatusCode::TOO_MANY_REQUESTS,
        "same /64"
    );
}

#[tokio::test]
async fn an_unreadable_forwarded_for_line_stops_the_walk() {
    let server = start_at(&unique_prefix(), Limiter::memory(), &["127.0.0.1"]).await;
    let url = format!("{}/minute", server.base);
    let mut admitted = 0;
    for i in 0..8 {
        // The client's own line, then one that is not text: the proxy's appended hop is
        // in the unreadable line, so nothing left of it can be believed.
        let chosen = format!("6.6.6.{i}");
        let response = reqwest::Client::new()
            .get(&url)
            .header("x-forwarded-for", chosen.as_str())
            .header(
                "x-forwarded-for",
                reqwest::header::HeaderValue::from_bytes(b"\x80, 192.0.2.9").unwrap(),
            )
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::OK {
            admitted += 1;
        }
    }
    assert_eq!(
        admitted, 5,
        "rotating the client's own line does not evade the limit"
    );
}

#[tokio::test]
async fn ipv6_addresses_in_one_64_share_a_bucket() {
    let server = start_at(&unique_prefix(), Limiter::memory(), &["127.0.0.1"]).await;
    let url = format!("{}/open", server.base);
    for i in 0..5 {
        let address = format!("2001:db8:aa:bb::{:x}", i + 1);
        assert_eq!(
            status(&url, &[("x-forwarded-for", &address)], None).await,
            StatusCode::OK
        );
    }
    let same_64 = "2001:db8:aa:bb:ffff::99";
    assert_eq!(
        status(&url, &[("x-forwarded-for", same_64)], None).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    let next_64 = "2001:db8:aa:bc::1";
    assert_eq!(
        status(&url, &[("x-forwarded-for", next_64)], None).await,
        StatusCode::OK
    );
    // An IPv4-mapped address counts as its IPv4 address.
    for _ in 0..5 {
        status(&url, &[("x-forwarded-for", "192.0.2.200")], None).await;
    }
    assert_eq!(
        status(&url, &[("x-forwarded-for", "::ffff:192.0.2.200")], None).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn one_user_exhausting_a_limit_does_not_affect_another_on_the_same_address() {
    for (backend, limiter) in backends() {
        let server = start(limiter).await;
        let url = format!("{}/mine", server.base);
        let alice = token("alice");
        for _ in 0..3 {
            assert_eq!(
                status(&url, &[], Some(&alice)).await,
                StatusCode::OK,
                "{backend}"
            );
        }
        assert_eq!(
            status(&url, &[], Some(&alice)).await,
            StatusCode::TOO_MANY_REQUESTS,
            "{backend}"
        );
        let bob = token("bob");
        assert_eq!(
            status(&url, &[], Some(&bob)).await,
            StatusCode::OK,
            "{backend}"
        );
    }
}

#[tokio::test]
async fn forged_tokens_do_not_spend_the_victims_quota() {
    let server = start(Limiter::memory()).await;
    let url = format!("{}/mine", server.base);
    let forged = TokenMint::hmac(
        Algorithm::HS256,
        b"not-the-server-secret-but-32-bytes-long!",
    )
    .token("victim", &[]);
    for _ in 0..2 {
        assert_eq!(
            status(&url, &[], Some(&forged)).await,
            StatusCode::UNAUTHORIZED
        );
    }
    let victim = token("victim");
    for _ in 0..3 {
        assert_eq!(status(&url, &[], Some(&victim)).await, StatusCode::OK);
    }
}

#[tokio::test]
async fn failed_authentications_hit_429() {
    let server = start(Limiter::memory()).await;
    let url = format!("{}/mine", server.base);
    for _ in 0..3 {
        assert_eq!(
            status(&url, &[], Some("junk-token")).await,
            StatusCode::UNAUTHORIZED
        );
    }
    let response = call(&url, &[], Some("junk-token")).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        response.headers()["ratelimit-policy"],
        r#""failed-auth";q=3;w=60"#
    );
    // A valid credential from the same address is still served.
    assert_eq!(
        status(&url, &[], Some(&token("alice"))).await,
        StatusCode::OK
    );
}

#[test]
fn missing_limit_settings_are_setup_errors_naming_the_route() {
    let router: SecureRouter = SecureRouter::new().route("/open", get(open));
    let error = router.try_into_router().unwrap_err();
    assert!(
        matches!(&error, SetupError::Missing { route, .. } if route == "GET /open"),
        "{error}"
    );
    assert!(error.to_string().contains("rate_limiter"), "{error}");

    let security = Security::builder()
        .rate_limiter(Limiter::memory())
        .build()
        .unwrap();
    let router: SecureRouter = SecureRouter::new()
        .route("/open", get(open))
        .with_security(security);
    let error = router.try_into_router().unwrap_err();
    assert!(
        error
            .to_string()
            .contains("into_make_service_with_connect_info"),
        "{error}"
    );

    let security = Security::builder()
        .failed_auth_limit("20/fortnight")
        .build()
        .unwrap_err();
    assert!(
        security.to_string().contains("failed_auth_limit"),
        "{security}"
    );
    let security = Security::builder()
        .trusted_proxies(["10.0.0.0/40"])
        .build()
        .unwrap_err();
    assert!(
        security.to_string().contains("trusted_proxies"),
        "{security}"
    );
}

#[tokio::test]
async fn a_mock_connect_info_serves_in_process() {
    use tower::ServiceExt;
    let security = Security::builder()
        .rate_limiter(Limiter::memory())
        .build()
        .unwrap();
    let router = SecureRouter::new()
        .route("/open", get(open))
        .with_security(security)
        .with_mock_connect_info(SocketAddr::from(([192, 0, 2, 1], 1234)))
        .try_into_router()
        .unwrap();
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let request = axum::http::Request::get("/open")
            .body(axum::body::Body::empty())
            .unwrap();
        statuses.push(
            router
                .clone()
                .oneshot(request)
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429]);
}

#[tokio::test]
async fn one_round_trip_per_check_a_ttl_on_every_key_and_refusals_answered_locally() {
    let own = OwnRedis::start(OwnRedis::free_port());
    let server = start(Limiter::redis(&own.url()).unwrap()).await;
    let url = format!("{}/open", server.base);
    assert_eq!(status(&url, &[], None).await, StatusCode::OK);
    let before = own.evalsha_calls().await;
    for _ in 0..4 {
        assert_eq!(status(&url, &[], None).await, StatusCode::OK);
    }
    assert_eq!(
        own.evalsha_calls().await - before,
        4,
        "one EVALSHA per check"
    );
    assert_eq!(status(&url, &[], None).await, StatusCode::TOO_MANY_REQUESTS);
    let after_refusal = own.evalsha_calls().await;
    for _ in 0..20 {
        assert_eq!(status(&url, &[], None).await, StatusCode::TOO_MANY_REQUESTS);
    }
    assert_eq!(
        own.evalsha_calls().await,
        after_refusal,
        "a blocked key costs Redis nothing"
    );
    let ttls = own.ttls().await;
    assert!(!ttls.is_empty());
    assert!(ttls.iter().all(|ttl| *ttl > 0 && *ttl <= 1_000), "{ttls:?}");
}

#[tokio::test]
async fn requests_in_flight_share_a_call_and_each_gets_its_own_answer() {
    let own = OwnRedis::start(OwnRedis::free_port());
    let server = start(Limiter::redis(&own.url()).unwrap()).await;
    let url = format!("{}/mine", server.base);
    // The script is loaded and the connection open.
    assert_eq!(
        status(&url, &[], Some(&token("warm"))).await,
        StatusCode::OK
    );
    let before = own.evalsha_calls().await;
    // Redis holds every command for 300 ms: the first check's call waits, and every
    // request that comes meanwhile waits for the next call.
    own.pause(300).await;
    let mut requests = Vec::new();
    for n in 0..30 {
        // Ten of one user (3 a second), twenty of twenty others.
        let user = if n < 10 {
            "same".to_owned()
        } else {
            format!("user{n}")
        };
        let url = url.clone();
        requests.push(tokio::spawn(async move {
            (n, status(&url, &[], Some(&token(&user))).await.as_u16())
        }));
    }
    let mut statuses = Vec::new();
    for request in requests {
        statuses.push(request.await.unwrap());
    }
    let same: Vec<u16> = statuses
        .iter()
        .filter(|(n, _)| *n < 10)
        .map(|(_, status)| *status)
        .collect();
    assert_eq!(
        same.iter().filter(|status| **status == 200).count(),
        3,
        "exactly the limit of one user's ten, counted in one call: {same:?}"
    );
    assert!(
        same.iter().all(|status| [200, 429].contains(status)),
        "{same:?}"
    );
    assert!(
        statuses
            .iter()
            .filter(|(n, _)| *n >= 10)
            .all(|(_, s)| *s == 200),
        "{statuses:?}"
    );
    let calls = own.evalsha_calls().await - before;
    assert!(
        calls <= 3,
        "30 requests in flight shared {calls} calls instead of one each"
    );
}

#[tokio::test]
async fn a_redis_outage_falls_back_to_memory_then_recovers() {
    let port = OwnRedis::free_port();
    let mut own = OwnRedis::start(port);
    let server = start(Limiter::redis(&own.url()).unwrap()).await;
    let url = format!("{}/mine", server.base);
    assert_eq!(status(&url, &[], Some(&token("a"))).await, StatusCode::OK);

    own.stop();
    // Counted in memory: still limited, never a 500.
    let statuses: Vec<u16> = futures_collect(&url, "b", 5).await;
    assert_eq!(statuses, [200, 200, 200, 429, 429]);

    let own = OwnRedis::start(port);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let before = own.evalsha_calls().await;
    assert_eq!(status(&url, &[], Some(&token("c"))).await, StatusCode::OK);
    assert!(
        own.evalsha_calls().await > before,
        "Redis is asked again once it answers"
    );
}

#[tokio::test]
async fn a_redis_outage_fails_closed_when_asked() {
    let port = OwnRedis::free_port();
    let mut own = OwnRedis::start(port);
    let server = start(Limiter::redis(&own.url()).unwrap().fail_closed()).await;
    let url = format!("{}/open", server.base);
    assert_eq!(status(&url, &[], None).await, StatusCode::OK);
    own.stop();
    let response = call(&url, &[], None).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_security_headers(&response);
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"error":"Service unavailable"}"#
    );
}

async fn futures_collect(url: &str, user: &str, n: usize) -> Vec<u16> {
    let token = token(user);
    let mut statuses = Vec::new();
    for _ in 0..n {
        statuses.push(status(url, &[], Some(&token)).await.as_u16());
    }
    statuses
}
