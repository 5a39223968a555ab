//! The blog in production: its metrics page, scraped after real traffic, holds every
//! decision with bounded labels and passes `promtool check metrics`; the report-only
//! limit on `GET /posts` counts what it would refuse and refuses nothing.

mod common;

use reqwest::{Method, StatusCode};

use common::{account, send, start};

async fn scrape(metrics: &str) -> String {
    let response = reqwest::get(format!("{metrics}/metrics")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.unwrap()
}

/// The value of the sample whose line starts with `name{` and holds every one of
/// `labels`; 0 when there is none.
fn sample(page: &str, name: &str, labels: &[&str]) -> f64 {
    page.lines()
        .filter(|line| line.starts_with(&format!("{name}{{")))
        .filter(|line| labels.iter().all(|label| line.contains(label)))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn the_metrics_page_counts_every_decision_with_bounded_labels() {
    // The recorder first, then the blog: its routes' counters are registered with it.
    let metrics = blog::serve_metrics("127.0.0.1:0".parse().unwrap())
        .await
        .expect("the metrics listener starts");
    let metrics = format!("http://{metrics}");
    let base = start().await;

    // 75 pages from one address, past the report-only 60/m: every one is served.
    for _ in 0..75 {
        let (status, _) = send(&base, Method::GET, "/posts", None, None).await;
        assert_eq!(status, StatusCode::OK);
    }
    // A bad token (401), a user id in a path, and the enforced 30/m of /users/{id} (429).
    let (status, _) = send(&base, Method::GET, "/me", Some("not.a.token"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (id, token) = account(&base, "metrics_reader", Some("reader@example.com")).await;
    let mut limited = false;
    for _ in 0..40 {
        let (status, _) = send(
            &base,
            Method::GET,
            &format!("/users/{id}"),
            Some(&token),
            None,
        )
        .await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            limited = true;
            break;
        }
    }
    assert!(limited, "GET /users/{{id}} is limited");

    let page = scrape(&metrics).await;
    let posts = r#"route="GET /posts""#;
    assert!(
        sample(
            &page,
            "secure_endpoint_decisions_total",
            &[posts, r#"outcome="would_refuse""#]
        ) >= 15.0,
        "{page}"
    );
    assert!(
        sample(
            &page,
            "secure_endpoint_decisions_total",
            &[posts, r#"step="rate""#, r#"outcome="refused""#]
        ) == 0.0,
        "{page}"
    );
    assert!(
        sample(
            &page,
            "secure_endpoint_decisions_total",
            &[posts, r#"outcome="allowed""#]
        ) >= 75.0,
        "{page}"
    );
    assert!(
        sample(
            &page,
            "secure_endpoint_decisions_total",
            &[
                r#"route="GET /me""#,
                r#"step="authenticate""#,
                r#"outcome="refused""#
            ]
        ) >= 1.0,
        "{page}"
    );
    assert!(
        sample(
            &page,
            "secure_endpoint_auth_failures_total",
            &[r#"reason="malformed""#]
        ) >= 1.0,
        "{page}"
    );
    assert!(
        sample(
            &page,
            "secure_endpoint_rate_limited_total",
            &[r#"route="GET /users/{id}""#]
        ) >= 1.0,
        "{page}"
    );
    assert!(
        sample(
            &page,
            "secure_endpoint_decisions_total",
            &[
                r#"route="GET /users/{id}""#,
                r#"step="rate""#,
                r#"outcome="refused""#
            ]
        ) >= 1.0,
        "{page}"
    );
    assert!(
        page.contains("secure_endpoint_limiter_keys{backend=\"memory\"}"),
        "{page}"
    );

    // No label value is a requested path, an id, a name or an address.
    for line in page
        .lines()
        .filter(|line| line.starts_with("secure_endpoint_"))
    {
        for leak in [
            format!("/users/{id}\""),
            "metrics_reader".to_owned(),
            "reader@example.com".to_owned(),
            "127.0.0.1".to_owned(),
            token.clone(),
        ] {
            assert!(!line.contains(&leak), "{leak:?} in {line}");
        }
    }

    // Prometheus's own check of the page.
    let mut check = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool runs (Debian package prometheus; ./test installs it)");
    use std::io::Write;
    check
        .stdin
        .take()
        .unwrap()
        .write_all(page.as_bytes())
        .unwrap();
    let output = check.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_example_alert_rules_pass_promtool() {
    let rules = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/alerts/secure-endpoint.rules.yml"
    );
    let output = std::process::Command::new("promtool")
        .args(["check", "rules", rules])
        .output()
        .expect("promtool runs (Debian package prometheus; ./test installs it)");
    assert!(
        output.status.success(),
        "promtool check rules: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // The rules name the metrics the crate records.
    let text = std::fs::read_to_string(rules).unwrap();
    for metric in [
        "secure_endpoint_auth_failures_total",
        "secure_endpoint_backend_fallbacks_total",
        "secure_endpoint_decisions_total",
        "secure_endpoint_backend_seconds_bucket",
    ] {
        assert!(text.contains(metric), "{metric}");
    }
}
