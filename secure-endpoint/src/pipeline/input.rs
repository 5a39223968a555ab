//! Step 5, `validate` and `validate_query`: the body must be declared JSON (or, for a
//! `Form<T>` parameter, `application/x-www-form-urlencoded`), else 415, and fit the
//! route's limit (413); the readers of [`crate::input`] then refuse malformed,
//! mistyped, undeclared or rule-breaking input with 400 and its field paths and codes.
//! A form body is read as strictly as a query string: a key given twice is a list, an
//! undeclared key is refused, numbers and booleans are parsed from the text.

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::HeaderMap;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::request::Parts;
use http_body_util::BodyExt;

use super::Admitted;
use crate::audit::{self, Route, Step};
use crate::body_timeout::BodyTimedOut;
use crate::handler::SecureHandler;
use crate::input::{Details, InputFor, one};
use crate::rejection::Rejection;

/// How a validated body is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `application/json` or `application/…+json`.
    Json,
    /// `application/x-www-form-urlencoded`.
    Form,
}

/// The body, checked for type, size, shape and rules.
pub async fn validated_body<T, S, H>(
    admitted: &Admitted,
    parts: &Parts,
    body: Body,
    encoding: Encoding,
) -> Result<T, Response>
where
    T: InputFor<S>,
    H: SecureHandler,
{
    let route = admitted.audit_route();
    let declared = match encoding {
        Encoding::Json => is_json(&parts.headers),
        Encoding::Form => is_form(&parts.headers),
    };
    if !declared {
        audit::deny(
            route,
            Step::Validate,
            "the body is not declared as the route reads it",
        );
        return Err(Rejection::UnsupportedMediaType.into_response());
    }
    let bytes = match read_body(&parts.headers, body, admitted.body_limit()).await {
        Ok(bytes) => bytes,
        Err(rejection) => {
            audit::deny(
                route,
                Step::Validate,
                "the body could not be read within its limit",
            );
            return Err(rejection.into_response());
        }
    };
    let input = match encoding {
        Encoding::Json => T::from_json(&bytes),
        Encoding::Form => T::from_form(&bytes),
    }
    .map_err(|details| refused(route, details).into_response())?;
    audit::allow(route, Step::Validate, "the body is valid");
    Ok(input)
}

/// The query string, checked like a body.
pub fn validated_query<T, S, H>(parts: &Parts) -> Result<T, Rejection>
where
    T: InputFor<S>,
    H: SecureHandler,
{
    let route = Route::of(H::NAME, parts);
    let input = T::from_query(parts.uri.query().unwrap_or(""))
        .map_err(|details| refused(&route, details))?;
    audit::allow(&route, Step::Validate, "the query is valid");
    Ok(input)
}

fn refused(route: &Route, details: Details) -> Rejection {
    /// The refused fields' paths, listed only when the event is logged.
    struct Fields<'a>(&'a Details);

    impl std::fmt::Debug for Fields<'_> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_list().entries(self.0.keys()).finish()
        }
    }

    audit::deny_with(route, Step::Validate, "invalid input", &Fields(&details));
    Rejection::InvalidInput(details)
}

/// `application/json`, or any `application/…+json`, parameters allowed.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return false;
    };
    // The spelling nearly every client sends, without parsing it.
    if value.as_bytes() == b"application/json" {
        return true;
    }
    let Ok(value) = value.to_str() else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (subtype.eq_ignore_ascii_case("json")
            || subtype.len() > 5 && subtype[subtype.len() - 5..].eq_ignore_ascii_case("+json"))
}

/// `application/x-www-form-urlencoded`, parameters allowed.
fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| {
            essence
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// Reads at most `limit` bytes of `body`: a declared length over the limit is refused
/// before reading, and a streamed body stops at the limit.
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, Rejection> {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(Rejection::PayloadTooLarge);
    }
    match http_body_util::Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            Err(Rejection::PayloadTooLarge)
        }
        Err(error) if BodyTimedOut::caused(&*error) => Err(Rejection::RequestTimeout),
        Err(_) => Err(Rejection::InvalidInput(one("body", "unreadable"))),
    }
}

#[cfg(test)]
mod tests {
    use http::StatusCode;

    use crate::pipeline::harness::{json, request, send};
    use crate::routing::post;
    use crate::{SecureRouter, public};

    #[derive(serde::Deserialize, validator::Validate)]
    struct Note {
        #[validate(length(min = 1, max = 20))]
        text: String,
    }

    #[public(validate = Note)]
    async fn write(note: Note) -> String {
        note.text
    }

    fn router() -> SecureRouter {
        SecureRouter::new().route("/notes", post(write).body_limit(64))
    }

    async fn posted(content_type: &str, body: &str) -> (StatusCode, String) {
        let request = request("POST", "/notes")
            .header("content-type", content_type)
            .body(axum::body::Body::from(body.to_owned()))
            .unwrap();
        let answer = send(router(), request).await;
        (answer.status, answer.body)
    }

    #[tokio::test]
    async fn a_valid_body_reaches_the_handler() {
        let answer = send(
            router(),
            json(request("POST", "/notes"), r#"{"text":"hi"}"#),
        )
        .await;
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (StatusCode::OK, "hi")
        );
    }

    #[tokio::test]
    async fn the_wrong_type_the_wrong_size_and_the_wrong_shape_are_refused() {
        assert_eq!(
            posted("text/plain", r#"{"text":"hi"}"#).await.0,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        let long = format!(r#"{{"text":"{}"}}"#, "x".repeat(100));
        assert_eq!(
            posted("application/json", &long).await.0,
            StatusCode::PAYLOAD_TOO_LARGE
        );
        assert_eq!(
            posted("application/json", r#"{"text":"hi","admin":true}"#).await,
            (
                StatusCode::BAD_REQUEST,
                r#"{"error":"Invalid input","details":{"admin":["unknown"]}}"#.to_owned()
            )
        );
    }

    #[tokio::test]
    async fn a_refusal_never_echoes_what_was_sent() {
        let (status, body) = posted(
            "application/json",
            r#"{"text":"<script>canary</script>!!!!!!"}"#,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(!body.contains("canary"), "{body}");
        let (status, body) = posted("application/json", r#"{"text":12345678}"#).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(!body.contains("12345678"), "{body}");
    }
}
