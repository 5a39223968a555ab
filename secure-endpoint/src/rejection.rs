//! Every refusal the framework answers, each with a fixed status and body, and the one
//! place that turns them into responses.

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};

/// A request refused by a policy step. The client sees only the fixed status and body;
/// the reason was already written to the log by the step that refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// 401: no usable credential, or one that failed verification.
    Unauthorized {
        /// A token was presented (and refused): the challenge then carries
        /// `error="invalid_token"` (RFC 6750).
        token_given: bool,
    },
    /// 403: the principal lacks a required role or scope.
    Forbidden,
    /// 404.
    NotFound,
    /// 500: the server cannot enforce the policy (missing settings); never the client's
    /// fault and never explained to it.
    Internal,
}

/// Marks a response whose body is already in the framework's shape, so that the outer
/// layer leaves it alone.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Finished;

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let (status, body): (StatusCode, &'static [u8]) = match self {
            Rejection::Unauthorized { .. } => {
                (StatusCode::UNAUTHORIZED, br#"{"error":"Unauthorized"}"#)
            }
            Rejection::Forbidden => (StatusCode::FORBIDDEN, br#"{"error":"Forbidden"}"#),
            Rejection::NotFound => (StatusCode::NOT_FOUND, br#"{"error":"Not found"}"#),
            // The outer layer writes the generic 500 body with the request id.
            Rejection::Internal => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        };
        let mut response = json_response(status, Bytes::from_static(body));
        if let Rejection::Unauthorized { token_given } = self {
            let challenge = if token_given {
                HeaderValue::from_static(r#"Bearer error="invalid_token""#)
            } else {
                HeaderValue::from_static("Bearer")
            };
            response.headers_mut().insert(WWW_AUTHENTICATE, challenge);
        }
        response.extensions_mut().insert(Finished);
        response
    }
}

pub(crate) fn json_response(status: StatusCode, body: Bytes) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// `{"error":"<message>"}` for a status the framework answers without a more specific
/// rejection (404 and 405 for unknown routes, 413 from a body limit, …).
pub(crate) fn generic_body(status: StatusCode) -> Bytes {
    let message = match status {
        StatusCode::BAD_REQUEST => "Bad request",
        StatusCode::UNAUTHORIZED => "Unauthorized",
        StatusCode::FORBIDDEN => "Forbidden",
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::METHOD_NOT_ALLOWED => "Method not allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "Payload too large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "Unsupported media type",
        StatusCode::TOO_MANY_REQUESTS => "Too many requests",
        other => other.canonical_reason().unwrap_or("Request refused"),
    };
    Bytes::from(serde_json::json!({ "error": message }).to_string())
}

/// Replaces the body of an extractor's rejection (axum's are plain text and may quote the
/// input) with the generic JSON for its status. 5xx are left for the outer layer.
pub(crate) fn reshape_rejection<T>(
    response: Response,
    route: Option<axum::extract::MatchedPath>,
) -> Response {
    if response.extensions().get::<Finished>().is_some() || response.status().is_server_error() {
        return response;
    }
    tracing::info!(
        target: "secure_endpoint::audit",
        route = route.as_ref().map_or("?", |r| r.as_str()),
        extractor = std::any::type_name::<T>(),
        status = response.status().as_u16(),
        decision = "deny",
        step = "extract",
        "request refused by an extractor"
    );
    let (mut parts, _) = response.into_parts();
    let status = parts.status;
    parts.headers.remove(http::header::CONTENT_LENGTH);
    parts
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    parts.extensions.insert(Finished);
    Response::from_parts(parts, Body::from(generic_body(status)))
}
