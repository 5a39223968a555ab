//! Error bodies in the application's own shape: what one may say ([`ErrorInfo`]), the
//! trait that writes it ([`ErrorBody`]), RFC 9457's shape ([`ProblemJson`]), and the
//! rewrite of a finished body by the application's writer. Which bodies exist and what
//! they say is decided in the parent module, not here.

use axum::body::Body;
use axum::response::Response;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};

use super::Finished;
use crate::input::Details;
use crate::request_id::RequestId;

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
