//! Input: JSON bodies (`validate = T`) and query strings (`validate_query = T`), parsed
//! strictly and validated, refused without echoing what was sent.

pub(crate) mod de;
mod fast;

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::BTreeMap;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, StatusCode};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use validator::{Validate, ValidationErrors, ValidationErrorsKind};

use self::de::{InputError, Node, Path, Report, Segment, Source};
use crate::rejection::json_response;

/// The largest JSON body accepted when neither the route nor the settings say otherwise.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

// At most `de::MAX_CAPTURED` values captured by open maps are probed per request (two
// deserializations each); a body that needs more is refused (400, `body: too_complex`).
// A flattened field holding many objects is therefore refused: declare it as a field.

/// At most this many unknown fields are named in a 400, each cut to this many characters.
const MAX_REPORTED_UNKNOWN: usize = 20;
const MAX_REPORTED_PATH: usize = 64;

/// A type `validate = T` or `validate_query = T` can fill: deserializable and carrying
/// `validator` rules.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be validated input",
    label = "`validate` needs a type that derives `serde::Deserialize` and `validator::Validate`",
    note = "add `#[derive(serde::Deserialize, validator::Validate)]` to `{Self}`"
)]
pub trait ValidInput: DeserializeOwned + Validate + Send + 'static {}

impl<T: DeserializeOwned + Validate + Send + 'static> ValidInput for T {}

/// What the expansion of `validate` requires of the type, as a bound that mentions the
/// router state so that a type without the derives is reported once, on the type the
/// attribute names (by [`ValidInput`]'s diagnostic), not again on the generated code.
#[doc(hidden)]
pub trait InputFor<S>: Sized + Send + 'static {
    /// Parses and validates a JSON body.
    fn from_json(bytes: &[u8]) -> Result<Self, Details>;
    /// Parses and validates a query string.
    fn from_query(query: &str) -> Result<Self, Details>;
}

impl<T: ValidInput, S> InputFor<S> for T {
    fn from_json(bytes: &[u8]) -> Result<Self, Details> {
        parse_json(bytes)
    }

    fn from_query(query: &str) -> Result<Self, Details> {
        parse_query(query)
    }
}

/// Field path → rule codes: what a 400 tells the client.
#[doc(hidden)]
pub type Details = BTreeMap<String, Vec<Cow<'static, str>>>;

/// Why input was refused.
#[doc(hidden)]
#[derive(Debug)]
pub enum InputRejection {
    /// 415.
    UnsupportedMediaType,
    /// 413.
    PayloadTooLarge,
    /// 400 with the details.
    Invalid(Details),
}

impl IntoResponse for InputRejection {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            InputRejection::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Bytes::from_static(br#"{"error":"Unsupported media type"}"#),
            ),
            InputRejection::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                Bytes::from_static(br#"{"error":"Payload too large"}"#),
            ),
            InputRejection::Invalid(details) => {
                #[derive(serde::Serialize)]
                struct Refusal<'a> {
                    error: &'static str,
                    details: &'a Details,
                }
                let refusal = Refusal {
                    error: "Invalid input",
                    details: &details,
                };
                let body = serde_json::to_vec(&refusal).expect("strings and lists serialize");
                (StatusCode::BAD_REQUEST, Bytes::from(body))
            }
        };
        // A 4xx with a body is passed through by the outer layer as it is: no marker needed.
        json_response(status, body)
    }
}

fn one(path: impl Into<String>, code: &'static str) -> Details {
    let mut details = Details::new();
    details.insert(bounded(path.into()), vec![Cow::Borrowed(code)]);
    details
}

/// A path may hold the client's own map keys: it is cut to a bounded length.
fn bounded(path: String) -> String {
    if path.chars().count() > MAX_REPORTED_PATH {
        let cut: String = path.chars().take(MAX_REPORTED_PATH).collect();
        format!("{cut}…")
    } else {
        path
    }
}

/// `application/json`, or any `application/…+json`, parameters allowed.
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
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

/// Reads at most `limit` bytes of `body`.
pub(crate) async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, InputRejection> {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(InputRejection::PayloadTooLarge);
    }
    match http_body_util::Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            Err(InputRejection::PayloadTooLarge)
        }
        Err(_) => Err(InputRejection::Invalid(one("body", "unreadable"))),
    }
}

/// Parses and validates a JSON body: malformed JSON, a wrong type, a missing field, a
/// field `T` does not declare, or a broken rule is refused with its path and code.
pub(crate) fn parse_json<T: ValidInput>(bytes: &[u8]) -> Result<T, Details> {
    if let Some(parsed) = fast::read::<T>(bytes) {
        return validated(parsed);
    }
    // serde_json refuses nesting deeper than 128 levels, so a flood of brackets is
    // answered "malformed" without deep recursion.
    let value: Value = serde_json::from_slice(bytes).map_err(|_| one("body", "malformed"))?;
    from_value(&value, Source::Json)
}

/// Parses and validates a query string (`a=1&b=x&tag=p&tag=q`).
pub(crate) fn parse_query<T: ValidInput>(query: &str) -> Result<T, Details> {
    let mut map = Map::new();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let value = Value::String(value.into_owned());
        match map.get_mut(key.as_ref()) {
            None => {
                map.insert(key.into_owned(), value);
            }
            Some(Value::Array(items)) => items.push(value),
            Some(first) => {
                let first = first.take();
                map.insert(key.into_owned(), Value::Array(vec![first, value]));
            }
        }
    }
    from_value(&Value::Object(map), Source::Query)
}

fn from_value<T: ValidInput>(value: &Value, source: Source) -> Result<T, Details> {
    let report = RefCell::new(Report::default());
    let node = Node {
        value,
        path: Path::Root,
        report: Some(&report),
        source,
        in_open_map: false,
    };
    let parsed = T::deserialize(node).map_err(|error: InputError| {
        one(error.path.unwrap_or_else(|| "body".into()), error.code)
    })?;
    let report = report.into_inner();
    let mut unknown = report.unknown;
    if report.too_many_captured {
        return Err(one("body", "too_complex"));
    }
    if !report.captured.is_empty() {
        unknown.extend(unknown_by_probe::<T>(value, &report.captured, source));
    }
    if !unknown.is_empty() {
        // The names are the client's own: report a bounded number, each bounded.
        let mut details = Details::new();
        for path in unknown.into_iter().take(MAX_REPORTED_UNKNOWN) {
            details
                .entry(bounded(path))
                .or_default()
                .push(Cow::Borrowed("unknown"));
        }
        return Err(details);
    }
    validated(parsed)
}

/// `parsed` when it keeps its `validator` rules.
fn validated<T: ValidInput>(parsed: T) -> Result<T, Details> {
    parsed.validate().map_err(|errors| {
        let mut details = Details::new();
        collect_rule_failures(&errors, "", &mut details);
        details
    })?;
    Ok(parsed)
}

/// A value captured whole by an open map (the leftovers of a struct with a flattened
/// field, or a map of arbitrary values) is unknown when `T` still deserializes with two
/// unrelated poisons in its place: nothing typed reads it.
fn unknown_by_probe<T: ValidInput>(
    root: &Value,
    captured: &[(String, Vec<Segment>)],
    source: Source,
) -> Vec<String> {
    let poisons = [
        serde_json::json!({ "\u{0}secure-endpoint-probe": [true] }),
        serde_json::json!(-0.5),
    ];
    let mut unknown: Vec<String> = Vec::new();
    for (rendered, segments) in captured {
        // A child of an unknown value is unknown with it: not probed, not reported.
        let inside_unknown = unknown.iter().any(|outer| {
            rendered
                .strip_prefix(outer.as_str())
                .is_some_and(|rest| rest.starts_with(['.', '[']))
        });
        if inside_unknown {
            continue;
        }
        let accepted_every_poison = poisons.iter().all(|poison| {
            let mut probe = root.clone();
            match value_at(&mut probe, segments) {
                Some(slot) => *slot = poison.clone(),
                None => return false,
            }
            let node = Node {
                value: &probe,
                path: Path::Root,
                report: None,
                source,
                in_open_map: false,
            };
            T::deserialize(node).is_ok()
        });
        if accepted_every_poison {
            unknown.push(rendered.clone());
        }
    }
    unknown
}

fn value_at<'v>(root: &'v mut Value, segments: &[Segment]) -> Option<&'v mut Value> {
    let mut at = root;
    for segment in segments {
        at = match segment {
            Segment::Key(key) => at.as_object_mut()?.get_mut(key)?,
            Segment::Index(index) => at.as_array_mut()?.get_mut(*index)?,
        };
    }
    Some(at)
}

/// validator's errors as path → codes. Its `message` and `params` are dropped: `params`
/// carries the submitted value.
fn collect_rule_failures(errors: &ValidationErrors, prefix: &str, details: &mut Details) {
    for (field, kind) in errors.errors() {
        let path = match (prefix.is_empty(), field.as_ref()) {
            (true, "__all__") => "body".to_owned(),
            (false, "__all__") => prefix.to_owned(),
            (true, field) => field.to_owned(),
            (false, field) => format!("{prefix}.{field}"),
        };
        match kind {
            ValidationErrorsKind::Field(failures) => details
                .entry(bounded(path))
                .or_default()
                .extend(failures.iter().map(|f| f.code.clone())),
            ValidationErrorsKind::Struct(inner) => collect_rule_failures(inner, &path, details),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    collect_rule_failures(inner, &format!("{path}[{index}]"), details);
                }
            }
        }
    }
}
