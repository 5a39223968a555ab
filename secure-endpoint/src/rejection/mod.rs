//! Every refusal the framework answers, each with a fixed status and body, the one
//! `IntoResponse` that turns them into responses (for handlers' [`Error`]s too), and the
//! one writer of error bodies. No other file builds an error body: the handler's own
//! refusals ([`Error::client`]), reshaped extractor rejections and the sanitized 500 are
//! all written here. The application's own shape of bodies is [`error_body`]; the 429's
//! rate-limit fields are [`rate_limit_fields`].
//!
//! [`Error::client`]: crate::Error::client

mod error_body;
mod rate_limit_fields;

pub(crate) use error_body::rewrite;
pub use error_body::{ErrorBody, ErrorInfo, ProblemJson};

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};

use crate::error::Error;
use crate::input::Details;
use crate::rate::Limit;
use crate::request_id::RequestId;

/// A request refused by a policy step. The client sees only the fixed status and body;
/// the reason was already written to the log by the step that refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// 400 `{"error":"Invalid input","details":{…}}`: the body or query is malformed, of
    /// the wrong shape, carries undeclared fields, or breaks a rule.
    InvalidInput(Details),
    /// 401: no usable credential, or one that failed verification.
    Unauthorized {
        /// A token was presented (and refused): the challenge then carries
        /// `error="invalid_token"` (RFC 6750).
        token_given: bool,
    },
    /// 403: the principal lacks a required role or scope, or does not own the resource.
    Forbidden,
    /// 404.
    NotFound,
    /// 405: the path has no route for the method (a CORS preflight asking for one).
    MethodNotAllowed,
    /// 413: the body is larger than the route's limit.
    PayloadTooLarge,
    /// 415: the body is not declared as JSON.
    UnsupportedMediaType,
    /// 408: the body did not arrive within the server's body timeout.
    RequestTimeout,
    /// 429 with `Retry-After`, `RateLimit-Policy` and `RateLimit`.
    TooManyRequests {
        /// Every limit of the route, as `RateLimit-Policy` lists them (empty for a limit
        /// outside the route's policy, such as failed authentications).
        limits: &'static [Limit],
        /// The limit that refused.
        refused: Limit,
        /// When a request may pass again.
        retry_after: Duration,
    },
    /// 500: the server cannot enforce the policy (missing settings); never the client's
    /// fault and never explained to it. The outer layer writes the body with the
    /// request id.
    Internal,
    /// 503: a shared store the policy needs is unreachable and the settings fail closed.
    Unavailable,
}

/// Marks a response whose error body the framework wrote, with what it says: the outer
/// layer leaves it alone, or, with an [`ErrorBody`] of the application's own shape,
/// writes it again from these facts (never from anything else the response carries).
#[derive(Debug, Clone)]
pub(crate) struct Finished {
    pub(crate) message: Cow<'static, str>,
    pub(crate) details: Option<Details>,
}

impl Rejection {
    /// The status the client receives.
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::InvalidInput(_) => StatusCode::BAD_REQUEST,
            Rejection::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Rejection::Forbidden => StatusCode::FORBIDDEN,
            Rejection::NotFound => StatusCode::NOT_FOUND,
            Rejection::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Rejection::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Rejection::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Rejection::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Rejection::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Rejection::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Rejection::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        match self {
            Rejection::InvalidInput(details) => {
                let body = invalid_input_body(&details);
                let response = json(StatusCode::BAD_REQUEST, body);
                finished(response, Cow::Borrowed("Invalid input"), Some(details))
            }
            Rejection::Unauthorized { token_given } => {
                let mut response = fixed(StatusCode::UNAUTHORIZED);
                let challenge = if token_given {
                    HeaderValue::from_static(r#"Bearer error="invalid_token""#)
                } else {
                    HeaderValue::from_static("Bearer")
                };
                response.headers_mut().insert(WWW_AUTHENTICATE, challenge);
                response
            }
            Rejection::TooManyRequests {
                limits,
                refused,
                retry_after,
            } => rate_limit_fields::too_many_requests(
                fixed(StatusCode::TOO_MANY_REQUESTS),
                limits,
                &refused,
                retry_after,
            ),
            // The outer layer writes the generic 500 body with the request id.
            Rejection::Internal => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            other => fixed(other.status()),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.status())
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        match self.into_parts() {
            Ok((status, message)) => client_error(status, message),
            Err(report) => {
                let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
                response.extensions_mut().insert(report);
                response
            }
        }
    }
}

fn finished(
    mut response: Response,
    message: Cow<'static, str>,
    details: Option<Details>,
) -> Response {
    response
        .extensions_mut()
        .insert(Finished { message, details });
    response
}

/// The message of the error body for `status`.
pub(crate) fn message(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "Bad request",
        StatusCode::UNAUTHORIZED => "Unauthorized",
        StatusCode::FORBIDDEN => "Forbidden",
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::METHOD_NOT_ALLOWED => "Method not allowed",
        StatusCode::REQUEST_TIMEOUT => "Request timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "Payload too large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "Unsupported media type",
        StatusCode::TOO_MANY_REQUESTS => "Too many requests",
        StatusCode::SERVICE_UNAVAILABLE => "Service unavailable",
        StatusCode::INTERNAL_SERVER_ERROR => "An unexpected error occurred",
        other => other.canonical_reason().unwrap_or("Request refused"),
    }
}

/// `{"error":"<message>"}` for the statuses whose body never changes, written once.
pub(crate) fn fixed_body(status: StatusCode) -> Bytes {
    let body: &'static [u8] = match status {
        StatusCode::BAD_REQUEST => br#"{"error":"Bad request"}"#,
        StatusCode::UNAUTHORIZED => br#"{"error":"Unauthorized"}"#,
        StatusCode::FORBIDDEN => br#"{"error":"Forbidden"}"#,
        StatusCode::NOT_FOUND => br#"{"error":"Not found"}"#,
        StatusCode::METHOD_NOT_ALLOWED => br#"{"error":"Method not allowed"}"#,
        StatusCode::REQUEST_TIMEOUT => br#"{"error":"Request timeout"}"#,
        StatusCode::PAYLOAD_TOO_LARGE => br#"{"error":"Payload too large"}"#,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => br#"{"error":"Unsupported media type"}"#,
        StatusCode::TOO_MANY_REQUESTS => br#"{"error":"Too many requests"}"#,
        StatusCode::SERVICE_UNAVAILABLE => br#"{"error":"Service unavailable"}"#,
        other => return message_body(message(other)),
    };
    Bytes::from_static(body)
}

/// `{"error": message}`, the message escaped as JSON.
fn message_body(message: &str) -> Bytes {
    #[derive(serde::Serialize)]
    struct Body<'a> {
        error: &'a str,
    }
    Bytes::from(serde_json::to_vec(&Body { error: message }).expect("a string serializes"))
}

/// `{"error":"Invalid input","details":{"<path>":["<code>",…],…}}`, written directly:
/// the same bytes serde_json writes for the map, without its serializer's generic
/// machinery on a path every invalid request takes.
fn invalid_input_body(details: &Details) -> Bytes {
    const HEAD: &str = r#"{"error":"Invalid input","details":{"#;
    let size = details.iter().fold(HEAD.len() + 2, |size, (path, codes)| {
        size + path.len() + 5 + codes.iter().map(|code| code.len() + 3).sum::<usize>()
    });
    let mut body = String::with_capacity(size);
    body.push_str(HEAD);
    for (n, (path, codes)) in details.iter().enumerate() {
        if n > 0 {
            body.push(',');
        }
        json_string(&mut body, path);
        body.push_str(":[");
        for (m, code) in codes.iter().enumerate() {
            if m > 0 {
                body.push(',');
            }
            json_string(&mut body, code);
        }
        body.push(']');
    }
    body.push_str("}}");
    Bytes::from(body)
}

/// `text` as a JSON string: copied whole when nothing in it needs escaping (field
/// paths and rule codes almost never do), escaped by serde_json otherwise.
fn json_string(out: &mut String, text: &str) {
    if text
        .bytes()
        .any(|byte| byte < 0x20 || byte == b'"' || byte == b'\\')
    {
        out.push_str(&serde_json::to_string(text).expect("a string serializes"));
    } else {
        out.push('"');
        out.push_str(text);
        out.push('"');
    }
}

fn json(status: StatusCode, body: Bytes) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// The framework's body for `status`, marked finished.
fn fixed(status: StatusCode) -> Response {
    finished(
        json(status, fixed_body(status)),
        Cow::Borrowed(message(status)),
        None,
    )
}

/// The body of a refusal the handler wrote on purpose ([`crate::Error::client`]):
/// `status` with `{"error": message}`.
pub(crate) fn client_error(status: StatusCode, message: Cow<'static, str>) -> Response {
    let body = message_body(&message);
    finished(json(status, body), message, None)
}

/// The generic 500 every server error becomes: only the request id, never the detail.
pub(crate) fn internal_error(id: RequestId) -> Response {
    #[derive(serde::Serialize)]
    struct Body<'a> {
        error: &'static str,
        request_id: &'a str,
    }
    let hex = id.hex();
    let request_id = std::str::from_utf8(&hex).expect("hex digits are ASCII");
    let body = serde_json::to_vec(&Body {
        error: "An unexpected error occurred",
        request_id,
    })
    .expect("strings serialize");
    finished(
        json(StatusCode::INTERNAL_SERVER_ERROR, Bytes::from(body)),
        Cow::Borrowed("An unexpected error occurred"),
        None,
    )
}

/// Gives a response that carries no body of the framework's shape (an extractor's
/// plain-text rejection, which may quote the input, or an empty 4xx) the generic JSON
/// body of its status, keeping its other headers and extensions.
pub(crate) fn reshape(response: Response) -> Response {
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(CONTENT_LENGTH);
    parts
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    parts.extensions.insert(Finished {
        message: Cow::Borrowed(message(parts.status)),
        details: None,
    });
    let body = fixed_body(parts.status);
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// What serde_json writes for the same refusal.
    fn by_serde(details: &Details) -> Vec<u8> {
        #[derive(serde::Serialize)]
        struct Refusal<'a> {
            error: &'static str,
            details: &'a Details,
        }
        serde_json::to_vec(&Refusal {
            error: "Invalid input",
            details,
        })
        .unwrap()
    }

    #[test]
    fn an_invalid_input_body_is_what_serde_json_writes() {
        let mut details = Details::new();
        assert_eq!(invalid_input_body(&details), by_serde(&details));
        details.insert("title".into(), vec![Cow::Borrowed("length")]);
        details.insert(
            "a\"b\\c\u{1}\u{1f}\n\t\r\u{8}\u{c}\u{7f}é✓".into(),
            vec![Cow::Borrowed("unknown"), Cow::Owned("x\"y".into())],
        );
        details.insert("empty".into(), Vec::new());
        assert_eq!(invalid_input_body(&details), by_serde(&details));
    }

    proptest! {
        #[test]
        fn any_details_are_written_as_serde_json_writes_them(
            entries in prop::collection::btree_map(
                any::<String>(),
                prop::collection::vec(any::<String>(), 0..3),
                0..4,
            )
        ) {
            let details: Details = entries
                .into_iter()
                .map(|(path, codes)| (path, codes.into_iter().map(Cow::Owned).collect()))
                .collect();
            prop_assert_eq!(invalid_input_body(&details), by_serde(&details));
        }
    }

    #[test]
    fn fixed_bodies_are_the_messages_as_json() {
        for status in [
            StatusCode::BAD_REQUEST,
            StatusCode::UNAUTHORIZED,
            StatusCode::FORBIDDEN,
            StatusCode::NOT_FOUND,
            StatusCode::METHOD_NOT_ALLOWED,
            StatusCode::REQUEST_TIMEOUT,
            StatusCode::PAYLOAD_TOO_LARGE,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::IM_A_TEAPOT,
        ] {
            assert_eq!(
                fixed_body(status),
                message_body(message(status)),
                "{status}"
            );
        }
    }
}
