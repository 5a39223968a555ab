//! Serves `N` requests of `POST /posts` in process, one way, for counting their
//! instructions under `valgrind --tool=callgrind`:
//!
//! `request-count one-limit|two-limits N`
//!
//! Both ways run the `#[secure]` route with the fixed-token authenticator (no
//! cryptography, so the limits are a visible part of the count), the same body and the
//! same principal; `two-limits` declares `rate = ["…/s", "…/d"]` where `one-limit`
//! declares one rate. The count of `N = 0` is the setup; the difference per request is
//! the request's.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use secure_endpoint_benches as fixtures;
use tower::ServiceExt;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(variant), Some(count)) = (args.next(), args.next()) else {
        eprintln!("usage: request-count one-limit|two-limits N");
        std::process::exit(2);
    };
    let Ok(count) = count.parse::<usize>() else {
        eprintln!("request-count: N must be a whole number, not {count:?}");
        std::process::exit(2);
    };
    let path = match variant.as_str() {
        "one-limit" => "/posts",
        "two-limits" => "/posts-two-limits",
        other => {
            eprintln!("request-count: unknown variant {other:?}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let router = fixtures::secure_without_crypto();
    let body = fixtures::body();
    for _ in 0..count {
        let request = Request::post(path)
            .header("authorization", format!("Bearer {}", fixtures::FIXED_TOKEN))
            .header("content-type", "application/json")
            .body(Body::from(body.clone()))
            .expect("a request");
        let status = runtime
            .block_on(router.clone().oneshot(request))
            .expect("infallible")
            .status();
        assert_eq!(status, StatusCode::CREATED);
    }
}
