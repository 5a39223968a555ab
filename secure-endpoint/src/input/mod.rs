//! Readers only: JSON bodies (`validate = T`) and query strings (`validate_query = T`),
//! parsed strictly and validated, refused with field paths and rule codes that never
//! echo what was sent. Reading the body off the request and answering is the request
//! step's job (`pipeline/input.rs`).

pub(crate) mod de;
mod fast;
mod probe;
mod tree;

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use validator::{Validate, ValidationErrors, ValidationErrorsKind};

use self::de::{InputError, Node, Path, Report, Source};

/// Field path → rule codes: what a 400 tells the client about its input. Paths and
/// codes only, never a submitted value.
pub type Details = BTreeMap<String, Vec<Cow<'static, str>>>;

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

/// Checked where the handler is defined, on the type `validate` names.
#[doc(hidden)]
pub const fn assert_valid_input<T: ValidInput>() {}

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

pub(crate) fn one(path: impl Into<String>, code: &'static str) -> Details {
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

/// Parses and validates a JSON body: malformed JSON, a wrong type, a missing field, a
/// field `T` does not declare, or a broken rule is refused with its path and code.
pub(crate) fn parse_json<T: ValidInput>(bytes: &[u8]) -> Result<T, Details> {
    if let Some(parsed) = fast::read::<T>(bytes) {
        return validated(parsed);
    }
    // serde_json refuses nesting deeper than 128 levels, so a flood of brackets is
    // answered "malformed" without deep recursion.
    let value = tree::parse(bytes).map_err(|error| match error {
        tree::TreeError::Malformed => one("body", "malformed"),
        tree::TreeError::Duplicate(path) => one(path, "duplicate"),
    })?;
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
        unknown.extend(probe::unknown_by_probe::<T>(
            value,
            &report.captured,
            source,
        ));
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
