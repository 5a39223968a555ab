//! Limits on a real Redis Cluster of three masters, started on loopback ports: two
//! instances enforcing one limit, exact counts under concurrency, a request whose
//! limits live in different slots, and a master killed mid-test and healed.

use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::StatusCode as AxumStatus;
use reqwest::StatusCode;
use secure_endpoint::routing::{get, post};
use secure_endpoint::{Error, Limiter, SecureRouter, Security, public};
use secure_endpoint_tests::OwnCluster;

#[public(rate = "5/m")]
async fn five() -> &'static str {
    "five"
}

#[public(rate = ["10/m", "1000/d"])]
async fn ten() -> &'static str {
    "ten"
}

#[derive(serde::Deserialize, validator::Validate)]
struct Login {
    username: String,
    password: String,
}

#[public(
    validate = Login,
    rate = "5/60s",
    limit(rate = "3/15m", key = "input.username", on = "failure"),
)]
async fn login(input: Login) -> Result<&'static str, Error> {
    if input.password == "right" {
        Ok("welcome")
    } else {
        Err(Error::client(AxumStatus::UNAUTHORIZED, "Unauthorized"))
    }
}

fn unique() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "cluster{}-{}-{}",
        std::process::id(),
        secure_endpoint::testing::now(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// An instance of the service on the cluster, behind a trusted proxy on loopback.
async fn instance(cluster: &OwnCluster, prefix: &str) -> String {
    let urls = cluster.urls();
    let limiter = Limiter::redis_cluster(urls.iter().map(String::as_str))
        .unwrap()
        .prefix(prefix)
        .unwrap();
    let security = Security::builder()
        .rate_limiter(limiter)
        .trusted_proxies(["127.0.0.1"])
        .build()
        .unwrap();
    let router = SecureRouter::new()
        .route("/five", get(five))
        .route("/ten", get(ten))
        .route("/login", post(login))
        .with_security(security);
    secure_endpoint_tests::serve(router).await
}

async fn call(url: &str, from: &str) -> StatusCode {
    reqwest::Client::new()
        .get(url)
        .header("x-forwarded-for", from)
        .send()
        .await
        .unwrap()
        .status()
}

async fn log_in(base: &str, from: &str, username: &str, password: &str) -> StatusCode {
    reqwest::Client::new()
        .post(format!("{base}/login"))
        .header("x-forwarded-for", from)
        .json(&serde_json::json!({ "username": username, "password": password }))
        .send()
        .await
        .unwrap()
        .status()
}

/// Twelve requests alternating between the two instances: exactly five admitted.
async fn admitted_across(a: &str, b: &str, path: &str, from: &str) -> usize {
    let mut admitted = 0;
    for i in 0..12 {
        let base = if i % 2 == 0 { a } else { b };
        match call(&format!("{base}{path}"), from).await {
            StatusCode::OK => admitted += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("{other}"),
        }
    }
    admitted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_on_a_cluster_are_one_limit_for_every_instance_and_survive_a_lost_master() {
    let mut cluster = OwnCluster::start();
    let prefix = unique();
    let a = instance(&cluster, &prefix).await;
    let b = instance(&cluster, &prefix).await;

    // Two instances, one limit.
    assert_eq!(admitted_across(&a, &b, "/five", "198.51.100.1").await, 5);

    // Fifty concurrent requests over both instances, two limits: exactly the tighter.
    let requests = (0..50).map(|i| {
        let url = format!("{}/ten", if i % 2 == 0 { &a } else { &b });
        tokio::spawn(async move { call(&url, "198.51.100.2").await })
    });
    let mut admitted = 0;
    for request in requests {
        match request.await.unwrap() {
            StatusCode::OK => admitted += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("{other}"),
        }
    }
    assert_eq!(admitted, 10);

    // A login's limits count on the address and on the name: two slots. Three failures
    // for one name from three addresses, over both instances, lock the name.
    let victim = format!("victim-{}", unique());
    for i in 0..3 {
        let base = if i % 2 == 0 { &a } else { &b };
        assert_eq!(
            log_in(base, &format!("203.0.113.{i}"), &victim, "wrong").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        log_in(&b, "203.0.113.9", &victim, "right").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // The refused attempt spent nothing on its address's limit (the other slot): that
    // address still has its five.
    for _ in 0..5 {
        assert_eq!(
            log_in(&a, "203.0.113.9", &format!("other-{}", unique()), "right").await,
            StatusCode::OK
        );
    }

    // A master dies: every request is still answered (counted in memory meanwhile),
    // none with a 500.
    cluster.kill(1);
    cluster.wait_until_down();
    for i in 0..6 {
        let status = call(&format!("{a}/five"), &format!("192.0.2.{i}")).await;
        assert!(
            matches!(status, StatusCode::OK | StatusCode::TOO_MANY_REQUESTS),
            "{status}"
        );
    }

    // Healed: once the instances' clients see it answer again, the limit is shared and
    // exact again.
    cluster.heal(1);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let from = format!("198.51.100.{}", 100 + admitted_probe());
        let admitted = admitted_across(&a, &b, "/five", &from).await;
        if admitted == 5 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still {admitted} admitted across both instances after the cluster healed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    // And stays exact.
    assert_eq!(admitted_across(&a, &b, "/five", "198.51.100.250").await, 5);
}

/// A fresh address for each attempt after the heal.
fn admitted_probe() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    NEXT.fetch_add(1, Ordering::SeqCst)
}
