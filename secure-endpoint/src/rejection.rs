//! Every refusal the framework answers, each with a fixed status and body, the one
//! `IntoResponse` that turns them into responses, and the one writer of error bodies.
//! No other file builds an error body: the handler's own refusals ([`Error::client`]),
//! reshaped extractor rejections and the sanitized 500 are all written here.
//!
//! [`Error::client`]: crate::Error::client

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderName, HeaderValue, StatusCode};

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
    message: Cow<'static, str>,
    details: Option<Details>,
}

/// What an error body may say: the status, the fixed message for it (or the message a
/// handler wrote on purpose with [`Error::client`](crate::Error::client)), the field
/// paths and rule codes of a 400, the request id of a 500. Never a cause, a value the
/// client sent, or anything a handler's error carried.
#[derive(Debug, Clone, Copy)]
pub struct ErrorInfo<'a> {
    /// The response's status.
    pub status: StatusCode,
    /// `"Unauthorized"`, `"Too many requests"`, …
    pub message: &'a str,
    /// A 400's field paths and rule codes.
    pub details: Option<&'a Details>,
    /// A 500's request id, as in the `x-request-id` header.
    pub request_id: Option<&'a str>,
}

/// An error body of the application's own shape, set once with
/// [`SecurityBuilder::error_body`](crate::SecurityBuilder::error_body): every error the
/// framework answers (refusals, the generic 500, the JSON 404 and 405, empty 4xx) is
/// written by it, from an [`ErrorInfo`] only. A 4xx body a handler builds itself passes
/// through as written, as it does without one.
///
/// ```
/// use secure_endpoint::{ErrorBody, ErrorInfo};
///
/// /// `{"code": 401}`.
/// struct Code;
///
/// impl ErrorBody for Code {
///     fn content_type(&self) -> &'static str {
///         "application/json"
///     }
///
///     fn write(&self, error: &ErrorInfo<'_>) -> Vec<u8> {
///         format!(r#"{{"code":{}}}"#, error.status.as_u16()).into_bytes()
///     }
/// }
/// ```
pub trait ErrorBody: Send + Sync + 'static {
    /// The `Content-Type` of every body it writes.
    fn content_type(&self) -> &'static str;

    /// The body of one error.
    fn write(&self, error: &ErrorInfo<'_>) -> Vec<u8>;
}

/// RFC 9457 problem details: `application/problem+json` with `type` (`about:blank`),
/// `title` (the message), `status`, and `errors` (a 400's details) or `request_id`
/// (a 500's).
#[derive(Debug, Clone, Copy, Default)]
pub struct ProblemJson;

impl ErrorBody for ProblemJson {
    fn content_type(&self) -> &'static str {
        "application/problem+json"
    }

    fn write(&self, error: &ErrorInfo<'_>) -> Vec<u8> {
        #[derive(serde::Serialize)]
        struct Problem<'a> {
            r#type: &'static str,
            title: &'a str,
            status: u16,
            #[serde(skip_serializing_if = "Option::is_none")]
            errors: Option<&'a Details>,
            #[serde(skip_serializing_if = "Option::is_none")]
            request_id: Option<&'a str>,
        }
        serde_json::to_vec(&Problem {
            r#type: "about:blank",
            title: error.message,
            status: error.status.as_u16(),
            errors: error.details,
            request_id: error.request_id,
        })
        .expect("strings and lists serialize")
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let status = match self {
            Rejection::InvalidInput(details) => {
                let body = invalid_input_body(&details);
                let response = json(StatusCode::BAD_REQUEST, body);
                return finished(response, Cow::Borrowed("Invalid input"), Some(details));
            }
            Rejection::Unauthorized { token_given } => {
                let mut response = fixed(StatusCode::UNAUTHORIZED);
                let challenge = if token_given {
                    HeaderValue::from_static(r#"Bearer error="invalid_token""#)
                } else {
                    HeaderValue::from_static("Bearer")
                };
                response.headers_mut().insert(WWW_AUTHENTICATE, challenge);
                return response;
            }
            Rejection::TooManyRequests {
                limits,
                refused,
                retry_after,
            } => {
                return too_many_requests(limits, &refused, retry_after);
            }
            // The outer layer writes the generic 500 body with the request id.
            Rejection::Internal => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            Rejection::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Rejection::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Rejection::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Rejection::Forbidden => StatusCode::FORBIDDEN,
            Rejection::NotFound => StatusCode::NOT_FOUND,
            Rejection::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Rejection::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        };
        fixed(status)
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = match self {
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
        };
        write!(f, "{status}")
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

fn invalid_input_body(details: &Details) -> Bytes {
    #[derive(serde::Serialize)]
    struct Refusal<'a> {
        error: &'static str,
        details: &'a Details,
    }
    let refusal = Refusal {
        error: "Invalid input",
        details,
    };
    Bytes::from(serde_json::to_vec(&refusal).expect("strings and lists serialize"))
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

/// Writes a finished error body again with the application's [`ErrorBody`]; `request_id`
/// for a 500. A response the framework did not write is returned as it is.
pub(crate) fn rewrite(
    response: Response,
    writer: &dyn ErrorBody,
    request_id: Option<RequestId>,
) -> Response {
    let Some(facts) = response.extensions().get::<Finished>().cloned() else {
        return response;
    };
    let (mut parts, _) = response.into_parts();
    let hex = request_id.map(RequestId::hex);
    let id = hex
        .as_ref()
        .map(|hex| std::str::from_utf8(hex).expect("hex digits are ASCII"));
    let body = writer.write(&ErrorInfo {
        status: parts.status,
        message: &facts.message,
        details: facts.details.as_ref(),
        request_id: id,
    });
    parts.headers.remove(CONTENT_LENGTH);
    parts.headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(writer.content_type()),
    );
    Response::from_parts(parts, Body::from(body))
}

/// 429 with `Retry-After` (whole seconds, rounded up, of the limit that refused), and
/// the fields of draft-ietf-httpapi-ratelimit-headers-09: `RateLimit-Policy` lists every
/// limit of the route as a named quota policy (`"10/10s-ip";q=10;w=10`), and
/// `RateLimit` gives the refusing one's service limit (`"10/10s-ip";r=0;t=3`).
///
/// What does not change between refusals of one route is written once and kept (see
/// [`Written`]); per refusal only the seconds are written.
fn too_many_requests(limits: &[Limit], refused: &Limit, retry_after: Duration) -> Response {
    let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    let seconds = seconds.max(1);
    let mut response = fixed(StatusCode::TOO_MANY_REQUESTS);
    let listed = if limits.is_empty() {
        std::slice::from_ref(refused)
    } else {
        limits
    };
    let headers = response.headers_mut();
    headers.reserve(3);
    // The seconds, written once: `Retry-After`'s value, and the end of `RateLimit`'s.
    let retry_after = HeaderValue::from(seconds);
    let written = Written::of(listed, refused);
    if let Some(policy) = written.policy {
        headers.insert(RATELIMIT_POLICY, policy);
    }
    if let Some(prefix) = written.service_prefix {
        let digits = retry_after.as_bytes();
        let mut value = Vec::with_capacity(prefix.len() + digits.len());
        value.extend_from_slice(&prefix);
        value.extend_from_slice(digits);
        if let Ok(value) = HeaderValue::from_maybe_shared(Bytes::from(value)) {
            headers.insert(RATELIMIT, value);
        }
    }
    headers.insert(RETRY_AFTER, retry_after);
    response
}

const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

/// The parts of a 429's rate-limit fields that depend only on the route's limits and the
/// one that refused: `RateLimit-Policy`'s whole value, and `RateLimit`'s up to the
/// seconds. Kept per (limits, refusing limit), up to [`Written::KEPT`] of them; past
/// that, written for each refusal.
#[derive(Clone)]
struct Written {
    policy: Option<HeaderValue>,
    service_prefix: Option<Arc<[u8]>>,
}

impl Written {
    const KEPT: usize = 256;

    fn of(listed: &[Limit], refused: &Limit) -> Written {
        type Kept = Vec<(Vec<Limit>, Limit, Written)>;
        static KEPT: std::sync::RwLock<Kept> = std::sync::RwLock::new(Vec::new());
        if let Ok(kept) = KEPT.read()
            && let Some((_, _, written)) = kept
                .iter()
                .find(|(limits, limit, _)| limits.as_slice() == listed && limit == refused)
        {
            return written.clone();
        }
        let written = Written::write(listed, refused);
        if let Ok(mut kept) = KEPT.write()
            && kept.len() < Self::KEPT
            && !kept
                .iter()
                .any(|(limits, limit, _)| limits.as_slice() == listed && limit == refused)
        {
            kept.push((listed.to_vec(), *refused, written.clone()));
        }
        written
    }

    fn write(listed: &[Limit], refused: &Limit) -> Written {
        use std::fmt::Write;
        let mut policy = String::new();
        for limit in listed {
            if !policy.is_empty() {
                policy.push_str(", ");
            }
            let _ = write!(
                policy,
                "\"{}\";q={};w={}",
                limit.name(),
                limit.rate().count(),
                limit.rate().period().as_secs().max(1)
            );
        }
        let prefix = format!("\"{}\";r=0;t=", refused.name());
        Written {
            policy: HeaderValue::try_from(policy).ok(),
            // A name a header cannot carry leaves the field out, as the policy's does.
            service_prefix: HeaderValue::from_str(&prefix)
                .ok()
                .map(|_| Arc::from(prefix.into_bytes())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_rate_limit_fields_are_the_ones_written_afresh() {
        use crate::rate::{Counts, RateKey};
        let limits = [
            Limit::new(10, 10_000, RateKey::Ip, Counts::Any, None),
            Limit::new(200, 86_400_000, RateKey::Ip, Counts::Any, None),
        ];
        for refused in &limits {
            for _ in 0..2 {
                let response = too_many_requests(&limits, refused, Duration::from_millis(2_500));
                let headers = response.headers();
                assert_eq!(headers[RETRY_AFTER], "3");
                assert_eq!(
                    headers[RATELIMIT_POLICY],
                    "\"10/10s-ip\";q=10;w=10, \"200/d-ip\";q=200;w=86400"
                );
                assert_eq!(
                    headers[RATELIMIT],
                    format!("\"{}\";r=0;t=3", refused.name()).as_str()
                );
            }
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
