//! Serves `N` requests of `POST /posts` in process, one way, for counting their
//! instructions under `valgrind --tool=callgrind`:
//!
//! `request-count one-limit|two-limits|hand-written-no-crypto|secure|hand-written|hand-written-same-response|owner|can N [SCENARIO]`
//!
//! `one-limit` and `two-limits` run the `#[secure]` route with the fixed-token
//! authenticator (no cryptography, so the limits are a visible part of the count);
//! `two-limits` declares `rate = ["…/s", "…/d"]` where `one-limit` declares one rate;
//! `hand-written-no-crypto` is the hand-written handler on the same fixed token.
//! `secure`, `hand-written` and `hand-written-same-response` are the benchmark's three
//! HS256 variants of `POST /posts` (the same token, body and answer). `owner` and `can`
//! are `PUT /posts/1` on a loaded post, its author checked with `owner` or asked of the
//! embedded Cedar engine with the blog's policies (`can = "edit"`). The count of
//! `N = 0` is the setup; the difference per request is the request's.
//!
//! `SCENARIO` is `success` (the default, answered 201) or one of the refusals the load
//! benchmark measures: `bad-signature` (401: the token's tag altered), `over-the-limit`
//! (429: the route limited to one request an hour, its first request served during the
//! setup) or `invalid-body` (400: an empty title).

use axum::body::Body;
use axum::http::{Request, StatusCode};
use secure_endpoint_benches as fixtures;
use tower::ServiceExt;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(variant), Some(count)) = (args.next(), args.next()) else {
        eprintln!(
            "usage: request-count VARIANT N [success|bad-signature|over-the-limit|invalid-body]"
        );
        std::process::exit(2);
    };
    let Ok(count) = count.parse::<usize>() else {
        eprintln!("request-count: N must be a whole number, not {count:?}");
        std::process::exit(2);
    };
    // Every variant gets the same token, minted with jsonwebtoken alone after the router
    // is built: the hand-written variants never make a secure-endpoint key, so their
    // process keeps jsonwebtoken's own provider, as a hand-written service would.
    let mut method = axum::http::Method::POST;
    let (router, path, jwt) = match variant.as_str() {
        "owner" | "can" => {
            method = axum::http::Method::PUT;
            let path = if variant == "owner" {
                "/owner/posts/1"
            } else {
                "/can/posts/1"
            };
            (fixtures::permissions::router(), path, true)
        }
        "one-limit" => (fixtures::secure_without_crypto(), "/posts", false),
        "two-limits" => (
            fixtures::secure_without_crypto(),
            "/posts-two-limits",
            false,
        ),
        "hand-written-no-crypto" => (fixtures::hand_written_without_crypto(), "/posts", false),
        "secure" => (fixtures::secure(), "/posts", true),
        "hand-written" => (fixtures::hand_written(), "/posts", true),
        "hand-written-same-response" => (fixtures::hand_written_same_response(), "/posts", true),
        other => {
            eprintln!("request-count: unknown variant {other:?}");
            std::process::exit(2);
        }
    };
    let scenario = args.next().unwrap_or_else(|| "success".to_owned());
    let mut minted = fixtures::token_from_jsonwebtoken();
    let (path, body, expected) = match scenario.as_str() {
        "success" => (path, fixtures::body(), StatusCode::CREATED),
        "bad-signature" => {
            // The tag's first character changed: still base64url, no longer the tag.
            let at = minted.rfind('.').expect("a JWT has three parts") + 1;
            let altered = if minted[at..].starts_with('A') {
                "B"
            } else {
                "A"
            };
            minted.replace_range(at..=at, altered);
            (path, fixtures::body(), StatusCode::UNAUTHORIZED)
        }
        "over-the-limit" if method == axum::http::Method::POST => {
            ("/limited", fixtures::body(), StatusCode::TOO_MANY_REQUESTS)
        }
        "invalid-body" => (path, fixtures::invalid_body(), StatusCode::BAD_REQUEST),
        other => {
            eprintln!("request-count: unknown scenario {other:?}");
            std::process::exit(2);
        }
    };
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
    let request = |body: &String| {
        Request::builder()
            .method(method.clone())
            .uri(path)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(Body::from(body.clone()))
            .expect("a request")
    };
    // Over the limit, the first request (uncounted, in the setup) spends the hour's one.
    if expected == StatusCode::TOO_MANY_REQUESTS {
        let status = runtime
            .block_on(router.clone().oneshot(request(&body)))
            .expect("infallible")
            .status();
        assert_eq!(
            status,
            StatusCode::CREATED,
            "the limited route's first request"
        );
    }
    for _ in 0..count {
        let status = runtime
            .block_on(router.clone().oneshot(request(&body)))
            .expect("infallible")
            .status();
        assert_eq!(status, expected, "{variant}, {scenario}");
    }
}
