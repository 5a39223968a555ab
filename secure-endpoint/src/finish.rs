//! The outermost layer of a `SecureRouter`: gives each request an id, catches panics,
//! replaces every 5xx body with the generic one (logging the detail under the request
//! id), gives empty 4xx bodies the JSON shape, and adds the security headers to every
//! response.

use std::any::Any;
use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use futures_util::future::CatchUnwind;
use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

use crate::error::ErrorReport;
use crate::rate::RouteLimiter;
use crate::rejection::{Finished, generic_body, json_response};
use crate::security::Security;

/// The id given to one request: in the 500 body, the `x-request-id` response header and
/// every log line about the request.
///
/// Handlers can take it as an extension (`Extension<RequestId>`) to log under it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestId(u64);

impl RequestId {
    fn next() -> Self {
        static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let seed = *SEED.get_or_init(|| {
            use std::hash::{BuildHasher, Hasher};
            std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish()
        });
        // splitmix64 of a per-process random start: unique within the process and not
        // guessable from outside.
        let mut z = seed.wrapping_add(
            COUNTER
                .fetch_add(1, Ordering::Relaxed)
                .wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        RequestId(z ^ (z >> 31))
    }
}

impl RequestId {
    /// Sixteen lowercase hex digits, without the formatting machinery.
    fn hex(self) -> [u8; 16] {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 16];
        for (i, digit) in out.iter_mut().enumerate() {
            *digit = DIGITS[((self.0 >> (60 - 4 * i)) & 0xf) as usize];
        }
        out
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = self.hex();
        f.write_str(std::str::from_utf8(&hex).expect("hex digits are ASCII"))
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RequestId({self})")
    }
}

/// What every request of one router shares.
pub(crate) struct Shared {
    pub(crate) security: Option<Arc<Security>>,
    headers: HeaderMap,
    /// The limits of each rate-limited handler, one per path it is routed on.
    pub(crate) limits: HashMap<std::any::TypeId, Vec<(String, RouteLimiter)>>,
    /// Failed authentications per client address.
    pub(crate) failed_auth: Option<RouteLimiter>,
}

impl Shared {
    pub(crate) fn new(
        security: Option<Arc<Security>>,
        limits: HashMap<std::any::TypeId, Vec<(String, RouteLimiter)>>,
        failed_auth: Option<RouteLimiter>,
    ) -> Self {
        let mut headers = HeaderMap::new();
        let fixed: [(HeaderName, &'static str); 5] = [
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; frame-ancestors 'none'",
            ),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::REFERRER_POLICY, "no-referrer"),
            (
                HeaderName::from_static("cross-origin-resource-policy"),
                "same-origin",
            ),
        ];
        for (name, value) in fixed {
            headers.insert(name, HeaderValue::from_static(value));
        }
        if let Some(hsts) = security.as_ref().and_then(|s| s.hsts.clone()) {
            headers.insert(header::STRICT_TRANSPORT_SECURITY, hsts);
        }
        Shared {
            security,
            headers,
            limits,
            failed_auth,
        }
    }
}

/// The handle through which the policy steps reach the router's settings and limits;
/// present when the router has security settings.
#[derive(Clone)]
pub(crate) struct SecurityHandle(pub(crate) Arc<Shared>);

impl SecurityHandle {
    pub(crate) fn security(&self) -> &Security {
        self.0
            .security
            .as_deref()
            .expect("the handle is inserted only with settings")
    }
}

#[derive(Clone)]
pub(crate) struct FinishLayer {
    pub(crate) shared: Arc<Shared>,
}

impl<S> Layer<S> for FinishLayer {
    type Service = Finish<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Finish {
            inner,
            shared: self.shared.clone(),
        }
    }
}

#[derive(Clone)]
pub(crate) struct Finish<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> Service<Request> for Finish<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = FinishFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let id = RequestId::next();
        let span = tracing::info_span!(
            "request",
            request_id = %id,
            method = %request.method(),
            path = %request.uri().path(),
        );
        request.extensions_mut().insert(id);
        if self.shared.security.is_some() {
            request
                .extensions_mut()
                .insert(SecurityHandle(self.shared.clone()));
        }
        let inner = {
            let _entered = span.enter();
            AssertUnwindSafe(self.inner.call(request)).catch_unwind()
        };
        FinishFuture {
            inner,
            id,
            span,
            shared: self.shared.clone(),
        }
    }
}

pin_project_lite::pin_project! {
    pub(crate) struct FinishFuture<F> {
        #[pin]
        inner: CatchUnwind<AssertUnwindSafe<F>>,
        id: RequestId,
        span: tracing::Span,
        shared: Arc<Shared>,
    }
}

impl<F> Future for FinishFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _entered = this.span.enter();
        let response = match ready!(this.inner.poll(cx)) {
            Ok(Ok(response)) => response,
            Ok(Err(never)) => match never {},
            Err(panic) => {
                tracing::error!(
                    request_id = %this.id,
                    panic = %panic_message(&*panic),
                    "handler panicked"
                );
                let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
                response.extensions_mut().insert(Logged);
                response
            }
        };
        Poll::Ready(Ok(finish(response, *this.id, this.shared)))
    }
}

/// The detail of this 5xx was already logged.
#[derive(Clone, Copy)]
struct Logged;

fn finish(response: Response, id: RequestId, shared: &Shared) -> Response {
    let status = response.status();
    let mut response =
        if status.is_server_error() && response.extensions().get::<Finished>().is_none() {
            sanitize(response, id)
        } else if status.is_client_error()
            && response.extensions().get::<Finished>().is_none()
            && http_body::Body::size_hint(response.body()).exact() == Some(0)
        {
            let (mut parts, _) = response.into_parts();
            parts.headers.remove(header::CONTENT_LENGTH);
            parts.headers.remove(header::CONTENT_TYPE);
            let mut shaped = json_response(status, generic_body(status));
            shaped.headers_mut().extend(parts.headers);
            *shaped.extensions_mut() = parts.extensions;
            shaped
        } else {
            response
        };
    let headers = response.headers_mut();
    headers.reserve(shared.headers.len() + 2);
    for (name, value) in &shared.headers {
        headers.insert(name, value.clone());
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    headers.insert(
        HeaderName::from_static("x-request-id"),
        HeaderValue::from_bytes(&id.hex()).expect("hex is a valid header value"),
    );
    response
}

/// Any 5xx becomes the generic 500; what it carried goes to the log.
fn sanitize(response: Response, id: RequestId) -> Response {
    let status = response.status();
    if response.extensions().get::<Logged>().is_none() {
        match response.extensions().get::<ErrorReport>() {
            Some(ErrorReport(detail)) => tracing::error!(
                request_id = %id,
                error = %detail,
                "handler returned an error"
            ),
            None => tracing::error!(
                request_id = %id,
                status = status.as_u16(),
                "handler answered with a server error; its body was replaced"
            ),
        }
    }
    let body = serde_json::json!({
        "error": "An unexpected error occurred",
        "request_id": id.to_string(),
    })
    .to_string();
    json_response(StatusCode::INTERNAL_SERVER_ERROR, body.into())
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(message) = payload.downcast_ref::<&'static str>() {
        message
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message
    } else {
        "a panic with a non-string payload"
    }
}

#[cfg(test)]
mod tests {
    use super::RequestId;

    #[test]
    fn request_ids_print_as_sixteen_hex_digits() {
        assert_eq!(RequestId(0).to_string(), "0000000000000000");
        assert_eq!(
            RequestId(0x0123_4567_89ab_cdef).to_string(),
            "0123456789abcdef"
        );
        assert_eq!(
            RequestId(u64::MAX).to_string(),
            format!("{:016x}", u64::MAX)
        );
    }
}
