//! Shared helpers for the integration tests: a server on an ephemeral loopback port, a
//! token minter, and a log capture to check what reached the log.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secure_endpoint::SecureRouter;
use serde_json::Value;

pub mod cerbos;
mod cluster;
pub mod webdriver;

pub use cluster::OwnCluster;

/// The HMAC secret the test routers are configured with.
pub const SECRET: &[u8] = b"test-secret-that-is-at-least-32-bytes-long";

/// Serves `router` on 127.0.0.1:0 in the background and returns its base URL.
pub async fn serve(router: SecureRouter) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind an ephemeral port");
    let addr = listener.local_addr().expect("local address");
    let service = router
        .try_into_make_service_with_connect_info::<SocketAddr>()
        .expect("the router's settings are complete");
    tokio::spawn(async move {
        axum::serve(listener, service).await.expect("server runs");
    });
    format!("http://{addr}")
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// A token for `claims`, signed with `secret` using `alg`.
pub fn mint_with(alg: Algorithm, secret: &[u8], claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret))
        .expect("encode a token")
}

/// An HS256 token for `claims` with the test secret.
pub fn mint(claims: &Value) -> String {
    mint_with(Algorithm::HS256, SECRET, claims)
}

/// A token assembled by hand from a header and claims, with `signature` appended as is
/// (for attacks no honest encoder produces, like `alg: none`).
pub fn forge(header: &Value, claims: &Value, signature: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(header.to_string());
    let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{claims}.{signature}")
}

/// Everything the `tracing` subscriber of this test binary wrote.
#[derive(Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    /// The log so far.
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log lock")).into_owned()
    }
}

impl Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs (once per test binary) a subscriber that writes every event into the
/// returned capture.
pub fn capture_logs() -> LogCapture {
    static CAPTURE: OnceLock<LogCapture> = OnceLock::new();
    CAPTURE
        .get_or_init(|| {
            let capture = LogCapture::default();
            let writer = capture.clone();
            tracing_subscriber::fmt()
                .with_ansi(false)
                .with_max_level(tracing::Level::INFO)
                .with_writer(move || writer.clone())
                .init();
            capture
        })
        .clone()
}

/// The security headers every response must carry.
pub const SECURITY_HEADERS: &[(&str, &str)] = &[
    ("x-content-type-options", "nosniff"),
    ("cache-control", "no-store"),
    (
        "content-security-policy",
        "default-src 'none'; frame-ancestors 'none'",
    ),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("cross-origin-resource-policy", "same-origin"),
];

/// Panics unless `response` carries every security header and no `Server` or
/// `X-Powered-By`.
pub fn assert_security_headers(response: &reqwest::Response) {
    let headers = response.headers();
    for (name, value) in SECURITY_HEADERS {
        assert_eq!(
            headers.get(*name).and_then(|v| v.to_str().ok()),
            Some(*value),
            "header {name} on a {} response",
            response.status()
        );
    }
    assert!(headers.get("server").is_none(), "a Server header was sent");
    assert!(
        headers.get("x-powered-by").is_none(),
        "an X-Powered-By header was sent"
    );
}

/// The test key pairs of `tests/keys/` (`a`: the server's, `b`: another).
pub mod keys {
    macro_rules! key_files {
        ($($name:ident => $file:literal,)*) => {
            $(
                #[doc = concat!("`tests/keys/", $file, "`")]
                pub const $name: &[u8] = include_bytes!(concat!("../keys/", $file));
            )*
        };
    }

    key_files! {
        RSA_A => "rsa_a.pem",
        RSA_A_PUB => "rsa_a.pub.pem",
        RSA_A_PUB_DER => "rsa_a.pub.der",
        RSA_B => "rsa_b.pem",
        RSA_B_PUB => "rsa_b.pub.pem",
        EC256_A => "ec256_a.pem",
        EC256_A_PUB => "ec256_a.pub.pem",
        EC256_B => "ec256_b.pem",
        EC384_A => "ec384_a.pem",
        EC384_A_PUB => "ec384_a.pub.pem",
        EC384_B => "ec384_b.pem",
        ED_A => "ed_a.pem",
        ED_A_PUB => "ed_a.pub.pem",
        ED_B => "ed_b.pem",
        ED_B_PUB => "ed_b.pub.pem",
    }

    /// The raw 32-byte Ed25519 public key inside an SPKI PEM, base64url-encoded as a
    /// JWK's `x`.
    pub fn ed25519_x(spki_pem: &[u8]) -> String {
        use base64::Engine;
        let text = std::str::from_utf8(spki_pem).expect("PEM is text");
        let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .expect("PEM body is base64");
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&der[der.len() - 32..])
    }
}

/// Serves a router with `security` on an ephemeral port; returns its base URL.
pub async fn serve_secured(router: SecureRouter, security: secure_endpoint::Security) -> String {
    serve(router.with_security(security)).await
}

/// GET `url` with an optional bearer token.
pub async fn get(url: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("request sent")
}

/// Asserts the one 401 every token failure gets: same status, challenge and body.
pub async fn assert_unauthorized(response: reqwest::Response, token_given: bool) {
    assert_eq!(response.status(), reqwest::StatusCode::UNAUTHORIZED);
    assert_security_headers(&response);
    let challenge = response
        .headers()
        .get("www-authenticate")
        .expect("a challenge")
        .to_str()
        .expect("ASCII")
        .to_owned();
    if token_given {
        assert_eq!(challenge, r#"Bearer error="invalid_token""#);
    } else {
        assert_eq!(challenge, "Bearer");
    }
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(
        response.text().await.expect("body"),
        r#"{"error":"Unauthorized"}"#
    );
}

/// The shared Redis the tests count in: `REDIS_URL`, which `./test` sets (starting a
/// Redis there when none answers), else the local one.
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A Redis server of the test's own, on a free port, that the test can stop.
pub struct OwnRedis {
    child: std::process::Child,
    port: u16,
}

impl OwnRedis {
    /// Starts `redis-server` on `port`, waiting until it accepts connections.
    pub fn start(port: u16) -> Self {
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("redis-server is installed");
        let mut own = OwnRedis { child, port };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return own;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        own.stop();
        panic!("redis-server did not start on {port}");
    }

    /// A loopback port nothing listens on now.
    pub fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Holds every client's commands for `ms` milliseconds (`CLIENT PAUSE … ALL`): what
    /// is sent meanwhile is answered once the pause ends.
    pub async fn pause(&self, ms: u64) {
        let client = redis::Client::open(self.url()).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        let _: () = redis::cmd("CLIENT")
            .arg("PAUSE")
            .arg(ms)
            .arg("ALL")
            .query_async(&mut connection)
            .await
            .unwrap();
    }

    /// How many `EVALSHA` calls the server has answered.
    pub async fn evalsha_calls(&self) -> u64 {
        let client = redis::Client::open(self.url()).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        let info: String = redis::cmd("INFO")
            .arg("commandstats")
            .query_async(&mut connection)
            .await
            .unwrap();
        info.lines()
            .find_map(|l| l.strip_prefix("cmdstat_evalsha:calls="))
            .and_then(|rest| rest.split(',').next())
            .map_or(0, |n| n.parse().unwrap())
    }

    /// The remaining TTL, in ms, of every rate-limit key.
    pub async fn ttls(&self) -> Vec<i64> {
        let client = redis::Client::open(self.url()).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("*:rate:*")
            .query_async(&mut connection)
            .await
            .unwrap();
        let mut ttls = Vec::new();
        for key in keys {
            ttls.push(
                redis::cmd("PTTL")
                    .arg(&key)
                    .query_async(&mut connection)
                    .await
                    .unwrap(),
            );
        }
        ttls
    }

    /// Kills the server and waits for it.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}
