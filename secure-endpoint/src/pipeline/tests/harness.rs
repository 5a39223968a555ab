//! What the tests beside each step share: a router built as an application builds it,
//! driven as a tower service, and the answer as a client reads it. Tests only.

use axum::body::Body;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use jsonwebtoken::Algorithm;
use tower::ServiceExt;

use crate::auth::JwtAuthenticator;
use crate::router::SecureRouter;
use crate::security::{Security, SecurityBuilder};
use crate::testing::TokenMint;

/// The secret the tests' tokens are signed with.
pub(crate) const SECRET: [u8; 32] = *b"the pipeline tests' secret, 32 b";

/// Mints tokens the [`settings`] accept.
pub(crate) fn mint() -> TokenMint {
    TokenMint::hmac(Algorithm::HS256, SECRET)
}

/// A valid token for `sub` with `roles`.
pub(crate) fn token(sub: &str, roles: &[&str]) -> String {
    mint().token(sub, roles)
}

/// Settings with an HS256 authenticator for [`mint`]'s tokens, and a limiter in memory.
pub(crate) fn settings() -> SecurityBuilder {
    Security::builder()
        .authenticator(JwtAuthenticator::hmac(Algorithm::HS256, SECRET).expect("a long secret"))
        .rate_limiter(crate::rate::Limiter::memory())
}

/// What a client reads of an answer.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

/// Serves `request` with `router`, built as it is served for real (every request from
/// 192.0.2.1, unless the request carries its own address).
pub(crate) async fn send(router: SecureRouter, request: Request<Body>) -> Answer {
    answer(built(router), request).await
}

/// Serves `request` with an already built router, so that state (limits, permits)
/// carries over between requests.
pub(crate) async fn answer(app: axum::Router, request: Request<Body>) -> Answer {
    let response = app.oneshot(request).await.expect("infallible");
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.expect("a body in memory").to_bytes();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// Builds `router` as it is served for real, to send several requests to.
pub(crate) fn built(router: SecureRouter) -> axum::Router {
    router
        .mock_connect_info(([192, 0, 2, 1], 4000).into())
        .try_into_router()
        .expect("the router's settings are complete")
}

/// A request with `method` to `path`.
pub(crate) fn request(method: &str, path: &str) -> http::request::Builder {
    Request::builder().method(method).uri(path)
}

/// `builder` with a bearer token.
pub(crate) fn bearer(builder: http::request::Builder, token: &str) -> http::request::Builder {
    builder.header("authorization", format!("Bearer {token}"))
}

/// A JSON body.
pub(crate) fn json(builder: http::request::Builder, body: &str) -> Request<Body> {
    builder
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .expect("a valid request")
}

/// No body.
pub(crate) fn empty(builder: http::request::Builder) -> Request<Body> {
    builder.body(Body::empty()).expect("a valid request")
}

/// A note: a resource of its owner and its organisation. Note 1 is user 7's at `acme`,
/// note 2 user 8's at `globex`.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Note {
    pub(crate) id: u32,
    pub(crate) owner: String,
    pub(crate) org: String,
}

/// The notes the tests' store holds.
pub(crate) fn notes() -> Vec<Note> {
    vec![
        Note {
            id: 1,
            owner: "7".into(),
            org: "acme".into(),
        },
        Note {
            id: 2,
            owner: "8".into(),
            org: "globex".into(),
        },
    ]
}

impl crate::resource::Resource for Note {
    type Key = u32;
    type State = ();

    async fn load(id: u32, _state: &()) -> Result<Option<Note>, crate::error::Error> {
        Ok(notes().into_iter().find(|note| note.id == id))
    }
}

/// A principal with an organisation, from the `org` claim.
#[derive(Debug, Clone, serde::Deserialize)]
pub(crate) struct Member {
    pub(crate) sub: String,
    #[serde(default)]
    pub(crate) org: Option<String>,
}

impl crate::principal::Principal for Member {
    fn id(&self) -> &str {
        &self.sub
    }

    fn has_role(&self, _role: &str) -> bool {
        false
    }

    fn tenant(&self) -> Option<&str> {
        self.org.as_deref()
    }
}

/// Settings whose authenticator produces [`Member`]s.
pub(crate) fn member_settings() -> SecurityBuilder {
    Security::builder().authenticator(
        JwtAuthenticator::hmac(Algorithm::HS256, SECRET)
            .expect("a long secret")
            .claims::<Member>(),
    )
}

/// A token for `sub` of organisation `org`, if any.
pub(crate) fn member_token(sub: &str, org: Option<&str>) -> String {
    let mut claims = mint().claims(sub, &[]);
    if let Some(org) = org {
        claims["org"] = org.into();
    }
    mint().sign(&claims)
}
