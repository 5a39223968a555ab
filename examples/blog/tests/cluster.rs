//! Two blog instances on one Redis Cluster of three masters (started by the test on
//! loopback ports) enforce one limit.

mod common;

use blog::Config;
use reqwest::StatusCode;
use secure_endpoint_tests::{OwnCluster, SECRET};
use serde_json::json;

async fn instance(cluster: &OwnCluster) -> String {
    let mut config = Config::for_tests(SECRET, common::ADMIN_PASSWORD);
    config.redis_cluster_urls = cluster.urls();
    config.trusted_proxies = vec!["127.0.0.1".to_owned()];
    common::serve(&config).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_a_cluster_enforce_one_limit() {
    let cluster = OwnCluster::start();
    let a = instance(&cluster).await;
    let b = instance(&cluster).await;
    // Logins from one address, alternating between the instances, each for a name of
    // its own (so only the per-address limit of five a minute applies): five answered,
    // then 429 whichever instance is asked.
    let mut statuses = Vec::new();
    for i in 0..8 {
        let base = if i % 2 == 0 { &a } else { &b };
        let status = reqwest::Client::new()
            .post(format!("{base}/auth/login"))
            .header("x-forwarded-for", "198.51.100.77")
            .json(&json!({"username": format!("nobody{i}"), "password": "not the password"}))
            .send()
            .await
            .unwrap()
            .status();
        statuses.push(status);
    }
    assert_eq!(
        statuses,
        [
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::TOO_MANY_REQUESTS,
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_on_one_instance_is_seen_by_the_other_on_the_cluster() {
    let cluster = OwnCluster::start();
    // One database for both instances, as behind a load balancer: the account is known
    // to both; only the revocations are the cluster's to share.
    let database = std::env::temp_dir().join(format!(
        "blog-cluster-{}-{}.db",
        std::process::id(),
        secure_endpoint::testing::now()
    ));
    let shared = |cluster: &OwnCluster| {
        let mut config = Config::for_tests(SECRET, common::ADMIN_PASSWORD);
        config.redis_cluster_urls = cluster.urls();
        config.database_url = format!("sqlite://{}?mode=rwc", database.display());
        config
    };
    let a = common::serve(&shared(&cluster)).await;
    let b = common::serve(&shared(&cluster)).await;
    let (_id, token) = common::account(&a, "roaming", None).await;
    let me = |base: &str| {
        let url = format!("{base}/me");
        let token = token.clone();
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(me(&a).await, StatusCode::OK);
    assert_eq!(me(&b).await, StatusCode::OK);
    let logout = reqwest::Client::new()
        .post(format!("{a}/auth/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .status();
    assert!(logout.is_success(), "{logout}");
    assert_eq!(me(&b).await, StatusCode::UNAUTHORIZED, "the other instance");
    assert_eq!(me(&a).await, StatusCode::UNAUTHORIZED);
    let _ = std::fs::remove_file(&database);
}
