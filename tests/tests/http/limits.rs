//! Several limits per route, groups, and login protection, over HTTP, in memory and in
//! Redis: two windows on one route, a refused request spending nothing, a budget shared
//! by two routes, failed logins counted per account name across addresses, and exact
//! counts under concurrency.

use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::StatusCode as AxumStatus;
use reqwest::StatusCode;
use secure_endpoint::routing::{get, post};
use secure_endpoint::{Error, Limiter, SecureRouter, Security, SetupError, public};
use secure_endpoint_tests::{OwnRedis, assert_security_headers};

/// A burst limit and a "daily" one, shortened to a minute for the test.
#[public(rate = ["100/s", "5/m"])]
async fn two_windows() -> &'static str {
    "two windows"
}

#[public(rate = ["10/m", "1000/d"])]
async fn concurrent() -> &'static str {
    "concurrent"
}

/// A budget of four shared with `shared_b`, then its own limit of two: the group is
/// counted first, and given back when the second limit refuses.
#[public(limit(rate = "4/m", group = "writes"), limit(rate = "2/m"))]
async fn shared_a() -> &'static str {
    "a"
}

#[public(limit(rate = "4/m", group = "writes"))]
async fn shared_b() -> &'static str {
    "b"
}

#[derive(serde::Deserialize, validator::Validate)]
struct Login {
    #[validate(length(min = 1, max = 64))]
    username: String,
    #[validate(length(min = 1, max = 128))]
    password: String,
}

/// Every account's password is `right`; checking one takes a moment, as a password
/// hash does, so that attempts sent together are in flight together.
#[public(
    validate = Login,
    rate = "5/60s",
    limit(rate = "5/15m", key = "input.username", on = "failure"),
)]
async fn login(input: Login) -> Result<&'static str, Error> {
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    if input.password == "right" {
        Ok("welcome")
    } else {
        Err(Error::client(AxumStatus::UNAUTHORIZED, "Unauthorized"))
    }
}

/// A key prefix no other test (or earlier run) uses: groups are named by the group, not
/// the route, so a fresh prefix gives them fresh counters.
fn unique() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "limits{}-{}-{}",
        std::process::id(),
        secure_endpoint::testing::now(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

fn backends() -> Vec<(&'static str, Limiter)> {
    vec![
        ("memory", Limiter::memory()),
        (
            "redis",
            Limiter::redis(&secure_endpoint_tests::redis_url())
                .unwrap()
                .prefix(&unique())
                .unwrap(),
        ),
    ]
}

fn router() -> SecureRouter {
    SecureRouter::new()
        .route("/two", get(two_windows))
        .route("/concurrent", get(concurrent))
        .route("/a", post(shared_a))
        .route("/b", post(shared_b))
        .route("/login", post(login))
}

/// Served behind a trusted proxy on loopback, so each test picks its client address
/// with `X-Forwarded-For`.
async fn start(limiter: Limiter) -> String {
    let security = Security::builder()
        .rate_limiter(limiter)
        .trusted_proxies(["127.0.0.1"])
        .build()
        .unwrap();
    secure_endpoint_tests::serve(router().with_security(security)).await
}

async fn send(
    method: reqwest::Method,
    url: &str,
    from: &str,
    body: Option<String>,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .request(method, url)
        .header("x-forwarded-for", from);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body);
    }
    request.send().await.unwrap()
}

async fn log_in(base: &str, from: &str, username: &str, password: &str) -> StatusCode {
    let body = serde_json::json!({ "username": username, "password": password }).to_string();
    send(
        reqwest::Method::POST,
        &format!("{base}/login"),
        from,
        Some(body),
    )
    .await
    .status()
}

#[tokio::test]
async fn the_longer_window_refuses_once_the_burst_window_no_longer_does() {
    for (backend, limiter) in backends() {
        let base = start(limiter).await;
        let url = format!("{base}/two");
        for i in 0..5 {
            let response = send(reqwest::Method::GET, &url, "198.51.100.1", None).await;
            assert_eq!(response.status(), StatusCode::OK, "{backend}: request {i}");
        }
        let refused = send(reqwest::Method::GET, &url, "198.51.100.1", None).await;
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS, "{backend}");
        assert_security_headers(&refused);
        let headers = refused.headers();
        // The 5/m limit refused: one request per 12 s, so the wait is its own, not the
        // burst limit's hundredth of a second.
        let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((2..=12).contains(&retry), "{backend}: Retry-After {retry}");
        assert_eq!(
            headers["ratelimit-policy"], r#""100/s-ip";q=100;w=1, "5/m-ip";q=5;w=60"#,
            "{backend}"
        );
        assert_eq!(
            headers["ratelimit"],
            format!(r#""5/m-ip";r=0;t={retry}"#).as_str(),
            "{backend}"
        );
        // Another address has its own counters.
        let other = send(reqwest::Method::GET, &url, "198.51.100.2", None).await;
        assert_eq!(other.status(), StatusCode::OK, "{backend}");
    }
}

#[tokio::test]
async fn a_group_is_one_budget_and_a_refused_request_spends_nothing() {
    for (backend, limiter) in backends() {
        let base = start(limiter).await;
        let from = "198.51.100.3";
        let a = format!("{base}/a");
        let b = format!("{base}/b");
        // `/a`'s own limit of two refuses the third request and every one after it:
        // none of them may spend the group's budget.
        let mut statuses = Vec::new();
        for _ in 0..5 {
            statuses.push(
                send(reqwest::Method::POST, &a, from, None)
                    .await
                    .status()
                    .as_u16(),
            );
        }
        assert_eq!(statuses, [200, 200, 429, 429, 429], "{backend}");
        // The group had four; `/a` spent two, so `/b` gets exactly two.
        let mut statuses = Vec::new();
        for _ in 0..3 {
            statuses.push(
                send(reqwest::Method::POST, &b, from, None)
                    .await
                    .status()
                    .as_u16(),
            );
        }
        assert_eq!(statuses, [200, 200, 429], "{backend}");
        let refused = send(reqwest::Method::POST, &b, from, None).await;
        assert_eq!(
            refused.headers()["ratelimit"]
                .to_str()
                .unwrap()
                .split(';')
                .next(),
            Some(r#""writes""#),
            "{backend}: the group's limit names itself"
        );
    }
}

#[tokio::test]
async fn failed_logins_lock_the_account_name_across_addresses() {
    for (backend, limiter) in backends() {
        let base = start(limiter).await;
        let victim = format!("victim-{}", unique());
        // Five wrong passwords for one name, each from its own address: no address is
        // near its own limit.
        for i in 0..5 {
            let from = format!("203.0.113.{i}");
            assert_eq!(
                log_in(&base, &from, &victim, "wrong").await,
                StatusCode::UNAUTHORIZED,
                "{backend}: attempt {i}"
            );
        }
        // The name is locked: from a sixth address, the right password included, and
        // under look-alike spellings of the name.
        let spellings = [
            victim.clone(),
            victim.to_uppercase(),
            format!("  {victim} "),
            victim
                .chars()
                .map(|c| match c {
                    'a'..='z' => char::from_u32(c as u32 - 'a' as u32 + 0xFF41).unwrap(),
                    other => other,
                })
                .collect(),
        ];
        for (i, spelling) in spellings.iter().enumerate() {
            let from = format!("203.0.113.{}", 10 + i);
            assert_eq!(
                log_in(&base, &from, spelling, "right").await,
                StatusCode::TOO_MANY_REQUESTS,
                "{backend}: {spelling:?}"
            );
        }
        // Another name, from the very addresses the attack came from, still logs in.
        let bystander = format!("bystander-{}", unique());
        for i in 0..5 {
            let from = format!("203.0.113.{i}");
            assert_eq!(
                log_in(&base, &from, &bystander, "right").await,
                StatusCode::OK,
                "{backend}: bystander from attacker address {i}"
            );
        }
        // Successful logins never count: ten of them, from ten addresses, for one name.
        let regular = format!("regular-{}", unique());
        for i in 0..10 {
            let from = format!("192.0.2.{i}");
            assert_eq!(
                log_in(&base, &from, &regular, "right").await,
                StatusCode::OK,
                "{backend}: success {i}"
            );
        }
    }
}

#[tokio::test]
async fn one_address_is_still_limited_on_its_own() {
    let base = start(Limiter::memory()).await;
    // Five names, one address: the per-address limit of five refuses the sixth
    // attempt, whatever name it tries.
    for i in 0..5 {
        assert_eq!(
            log_in(&base, "198.51.100.9", &format!("user{i}"), "wrong").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        log_in(&base, "198.51.100.9", "user9", "right").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn a_malformed_login_is_refused_before_any_limit_counts_it() {
    let base = start(Limiter::memory()).await;
    let victim = format!("victim-{}", unique());
    for body in [
        r#"{"username": 5, "password": "x"}"#.to_owned(),
        r#"{"username": "#.to_owned(),
        format!(r#"{{"username": "{victim}"}}"#),
    ] {
        let response = send(
            reqwest::Method::POST,
            &format!("{base}/login"),
            "198.51.100.20",
            Some(body),
        )
        .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "a JSON refusal"
        );
    }
    assert_eq!(
        log_in(&base, "198.51.100.20", &victim, "right").await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn fifty_concurrent_requests_get_exactly_the_tighter_limit() {
    for (backend, limiter) in backends() {
        let base = start(limiter).await;
        let url = format!("{base}/concurrent");
        let requests = (0..50).map(|_| {
            let url = url.clone();
            tokio::spawn(async move {
                send(reqwest::Method::GET, &url, "198.51.100.30", None)
                    .await
                    .status()
            })
        });
        let mut admitted = 0;
        for request in requests {
            match request.await.unwrap() {
                StatusCode::OK => admitted += 1,
                StatusCode::TOO_MANY_REQUESTS => {}
                other => panic!("{backend}: {other}"),
            }
        }
        assert_eq!(admitted, 10, "{backend}");
    }
}

#[tokio::test]
async fn of_fifty_concurrent_failed_logins_at_most_five_reach_the_handler() {
    for (backend, limiter) in backends() {
        let base = start(limiter).await;
        let victim = format!("victim-{}", unique());
        let requests = (0..50).map(|i| {
            let base = base.clone();
            let victim = victim.clone();
            tokio::spawn(async move {
                log_in(
                    &base,
                    &format!("10.{}.{}.1", i / 200, i % 200),
                    &victim,
                    "wrong",
                )
                .await
            })
        });
        let mut failed = 0;
        for request in requests {
            match request.await.unwrap() {
                StatusCode::UNAUTHORIZED => failed += 1,
                StatusCode::TOO_MANY_REQUESTS => {}
                other => panic!("{backend}: {other}"),
            }
        }
        // Each attempt takes its slot before the handler runs: of any number sent at
        // once, the limit's count reach the handler, the rest are 429 without it.
        println!("{backend}: {failed} of 50 concurrent wrong passwords answered 401");
        assert_eq!(failed, 5, "{backend}");
        assert_eq!(
            log_in(&base, "192.0.2.200", &victim, "right").await,
            StatusCode::TOO_MANY_REQUESTS,
            "{backend}"
        );
    }
}

#[tokio::test]
async fn one_round_trip_for_every_limit_of_a_request() {
    let own = OwnRedis::start(OwnRedis::free_port());
    let base = start(Limiter::redis(&own.url()).unwrap()).await;
    let url = format!("{base}/two");
    assert_eq!(
        send(reqwest::Method::GET, &url, "198.51.100.40", None)
            .await
            .status(),
        StatusCode::OK
    );
    let before = own.evalsha_calls().await;
    for _ in 0..4 {
        assert_eq!(
            send(reqwest::Method::GET, &url, "198.51.100.40", None)
                .await
                .status(),
            StatusCode::OK
        );
    }
    assert_eq!(
        own.evalsha_calls().await - before,
        4,
        "one EVALSHA per request, for both limits"
    );
}

#[public(limit(rate = "4/m", group = "mismatch"))]
async fn group_four() -> &'static str {
    "four"
}

#[public(limit(rate = "5/m", group = "mismatch"))]
async fn group_five() -> &'static str {
    "five"
}

#[tokio::test]
async fn routes_of_one_group_with_different_limits_do_not_start() {
    let security = Security::builder()
        .rate_limiter(Limiter::memory())
        .build()
        .unwrap();
    let router = SecureRouter::new()
        .route("/four", get(group_four))
        .route("/five", get(group_five))
        .with_security(security);
    let Err(error) = router.try_into_make_service_with_connect_info::<std::net::SocketAddr>()
    else {
        panic!("a group with two limits is refused");
    };
    assert!(
        matches!(
            error,
            SetupError::InvalidSetting {
                setting: "limit(group)",
                ..
            }
        ),
        "{error}"
    );
    let message = error.to_string();
    for part in ["\"mismatch\"", "GET /four", "GET /five", "4/m", "5/m"] {
        assert!(message.contains(part), "{message}");
    }
}
