//! Headless Chromium driven over the WebDriver protocol: `chromedriver` started on a
//! free loopback port and stopped with the test, one browser session, and the few
//! commands the browser tests need (go to a page, run a script, set a cookie). A
//! browser that cannot start fails the test loudly; nothing is skipped.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

/// A running `chromedriver` and one headless session.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    client: reqwest::Client,
    profile: std::path::PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The Chromium binary: `CHROMIUM` when set, else Debian's.
fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned())
}

impl Browser {
    /// Starts `chromedriver` and a headless Chromium session.
    ///
    /// # Panics
    /// When either cannot start: install `chromium` and `chromium-driver` (`./test`
    /// does).
    pub async fn start() -> Browser {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver runs (Debian package chromium-driver; ./test installs it)");
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let mut ready = false;
        for _ in 0..100 {
            if let Ok(response) = client.get(format!("{base}/status")).send().await
                && response.status().is_success()
            {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = std::env::temp_dir().join(format!("browser-test-{port}"));
        let mut browser = Browser {
            driver,
            base,
            session: String::new(),
            client,
            profile,
        };
        assert!(ready, "chromedriver did not answer on port {port}");
        let created = browser
            .command(
                reqwest::Method::POST,
                "/session",
                json!({
                    "capabilities": { "alwaysMatch": {
                        "browserName": "chrome",
                        "goog:chromeOptions": {
                            "binary": chromium(),
                            "args": [
                                "--headless=new",
                                "--no-sandbox",
                                "--disable-gpu",
                                "--disable-dev-shm-usage",
                                "--no-first-run",
                                format!("--user-data-dir={}", browser.profile.display()),
                            ],
                        },
                    }},
                }),
            )
            .await;
        browser.session = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("Chromium did not start: {created}"))
            .to_owned();
        browser
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.base);
        let request = self.client.request(method.clone(), &url);
        let request = if method == reqwest::Method::GET || method == reqwest::Method::DELETE {
            request
        } else {
            request.json(&body)
        };
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        let answer: Value = response.json().await.unwrap();
        answer["value"].clone()
    }

    fn session_path(&self, command: &str) -> String {
        format!("/session/{}{command}", self.session)
    }

    /// Opens `url` and waits for it to load.
    pub async fn goto(&self, url: &str) {
        let answer = self
            .command(
                reqwest::Method::POST,
                &self.session_path("/url"),
                json!({ "url": url }),
            )
            .await;
        assert!(answer.is_null(), "navigating to {url}: {answer}");
    }

    /// Runs `script` in the page; its last argument is the callback that hands back the
    /// result (`arguments[arguments.length - 1](value)`).
    pub async fn run_async(&self, script: &str) -> Value {
        self.command(
            reqwest::Method::POST,
            &self.session_path("/execute/async"),
            json!({ "script": script, "args": [] }),
        )
        .await
    }

    /// Runs `script` in the page and returns what it returns.
    pub async fn run(&self, script: &str) -> Value {
        self.command(
            reqwest::Method::POST,
            &self.session_path("/execute/sync"),
            json!({ "script": script, "args": [] }),
        )
        .await
    }

    /// Sets a cookie for the page's origin, as the service would have.
    pub async fn set_cookie(&self, name: &str, value: &str) {
        let answer = self
            .command(
                reqwest::Method::POST,
                &self.session_path("/cookie"),
                json!({ "cookie": {
                    "name": name,
                    "value": value,
                    "path": "/",
                    "secure": true,
                    "httpOnly": true,
                    "sameSite": "Lax",
                }}),
            )
            .await;
        assert!(answer.is_null(), "setting the cookie: {answer}");
    }

    /// The page's visible text.
    pub async fn text(&self) -> String {
        self.run("return document.body ? document.body.innerText : ''")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Ends the session and stops the driver.
    pub async fn stop(mut self) {
        let path = self.session_path("");
        self.command(reqwest::Method::DELETE, &path, Value::Null)
            .await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
