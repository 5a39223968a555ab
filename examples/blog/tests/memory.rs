//! 200 concurrent logins against the blog binary, from 200 addresses behind a trusted
//! proxy: each password check takes about 19 MiB (argon2), so unbounded they would take
//! gigabytes; `concurrency = 8` on login keeps the peak resident memory bounded.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

/// The blog binary, stopped by its pid when the test ends, however it ends.
struct Blog {
    child: Child,
    base: String,
}

impl Blog {
    fn start() -> Blog {
        let mut child = Command::new(env!("CARGO_BIN_EXE_blog"))
            .env("BLOG_ADDR", "127.0.0.1:0")
            .env(
                "JWT_SECRET",
                "q2v9XkA0Jm7ZtR4bN1sLc8WfHd6GyPe3UoTiKj5VxMwBhQzYnCr=",
            )
            .env("BLOG_TRUSTED_PROXIES", "127.0.0.1")
            .env("RUST_LOG", "error")
            .env_remove("REDIS_URL")
            .env_remove("DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the blog binary starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the blog prints its address");
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Blog { child, base }
    }

    /// The peak resident memory of the process so far, in MiB (`VmHWM`).
    fn peak_mib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc is readable");
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/PID/status");
        kib / 1024
    }
}

impl Drop for Blog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_logins_keep_memory_bounded() {
    let blog = Blog::start();
    let client = reqwest::Client::new();
    let credentials = json!({"username": "mallory", "password": "correct horse"});
    let registered = client
        .post(format!("{}/auth/register", blog.base))
        .json(&credentials)
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), StatusCode::CREATED);
    let before = blog.peak_mib();
    let logins: Vec<_> = (0..200u32)
        .map(|n| {
            let client = client.clone();
            let url = format!("{}/auth/login", blog.base);
            // A name each: one name's limit of failures admits five attempts at once. An
            // unknown name's password is checked against the dummy hash, at the same cost.
            let credentials = if n == 0 {
                credentials.clone()
            } else {
                json!({"username": format!("mallory{n}"), "password": "correct horse"})
            };
            tokio::spawn(async move {
                client
                    .post(url)
                    .header(
                        "x-forwarded-for",
                        format!("10.0.{}.{}", n / 200, n % 200 + 1),
                    )
                    .json(&credentials)
                    .timeout(Duration::from_secs(60))
                    .send()
                    .await
                    .map(|r| r.status())
            })
        })
        .collect();
    let mut served = 0;
    let mut refused = 0;
    for login in logins {
        match login.await.unwrap().expect("answered") {
            StatusCode::OK | StatusCode::UNAUTHORIZED => served += 1,
            StatusCode::SERVICE_UNAVAILABLE => refused += 1,
            other => panic!("a login answered {other}"),
        }
    }
    let peak = blog.peak_mib();
    println!(
        "200 concurrent logins: {served} had their password checked, {refused} refused with 503; peak resident memory {peak} MiB (before the burst: {before} MiB)"
    );
    assert!(served >= 8, "only {served} served");
    assert!(
        peak < 400,
        "peak resident memory {peak} MiB: the logins were not bounded"
    );
}
