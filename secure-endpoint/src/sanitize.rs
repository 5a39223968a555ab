//! The outermost layer of a `SecureRouter`: gives each request an id and the router's
//! context, catches panics, replaces every 5xx body with the generic one (logging the
//! detail under the request id), gives empty 4xx bodies the JSON shape, and adds the
//! security headers to every response.

use std::any::Any;
use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;

use std::task::{self, Poll, ready};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use futures_util::future::CatchUnwind;
use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

use crate::audit::{self, Route, Step};
use crate::context::{Context, RequestContext};
use crate::cors::{self, Preflight};
use crate::error::ErrorReport;
use crate::rejection::{self, Finished, Rejection};
use crate::request_id::RequestId;

/// The security headers every response gets: one list, which the scanner checks too.
pub(crate) const SECURITY_HEADERS: [(&str, &str); 5] = [
    ("x-content-type-options", "nosniff"),
    (
        "content-security-policy",
        "default-src 'none'; frame-ancestors 'none'",
    ),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("cross-origin-resource-policy", "same-origin"),
];

/// The response header that carries the request's id.
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Set on every response whose handler set no `Cache-Control` of its own.
pub(crate) const DEFAULT_CACHE_CONTROL: (&str, &str) = ("cache-control", "no-store");

/// The headers added to every response, built once: the fixed list, and
/// `Strict-Transport-Security` when configured.
fn security_headers(context: &Context) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in SECURITY_HEADERS {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    if let Some(hsts) = context.hsts() {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, hsts.clone());
    }
    headers
}

/// What the outer layer shares between requests: the router's context, handed to each
/// request, and the headers every response gets.
pub(crate) struct Shared {
    context: Arc<Context>,
    headers: HeaderMap,
    error_body: Option<Arc<dyn rejection::ErrorBody>>,
}

/// The outermost layer of a served `SecureRouter`.
#[derive(Clone)]
pub(crate) struct SanitizeLayer {
    shared: Arc<Shared>,
}

impl SanitizeLayer {
    pub(crate) fn new(context: Context) -> Self {
        let headers = security_headers(&context);
        let error_body = context.error_body().cloned();
        SanitizeLayer {
            shared: Arc::new(Shared {
                context: Arc::new(context),
                headers,
                error_body,
            }),
        }
    }
}

impl<S> Layer<S> for SanitizeLayer {
    type Service = Sanitize<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Sanitize {
            inner,
            shared: self.shared.clone(),
        }
    }
}

#[derive(Clone)]
pub(crate) struct Sanitize<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> Service<Request> for Sanitize<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = SanitizeFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut task::Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let id = RequestId::next();
        let cors = self.shared.context.cors();
        let origin = cors.and_then(|_| request.headers().get(header::ORIGIN).cloned());
        let span = tracing::info_span!(
            "request",
            request_id = %id,
            method = %request.method(),
            path = %request.uri().path(),
        );
        request.extensions_mut().insert(RequestContext {
            id,
            context: self.shared.context.clone(),
            caller: None,
        });
        // A CORS preflight is answered here, before any policy step.
        if let Some(cors) = cors {
            let (parts, _body) = request.into_parts();
            if cors::is_preflight(&parts) {
                let methods = self.shared.context.methods_of(parts.uri.path());
                let mut response = {
                    let _entered = span.enter();
                    preflight(&parts, cors.preflight(&parts, methods.as_deref()))
                };
                response.extensions_mut().insert(PreflightAnswer);
                return SanitizeFuture {
                    inner: Called::Answered {
                        response: Some(response),
                    },
                    id,
                    span,
                    shared: self.shared.clone(),
                    origin,
                };
            }
            request = Request::from_parts(parts, _body);
        }
        // A panic in `call` itself (a layer's synchronous part) is caught too, not only
        // one while the future runs.
        let inner = {
            let _entered = span.enter();
            match std::panic::catch_unwind(AssertUnwindSafe(|| self.inner.call(request))) {
                Ok(future) => Called::Running {
                    future: AssertUnwindSafe(future).catch_unwind(),
                },
                Err(panic) => Called::Panicked { panic: Some(panic) },
            }
        };
        SanitizeFuture {
            inner,
            id,
            span,
            shared: self.shared.clone(),
            origin,
        }
    }
}

pin_project_lite::pin_project! {
    /// The inner service's future, or the panic its `call` raised.
    #[project = CalledProjection]
    pub(crate) enum Called<F> {
        Running { #[pin] future: CatchUnwind<AssertUnwindSafe<F>> },
        Panicked { panic: Option<Box<dyn Any + Send>> },
        Answered { response: Option<Response> },
    }
}

pin_project_lite::pin_project! {
    pub(crate) struct SanitizeFuture<F> {
        #[pin]
        inner: Called<F>,
        id: RequestId,
        span: tracing::Span,
        shared: Arc<Shared>,
        // The request's `Origin`, when the settings have CORS.
        origin: Option<HeaderValue>,
    }
}

impl<F> Future for SanitizeFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _entered = this.span.enter();
        let outcome = match this.inner.project() {
            CalledProjection::Running { future } => ready!(future.poll(cx)),
            CalledProjection::Panicked { panic } => Err(panic
                .take()
                .expect("a sanitized future is polled to completion once")),
            CalledProjection::Answered { response } => Ok(Ok(response
                .take()
                .expect("a sanitized future is polled to completion once"))),
        };
        let response = match outcome {
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
        Poll::Ready(Ok(finish(
            response,
            *this.id,
            this.shared,
            this.origin.as_ref(),
        )))
    }
}

/// The detail of this 5xx was already logged.
#[derive(Clone, Copy)]
struct Logged;

/// A preflight's answer, whose CORS headers are written already.
#[derive(Clone, Copy)]
struct PreflightAnswer;

/// The response to a preflight, as the CORS settings decided it.
fn preflight(parts: &http::request::Parts, decided: Preflight) -> Response {
    match decided {
        Preflight::Allowed(headers) => {
            let mut response = StatusCode::NO_CONTENT.into_response();
            response.headers_mut().extend(headers);
            response
        }
        Preflight::Refused(reason) => {
            audit::deny(&Route::preflight(parts), Step::Cors, reason);
            Rejection::Forbidden.into_response()
        }
        Preflight::NoRoute => Rejection::NotFound.into_response(),
        Preflight::MethodNotAllowed(allow) => {
            let mut response = Rejection::MethodNotAllowed.into_response();
            if let Some(allow) = allow {
                response.headers_mut().insert(header::ALLOW, allow);
            }
            response
        }
    }
}

fn finish(
    response: Response,
    id: RequestId,
    shared: &Shared,
    origin: Option<&HeaderValue>,
) -> Response {
    let status = response.status();
    let shaped = response.extensions().get::<Finished>().is_some();
    let mut response = if status.is_server_error() && !shaped {
        sanitize(response, id)
    } else if status.is_client_error()
        && !shaped
        && http_body::Body::size_hint(response.body()).exact() == Some(0)
    {
        rejection::reshape(response)
    } else {
        response
    };
    if let Some(writer) = &shared.error_body
        && response.status().as_u16() >= 400
    {
        let id = response.status().is_server_error().then_some(id);
        response = rejection::rewrite(response, &**writer, id);
    }
    let headers = response.headers_mut();
    headers.reserve(shared.headers.len() + 2);
    for (name, value) in &shared.headers {
        headers.insert(name, value.clone());
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(DEFAULT_CACHE_CONTROL.1),
        );
    }
    headers.insert(
        X_REQUEST_ID,
        HeaderValue::from_bytes(&id.hex()).expect("hex is a valid header value"),
    );
    if let Some(cors) = shared.context.cors()
        && response.extensions().get::<PreflightAnswer>().is_none()
    {
        cors.decorate(response.headers_mut(), origin);
    }
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
    rejection::internal_error(id)
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
