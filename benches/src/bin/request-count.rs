//! Serves `N` requests of `POST /posts` in process, one way, for counting their
//! instructions under `valgrind --tool=callgrind`:
//!
//! `request-count one-limit|two-limits|secure|hand-written|hand-written-same-response N`
//!
//! `one-limit` and `two-limits` run the `#[secure]` route with the fixed-token
//! authenticator (no cryptography, so the limits are a visible part of the count);
//! `two-limits` declares `rate = ["…/s", "…/d"]` where `one-limit` declares one rate.
//! `secure`, `hand-written` and `hand-written-same-response` are the benchmark's three
//! HS256 variants of `POST /posts` (the same token, body and answer). The count of
//! `N = 0` is the setup; the difference per request is the request's.

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
    // Every variant gets the same token, minted with jsonwebtoken alone after the router
    // is built: the hand-written variants never make a secure-endpoint key, so their
    // process keeps jsonwebtoken's own provider, as a hand-written service would.
    let (router, path, jwt) = match variant.as_str() {
        "one-limit" => (fixtures::secure_without_crypto(), "/posts", false),
        "two-limits" => (
            fixtures::secure_without_crypto(),
            "/posts-two-limits",
            false,
        ),
        "secure" => (fixtures::secure(), "/posts", true),
        "hand-written" => (fixtures::hand_written(), "/posts", true),
        "hand-written-same-response" => (fixtures::hand_written_same_response(), "/posts", true),
        other => {
            eprintln!("request-count: unknown variant {other:?}");
            std::process::exit(2);
        }
    };
    let minted = fixtures::token_from_jsonwebtoken();
    let token = if jwt {
        minted.as_str()
    } else {
        fixtures::FIXED_TOKEN
    };
    // The hand-written variants key their limit on the peer address.
    let router = router.layer(axum::Extension(axum::extract::ConnectInfo(
        std::net::SocketAddr::from(([127, 0, 0, 1], 4000)),
    )));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let body = fixtures::body();
    for _ in 0..count {
        let request = Request::post(path)
            .header("authorization", format!("Bearer {token}"))
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
