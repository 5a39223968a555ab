//! Hostile clients: the defects an attack run and a code audit found, each tried over
//! HTTP as an attacker would, each refused with the right status and nothing leaked.

use reqwest::StatusCode;
use secure_endpoint::routing::{get, post};
use secure_endpoint::{SecureRouter, Security, public};
use secure_endpoint_tests::{assert_security_headers, serve};
use serde::Deserialize;
use serde_json::{Value, json};
use validator::Validate;

#[derive(Deserialize, Validate)]
struct Post {
    #[validate(length(min = 1, max = 20))]
    title: String,
    content: String,
    #[serde(default)]
    #[validate(length(max = 2))]
    tags: Vec<String>,
    #[serde(default)]
    extra: std::collections::HashMap<String, String>,
}

#[public(validate = Post)]
async fn create(post: Post) -> String {
    format!(
        "{}|{}|{}|{}",
        post.title,
        post.content,
        post.tags.len(),
        post.extra.len()
    )
}

#[derive(Deserialize, Validate)]
struct Measure {
    #[validate(range(min = 0.0))]
    small: f32,
    #[serde(default)]
    #[validate(range(min = 0.0))]
    large: Option<f64>,
}

#[public(validate = Measure)]
async fn measure(input: Measure) -> String {
    format!("{} {:?}", input.small, input.large)
}

#[public(validate_query = Measure)]
async fn measure_query(input: Measure) -> String {
    format!("{} {:?}", input.small, input.large)
}

async fn start() -> String {
    let router: SecureRouter = SecureRouter::new()
        .route("/posts", post(create))
        .route("/measure", post(measure).get(measure_query))
        .with_security(Security::builder().build().unwrap());
    serve(router).await
}

async fn post_text(base: &str, path: &str, body: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}{path}"))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("request sent")
}

async fn assert_refused(response: reqwest::Response, details: Value) {
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_security_headers(&response);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"error": "Invalid input", "details": details}));
}

#[tokio::test]
async fn a_repeated_key_is_refused_on_every_path_of_the_reader() {
    let base = start().await;
    let cases = [
        // The first value is invalid and the last valid: last-wins would accept it.
        (r#"{"title":12345,"content":"c","title":"ok"}"#, "title"),
        (r#"{"title":"a","content":"c","title":"b"}"#, "title"),
        // The same key through an escape.
        (r#"{"title":"a","content":"c","\u0074itle":"b"}"#, "title"),
        (
            r#"{"title":"a","content":"c","tags":["1","2","3"],"tags":[]}"#,
            "tags",
        ),
        // Inside an open map, which the fast reader never reads.
        (
            r#"{"title":"a","content":"c","extra":{"k":"1","k":"2"}}"#,
            "extra.k",
        ),
    ];
    for (body, field) in cases {
        let response = post_text(&base, "/posts", body).await;
        assert_refused(response, json!({ field: ["duplicate"] })).await;
    }
    let fine = post_text(
        &base,
        "/posts",
        r#"{"title":"a","content":"c","extra":{"k":"1"}}"#,
    )
    .await;
    assert_eq!(fine.status(), StatusCode::OK);
    assert_eq!(fine.text().await.unwrap(), "a|c|0|1");
}

#[tokio::test]
async fn infinity_never_reaches_a_float_field() {
    let base = start().await;
    for body in [
        r#"{"small":1e39}"#,
        r#"{"small":-1e39}"#,
        r#"{"small":1,"large":1e400}"#,
    ] {
        let response = post_text(&base, "/measure", body).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
    }
    let response = post_text(&base, "/measure", r#"{"small":1e39}"#).await;
    assert_refused(response, json!({"small": ["type"]})).await;
    for query in [
        "small=1e39",
        "small=1&large=1e400",
        "small=inf",
        "small=NaN",
    ] {
        let response = reqwest::get(format!("{base}/measure?{query}"))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
    }
    let response = reqwest::get(format!("{base}/measure?small=2.5&large=1e300"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "2.5 Some(1e300)");
    let response = post_text(&base, "/measure", r#"{"small":3.5e38}"#).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "above f32::MAX");
}

#[public(rate = "1/h")]
async fn once() -> &'static str {
    "once"
}

/// A route allowing one request an hour per client, behind a proxy on loopback that
/// writes `header`.
async fn behind_proxy(header: secure_endpoint::ForwardedHeader) -> String {
    let security = Security::builder()
        .rate_limiter(secure_endpoint::Limiter::memory())
        .trusted_proxies(["127.0.0.1"])
        .forwarded_header(header)
        .build()
        .unwrap();
    let router: SecureRouter = SecureRouter::new()
        .route("/once", get(once))
        .with_security(security);
    format!("{}/once", serve(router).await)
}

async fn status_with(url: &str, name: &str, value: &[u8]) -> StatusCode {
    reqwest::Client::new()
        .get(url)
        .header(
            name,
            reqwest::header::HeaderValue::from_bytes(value).unwrap(),
        )
        .send()
        .await
        .expect("request sent")
        .status()
}

#[tokio::test]
async fn forwarded_for_with_ports_brackets_or_junk_keeps_clients_apart() {
    let url = behind_proxy(secure_endpoint::ForwardedHeader::XForwardedFor).await;
    let xff = "x-forwarded-for";
    // Gateways that write ports: two clients, two buckets (not both the gateway's).
    assert_eq!(
        status_with(&url, xff, b"198.51.100.1:1111").await,
        StatusCode::OK
    );
    assert_eq!(
        status_with(&url, xff, b"198.51.100.2:2222").await,
        StatusCode::OK
    );
    assert_eq!(
        status_with(&url, xff, b"198.51.100.1:3333").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        status_with(&url, xff, b"[2001:db8:0:1::1]:443").await,
        StatusCode::OK
    );
    assert_eq!(
        status_with(&url, xff, b"[2001:db8:0:2::1]").await,
        StatusCode::OK
    );
    assert_eq!(
        status_with(&url, xff, b"2001:db8:0:1::3").await,
        StatusCode::TOO_MANY_REQUESTS,
        "the same /64"
    );
    // A byte that is not text, put in front of what the proxy appended, neither hides
    // the client nor gives it a second budget.
    assert_eq!(
        status_with(&url, xff, b"198.51.100.3").await,
        StatusCode::OK
    );
    assert_eq!(
        status_with(&url, xff, b"\xc3\xa9, 198.51.100.3").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // An unreadable hop the proxy itself wrote stops the walk at the proxy: counted as
    // the proxy, never as an address the client chose.
    assert_eq!(
        status_with(&url, xff, b"203.0.113.9, junk").await,
        StatusCode::OK
    );
    assert_eq!(
        status_with(&url, xff, b"203.0.113.10, also-junk").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn a_quoted_forwarded_value_cannot_choose_the_clients_address() {
    let url = behind_proxy(secure_endpoint::ForwardedHeader::Forwarded).await;
    // The proxy quotes a Host the client chose; its `,for=` is text, not an element.
    let first = br#"host="a,for=192.0.2.1";for=198.51.100.9"#;
    let second = br#"host="b,for=192.0.2.2";for=198.51.100.9"#;
    assert_eq!(status_with(&url, "forwarded", first).await, StatusCode::OK);
    assert_eq!(
        status_with(&url, "forwarded", second).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        status_with(&url, "forwarded", b"for=192.0.2.2").await,
        StatusCode::OK,
        "the address the client tried to choose was never counted"
    );
}

/// A service counting `rate_once` at `path` in the shared Redis under `prefix`.
async fn shared_service(prefix: &str, path: &str) -> String {
    let limiter = secure_endpoint::Limiter::redis(&secure_endpoint_tests::redis_url())
        .unwrap()
        .prefix(prefix)
        .unwrap();
    let security = Security::builder().rate_limiter(limiter).build().unwrap();
    let router: SecureRouter = SecureRouter::new()
        .route(path, get(once))
        .with_security(security);
    format!("{}{path}", serve(router).await)
}

#[tokio::test]
async fn two_services_on_one_redis_keep_their_own_limits() {
    let path = format!(
        "/shared-{}-{}",
        std::process::id(),
        secure_endpoint::testing::now()
    );
    let a = shared_service("service-a", &path).await;
    let b = shared_service("service-b", &path).await;
    let a_again = shared_service("service-a", &path).await;
    let get = |url: String| async move { reqwest::get(url).await.unwrap().status() };
    assert_eq!(get(a.clone()).await, StatusCode::OK);
    assert_eq!(
        get(a_again).await,
        StatusCode::TOO_MANY_REQUESTS,
        "one service, one bucket"
    );
    assert_eq!(
        get(b).await,
        StatusCode::OK,
        "another service, another bucket"
    );
    let client = redis::Client::open(secure_endpoint_tests::redis_url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("service-a:rate:GET {path}:*"))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(
        keys[0].contains(":1/3600000ms:{ip:"),
        "the rate is in the key: {keys:?}"
    );
}

#[test]
fn a_redis_prefix_that_would_break_keys_is_refused() {
    for bad in ["", "has space", "a:b", "{tag}", &"x".repeat(65)] {
        let error = secure_endpoint::Limiter::redis(&secure_endpoint_tests::redis_url())
            .unwrap()
            .prefix(bad)
            .unwrap_err();
        assert!(error.to_string().contains("redis prefix"), "{error}");
    }
}

#[public(rate = "1000/s")]
async fn busy() -> &'static str {
    "busy"
}

/// During an outage of a Redis that accepts connections and never answers, the requests
/// arriving when it is due to be tried again do not all wait on it: one asks, the others
/// are counted in memory meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_silent_redis_stalls_one_request_at_a_time_not_all() {
    let blackhole = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = blackhole.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = blackhole.accept().await {
            held.push(socket);
        }
    });
    let limiter = secure_endpoint::Limiter::redis(&format!("redis://127.0.0.1:{port}")).unwrap();
    let security = Security::builder().rate_limiter(limiter).build().unwrap();
    let router: SecureRouter = SecureRouter::new()
        .route("/busy", get(busy))
        .with_security(security);
    let url = format!("{}/busy", serve(router).await);
    let first = reqwest::get(&url).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK, "counted in memory");
    // Past the pause after a failure: Redis is due to be tried again.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let requests: Vec<_> = (0..20)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move {
                let started = std::time::Instant::now();
                let status = reqwest::get(&url).await.unwrap().status();
                (status, started.elapsed())
            })
        })
        .collect();
    let mut quick = 0;
    for request in requests {
        let (status, took) = request.await.unwrap();
        assert_eq!(status, StatusCode::OK);
        if took < std::time::Duration::from_millis(250) {
            quick += 1;
        }
    }
    assert!(
        quick >= 15,
        "only {quick} of 20 requests did not wait on Redis"
    );
}

#[secure_endpoint::secure(auth)]
async fn who(claims: secure_endpoint::Claims) -> String {
    claims.sub
}

/// The same for revocations in a silent Redis: one request at a time asks whether it
/// is back, the others are judged against this instance's own revocations meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_silent_revocation_store_stalls_one_request_at_a_time_not_all() {
    let blackhole = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = blackhole.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = blackhole.accept().await {
            held.push(socket);
        }
    });
    let revocations =
        secure_endpoint::Revocations::redis(&format!("redis://127.0.0.1:{port}")).unwrap();
    let jwt = secure_endpoint::JwtAuthenticator::hmac(
        jsonwebtoken::Algorithm::HS256,
        secure_endpoint_tests::SECRET,
    )
    .unwrap();
    let security = Security::builder()
        .authenticator(jwt)
        .revocation(revocations)
        .build()
        .unwrap();
    let router: SecureRouter = SecureRouter::new()
        .route("/who", get(who))
        .with_security(security);
    let url = format!("{}/who", serve(router).await);
    let token = secure_endpoint::testing::TokenMint::hmac(
        jsonwebtoken::Algorithm::HS256,
        secure_endpoint_tests::SECRET,
    )
    .token("alice", &[]);
    let ask = || {
        let (url, token) = (url.clone(), token.clone());
        async move {
            let started = std::time::Instant::now();
            let status = reqwest::Client::new()
                .get(&url)
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .status();
            (status, started.elapsed())
        }
    };
    assert_eq!(ask().await.0, StatusCode::OK, "judged in memory");
    // Past the pause after a failure: Redis is due to be tried again.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let requests: Vec<_> = (0..20).map(|_| tokio::spawn(ask())).collect();
    let mut quick = 0;
    for request in requests {
        let (status, took) = request.await.unwrap();
        assert_eq!(status, StatusCode::OK);
        if took < std::time::Duration::from_millis(250) {
            quick += 1;
        }
    }
    assert!(
        quick >= 15,
        "only {quick} of 20 requests did not wait on Redis"
    );
}

#[test]
fn a_leeway_of_more_than_five_minutes_is_refused() {
    use jsonwebtoken::Algorithm;
    let jwt =
        secure_endpoint::JwtAuthenticator::hmac(Algorithm::HS256, secure_endpoint_tests::SECRET)
            .unwrap()
            .leeway(std::time::Duration::from_secs(600));
    let error = Security::builder().authenticator(jwt).build().unwrap_err();
    assert!(error.to_string().contains("leeway"), "{error}");
    let fine =
        secure_endpoint::JwtAuthenticator::hmac(Algorithm::HS256, secure_endpoint_tests::SECRET)
            .unwrap()
            .leeway(std::time::Duration::from_secs(300));
    assert!(Security::builder().authenticator(fine).build().is_ok());
}

static VERIFIED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Accepts `good-…`; `junk…` cannot even be one of its tokens; anything else is a token
/// of the right shape that fails verification.
struct Counting;

impl secure_endpoint::Authenticator for Counting {
    type Principal = secure_endpoint::Claims;

    async fn authenticate(
        &self,
        token: &str,
    ) -> Result<Self::Principal, secure_endpoint::AuthError> {
        VERIFIED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        match token.strip_prefix("good-") {
            Some(sub) => Ok(secure_endpoint::Claims {
                sub: sub.to_owned(),
                roles: vec![],
                scope: None,
                exp: u64::MAX,
            }),
            None => Err(secure_endpoint::AuthError::new("bad signature")),
        }
    }

    fn precheck(&self, token: &str) -> Result<(), secure_endpoint::AuthError> {
        if token.starts_with("junk") {
            Err(secure_endpoint::AuthError::new("not a token of ours"))
        } else {
            Ok(())
        }
    }
}

#[secure_endpoint::secure(auth)]
async fn whoami(claims: secure_endpoint::Claims) -> String {
    claims.sub
}

#[tokio::test]
async fn past_the_failed_auth_limit_junk_is_refused_without_verification() {
    use std::sync::atomic::Ordering::SeqCst;
    let security = Security::builder()
        .authenticator(Counting)
        .rate_limiter(secure_endpoint::Limiter::memory())
        .failed_auth_limit("3/m")
        .build()
        .unwrap();
    let router: SecureRouter = SecureRouter::new()
        .route("/who", get(who))
        .with_security(security);
    let url = format!("{}/who", serve(router).await);
    let send = |token: &'static str| {
        let url = url.clone();
        async move { secure_endpoint_tests::get(&url, Some(token)).await.status() }
    };
    for _ in 0..3 {
        assert_eq!(send("junk").await, StatusCode::UNAUTHORIZED);
    }
    let verified = VERIFIED.load(SeqCst);
    assert_eq!(verified, 3, "under the limit, every token is verified");
    for _ in 0..100 {
        assert_eq!(send("junk").await, StatusCode::TOO_MANY_REQUESTS);
    }
    assert_eq!(
        VERIFIED.load(SeqCst),
        verified,
        "past it, junk costs no verification"
    );
    // A token of the right shape is still verified (and refused)...
    assert_eq!(send("forged").await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(VERIFIED.load(SeqCst), verified + 1);
    // ...and a valid one is served, on purpose: a shared address is not locked out.
    let ok = secure_endpoint_tests::get(&url, Some("good-alice")).await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.text().await.unwrap(), "alice");
}

/// A layer whose `call` panics (not its future) on `/boom`.
#[derive(Clone)]
struct PanicsInCall<S>(S);

impl<S> tower::Service<axum::extract::Request> for PanicsInCall<S>
where
    S: tower::Service<axum::extract::Request>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: axum::extract::Request) -> Self::Future {
        assert!(request.uri().path() != "/boom", "canary-sync-panic");
        self.0.call(request)
    }
}

#[tokio::test]
async fn a_panic_in_a_layers_call_is_a_generic_500() {
    let router: SecureRouter = SecureRouter::new()
        .route("/boom", get(busy))
        .route("/fine", get(busy))
        .layer(tower::layer::layer_fn(PanicsInCall))
        .with_security(
            Security::builder()
                .rate_limiter(secure_endpoint::Limiter::memory())
                .build()
                .unwrap(),
        );
    let base = serve(router).await;
    let response = reqwest::get(format!("{base}/boom")).await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_security_headers(&response);
    let body = response.text().await.unwrap();
    assert!(!body.contains("canary"), "{body}");
    assert!(body.contains("An unexpected error occurred"), "{body}");
    let fine = reqwest::get(format!("{base}/fine")).await.unwrap();
    assert_eq!(fine.status(), StatusCode::OK, "the server keeps serving");
}

/// Inverts the splitmix64 finalizer the ids once were: an attacker's first step.
fn unmix(mut z: u64) -> u64 {
    fn unshift(z: u64, shift: u32) -> u64 {
        let mut out = z;
        for _ in 0..(64 / shift + 1) {
            out = z ^ (out >> shift);
        }
        out
    }
    const INV_2: u64 = 0x319642b2d24d8ec3; // 0x94D049BB133111EB⁻¹ mod 2⁶⁴
    const INV_1: u64 = 0x96de1b173f119089; // 0xBF58476D1CE4E5B9⁻¹ mod 2⁶⁴
    z = unshift(z, 31);
    z = unshift(z.wrapping_mul(INV_2), 27);
    unshift(z.wrapping_mul(INV_1), 30)
}

#[tokio::test]
async fn request_ids_do_not_reveal_each_other_or_the_volume() {
    const GAMMA_INV: u64 = 0xf1de83e19937733d; // 0x9E3779B97F4A7C15⁻¹ mod 2⁶⁴
    assert_eq!(0x9E37_79B9_7F4A_7C15u64.wrapping_mul(GAMMA_INV), 1);
    let mix = |mut z: u64| {
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    assert_eq!(
        unmix(mix(0x0123_4567_89ab_cdef)),
        0x0123_4567_89ab_cdef,
        "the attack works"
    );
    let router: SecureRouter = SecureRouter::new().route("/busy", get(busy)).with_security(
        Security::builder()
            .rate_limiter(secure_endpoint::Limiter::memory())
            .build()
            .unwrap(),
    );
    let url = format!("{}/busy", serve(router).await);
    let mut ids = Vec::new();
    for _ in 0..20 {
        let response = reqwest::get(&url).await.unwrap();
        let id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        ids.push(u64::from_str_radix(&id, 16).unwrap());
    }
    let mut distinct = ids.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), ids.len(), "unique");
    for pair in ids.windows(2) {
        let steps = unmix(pair[1])
            .wrapping_sub(unmix(pair[0]))
            .wrapping_mul(GAMMA_INV);
        assert!(
            steps > 1_000_000,
            "one id predicts the next: {steps} steps apart"
        );
    }
}

static EXTRACTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// An extractor with a side effect, as an idempotency-key reservation would have.
struct Reserves;

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Reserves {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        _parts: &mut http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        EXTRACTED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(Reserves)
    }
}

#[public(validate = Post)]
async fn reserve_then_create(_reserved: Reserves, post: Post) -> String {
    post.title
}

#[tokio::test]
async fn the_body_is_validated_before_the_handlers_other_extractors_run() {
    use std::sync::atomic::Ordering::SeqCst;
    let router: SecureRouter = SecureRouter::new()
        .route("/reserve", post(reserve_then_create))
        .with_security(Security::builder().build().unwrap());
    let base = serve(router).await;
    let refused = post_text(&base, "/reserve", r#"{"title":""}"#).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        EXTRACTED.load(SeqCst),
        0,
        "the extractor ran for a refused body"
    );
    let fine = post_text(&base, "/reserve", r#"{"title":"t","content":"c"}"#).await;
    assert_eq!(fine.status(), StatusCode::OK);
    assert_eq!(EXTRACTED.load(SeqCst), 1);
}

static DROPPED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

struct SetOnDrop;

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        DROPPED.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[public(timeout = "200ms")]
async fn slow() -> &'static str {
    let _guard = SetOnDrop;
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    "too late"
}

#[public(concurrency = 2)]
async fn expensive() -> &'static str {
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    "done"
}

#[tokio::test]
async fn a_handler_past_its_timeout_is_dropped_and_answered_503() {
    let router: SecureRouter = SecureRouter::new()
        .route("/slow", get(slow))
        .with_security(Security::builder().build().unwrap());
    let base = serve(router).await;
    let started = std::time::Instant::now();
    let response = reqwest::get(format!("{base}/slow")).await.unwrap();
    let took = started.elapsed();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_security_headers(&response);
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"error":"Service unavailable"}"#
    );
    assert!(took < std::time::Duration::from_secs(2), "{took:?}");
    assert!(
        DROPPED.load(std::sync::atomic::Ordering::SeqCst),
        "the future was dropped"
    );
}

#[tokio::test]
async fn requests_past_the_concurrency_cap_wait_briefly_then_get_503() {
    let router: SecureRouter = SecureRouter::new()
        .route("/expensive", get(expensive))
        .with_security(Security::builder().build().unwrap());
    let url = format!("{}/expensive", serve(router).await);
    let requests: Vec<_> = (0..5)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move {
                let response = reqwest::get(&url).await.unwrap();
                (response.status(), response.text().await.unwrap())
            })
        })
        .collect();
    let mut served = 0;
    let mut refused = 0;
    for request in requests {
        match request.await.unwrap() {
            (StatusCode::OK, _) => served += 1,
            (StatusCode::SERVICE_UNAVAILABLE, body) => {
                assert_eq!(body, r#"{"error":"Service unavailable"}"#);
                refused += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        (served, refused),
        (2, 3),
        "two at once; the others wait a second, then 503"
    );
}

/// Served with `secure_endpoint::serve` and short timeouts.
async fn served_with_timeouts() -> std::net::SocketAddr {
    let router: SecureRouter = SecureRouter::new()
        .route("/posts", post(create))
        .with_security(Security::builder().build().unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = secure_endpoint::serve(listener, router)
        .unwrap()
        .header_timeout(std::time::Duration::from_millis(300))
        .body_timeout(std::time::Duration::from_millis(300));
    let addr = server.local_addr().unwrap();
    tokio::spawn(async move { server.await.unwrap() });
    addr
}

/// Everything the server writes until it closes the connection, within `within`.
async fn read_until_closed(
    stream: &mut tokio::net::TcpStream,
    within: std::time::Duration,
) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut seen = Vec::new();
    let read = tokio::time::timeout(within, stream.read_to_end(&mut seen)).await;
    read.ok()
        .map(|_| String::from_utf8_lossy(&seen).into_owned())
}

#[tokio::test]
async fn half_a_request_head_is_not_held_for_ever() {
    use tokio::io::AsyncWriteExt;
    let addr = served_with_timeouts().await;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST /posts HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let closed = read_until_closed(&mut stream, std::time::Duration::from_secs(3)).await;
    assert!(closed.is_some(), "the connection was still open after 3 s");
    // An idle kept-alive connection is closed the same way.
    let mut idle = tokio::net::TcpStream::connect(addr).await.unwrap();
    let closed = read_until_closed(&mut idle, std::time::Duration::from_secs(3)).await;
    assert!(
        closed.is_some(),
        "an idle connection was still open after 3 s"
    );
}

#[tokio::test]
async fn a_trickled_body_is_cut_off_with_408() {
    use tokio::io::AsyncWriteExt;
    let addr = served_with_timeouts().await;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            b"POST /posts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"title\":",
        )
        .await
        .unwrap();
    let answer = read_until_closed(&mut stream, std::time::Duration::from_secs(3))
        .await
        .expect("answered and closed within 3 s");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains(r#"{"error":"Request timeout"}"#),
        "{answer}"
    );
    assert!(
        answer.contains("x-content-type-options: nosniff"),
        "{answer}"
    );
}

#[tokio::test]
async fn a_complete_request_is_served_with_the_client_address() {
    let addr = served_with_timeouts().await;
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/posts"))
        .header("content-type", "application/json")
        .body(r#"{"title":"t","content":"c"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "t|c|0|0");
}

/// Five megabytes of answer, for clients that never read it.
#[secure_endpoint::public]
async fn big_page() -> String {
    "x".repeat(5 * 1024 * 1024)
}

/// Served with a short write timeout and small connection caps.
async fn served_with_caps(max: usize, per_address: usize) -> std::net::SocketAddr {
    let router: SecureRouter =
        SecureRouter::new().route("/big", secure_endpoint::routing::get(big_page));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = secure_endpoint::serve(listener, router)
        .unwrap()
        .write_timeout(std::time::Duration::from_millis(300))
        .max_connections(max)
        .max_connections_per_address(per_address);
    let addr = server.local_addr().unwrap();
    tokio::spawn(async move { server.await.unwrap() });
    addr
}

/// A client that asks for the big page and reads nothing of it.
async fn never_reads(addr: std::net::SocketAddr) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    // A small receive window, so that the server's writes stall soon.
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    stream
        .write_all(b"GET /big HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    stream
}

/// Whether a new client is served the page: a plain HEAD-less GET, read to its end.
async fn served(addr: std::net::SocketAddr) -> bool {
    reqwest::Client::new()
        .get(format!("http://{addr}/big"))
        .timeout(std::time::Duration::from_secs(5))
        .send()
        .await
        .is_ok_and(|response| response.status() == StatusCode::OK)
}

#[tokio::test]
async fn connections_past_the_cap_are_closed_until_stalled_ones_time_out() {
    let addr = served_with_caps(2, 64).await;
    let _first = never_reads(addr).await;
    let _second = never_reads(addr).await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    // Both slots are held by clients that read nothing: a third is closed at once.
    assert!(!served(addr).await, "a third connection while two are held");
    // Their writes stall past the write timeout: they are closed, and their slots free.
    tokio::time::sleep(std::time::Duration::from_millis(900)).await;
    assert!(
        served(addr).await,
        "served once the stalled connections timed out"
    );
}

#[tokio::test]
async fn one_address_cannot_take_every_connection() {
    let addr = served_with_caps(100, 1).await;
    let _held = never_reads(addr).await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(
        !served(addr).await,
        "a second connection from the same address"
    );
    tokio::time::sleep(std::time::Duration::from_millis(900)).await;
    assert!(served(addr).await);
}
