//! Readers only: JSON bodies (`validate = T`) and query strings (`validate_query = T`),
//! parsed strictly and validated, refused with field paths and rule codes that never
//! echo what was sent. Reading the body off the request and answering is the request
//! step's job (`pipeline/input.rs`).

mod fast;
mod path;
mod probe;
pub(crate) mod strict;
mod tree;

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use validator::{Validate, ValidationErrors, ValidationErrorsKind};

use self::strict::{InputError, Source};

/// Field path → rule codes: what a 400 tells the client about its input. Paths and
/// codes only, never a submitted value.
pub type Details = BTreeMap<String, Vec<Cow<'static, str>>>;

/// The largest JSON body accepted when neither the route nor the settings say otherwise.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

// At most `strict::MAX_CAPTURED` values captured by open maps are probed per request (two
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
    /// Parses and validates a form body (`application/x-www-form-urlencoded`).
    fn from_form(bytes: &[u8]) -> Result<Self, Details>;
}

impl<T: ValidInput, S> InputFor<S> for T {
    fn from_json(bytes: &[u8]) -> Result<Self, Details> {
        parse_json(bytes)
    }

    fn from_query(query: &str) -> Result<Self, Details> {
        parse_query(query)
    }

    fn from_form(bytes: &[u8]) -> Result<Self, Details> {
        parse_form(bytes)
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
    parse_form(query.as_bytes())
}

/// Parses and validates `application/x-www-form-urlencoded` text: a query string or a
/// form body, read alike.
pub(crate) fn parse_form<T: ValidInput>(form: &[u8]) -> Result<T, Details> {
    let mut map = Map::new();
    for (key, value) in form_urlencoded::parse(form) {
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
    let (parsed, report) = strict::read::<T>(value, source).map_err(|error: InputError| {
        one(error.path.unwrap_or_else(|| "body".into()), error.code)
    })?;
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

#[cfg(test)]
mod properties {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use serde::Deserialize;
    use serde_json::{Value, json};
    use validator::Validate;

    use super::strict::{self, Source};
    use super::{Details, fast, from_value, parse_json, parse_query, tree, validated};

    #[derive(Debug, PartialEq, Deserialize, Validate)]
    struct Inner {
        #[validate(range(max = 1000))]
        n: u16,
        #[serde(default)]
        label: Option<String>,
    }

    #[derive(Debug, PartialEq, Deserialize, Validate)]
    struct Doc {
        #[validate(length(min = 1, max = 8))]
        name: String,
        count: i64,
        #[serde(default)]
        ratio: Option<f64>,
        #[serde(default)]
        small: Option<f32>,
        #[serde(default)]
        flag: bool,
        #[serde(default)]
        #[validate(length(max = 4))]
        tags: Vec<u8>,
        #[serde(default)]
        #[validate(nested)]
        inner: Option<Inner>,
        #[serde(default)]
        pair: Option<(u8, bool)>,
    }

    /// What the strict reader alone answers: the tree, then the walk, then the rules.
    fn strict_only(bytes: &[u8]) -> Result<Doc, Details> {
        let value = tree::parse(bytes).map_err(|error| match error {
            tree::TreeError::Malformed => super::one("body", "malformed"),
            tree::TreeError::Duplicate(path) => super::one(path, "duplicate"),
        })?;
        from_value(&value, Source::Json)
    }

    /// The strict walk without rules, for comparing with the fast reader's value.
    fn strict_shape(bytes: &[u8]) -> Option<Doc> {
        let value = tree::parse(bytes).ok()?;
        let (doc, report) = strict::read::<Doc>(&value, Source::Json).ok()?;
        (report.unknown.is_empty() && report.captured.is_empty()).then_some(doc)
    }

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            (0u64..2000).prop_map(|n| json!(n)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| json!(f)),
            prop_oneof![Just(1e39), Just(3.5e38), Just(-0.0), Just(1.5)].prop_map(|f| json!(f)),
            "[a-z\\u{e9}]{0,10}".prop_map(Value::String),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        leaf().prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::btree_map(key(), inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("name".to_owned()),
            Just("count".to_owned()),
            Just("ratio".to_owned()),
            Just("small".to_owned()),
            Just("flag".to_owned()),
            Just("tags".to_owned()),
            Just("inner".to_owned()),
            Just("n".to_owned()),
            Just("label".to_owned()),
            Just("pair".to_owned()),
            "[a-z]{1,6}",
        ]
    }

    /// Documents near the shape of `Doc`: its fields with values of any type, some
    /// fields it does not declare, and at the text level a repeated key or junk.
    fn document() -> impl Strategy<Value = Vec<u8>> {
        let fields = proptest::collection::btree_map(key(), value(), 0..8);
        let base = (fields, "[a-z]{1,8}", any::<i32>()).prop_map(|(mut fields, name, count)| {
            fields.entry("name".to_owned()).or_insert(json!(name));
            fields.entry("count".to_owned()).or_insert(json!(count));
            Value::Object(fields.into_iter().collect::<serde_json::Map<_, _>>())
        });
        (base, 0u8..8, key(), leaf()).prop_map(|(doc, twist, key, extra)| {
            let text = doc.to_string();
            let bytes = match twist {
                // The same key once more, at the end.
                0 => format!("{},\"{key}\":{extra}}}", &text[..text.len() - 1]),
                // Through an escape.
                1 => text.replacen("\"name\"", "\"\\u006eame\"", 1),
                2 => format!("{text} "),
                3 => format!("{text}x"),
                4 => return text.as_bytes()[..text.len() / 2].to_vec(),
                _ => text,
            };
            bytes.into_bytes()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// The fast reader and the strict reader agree on every document: the same
        /// documents accepted with the same value, the same refused with the same
        /// details.
        #[test]
        fn the_fast_and_strict_readers_agree(bytes in document()) {
            if let Some(fast) = fast::read::<Doc>(&bytes) {
                let strict = strict_shape(&bytes);
                prop_assert_eq!(Some(&fast), strict.as_ref(), "read fast, not strictly the same");
                prop_assert!(validated(fast).is_ok() == strict_only(&bytes).is_ok());
            }
            prop_assert_eq!(parse_json::<Doc>(&bytes), strict_only(&bytes));
        }

        /// Any bytes at all are answered, never a panic.
        #[test]
        fn any_body_is_answered(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_json::<Doc>(&bytes);
        }
    }

    #[derive(Debug, PartialEq, Deserialize, Validate)]
    struct Filter {
        #[validate(range(min = 1, max = 100))]
        limit: Option<u32>,
        #[serde(default)]
        tags: Vec<String>,
        q: Option<String>,
        #[serde(default)]
        exact: bool,
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// A query built from a filter reads back as that filter.
        #[test]
        fn a_query_reads_back_as_what_wrote_it(
            limit in proptest::option::of(1u32..=100),
            tags in proptest::collection::vec("[ -~\\u{e9}]{0,6}", 0..4),
            q in proptest::option::of(".{0,10}"),
            exact in any::<bool>(),
        ) {
            let mut query = form_urlencoded::Serializer::new(String::new());
            if let Some(limit) = limit {
                query.append_pair("limit", &limit.to_string());
            }
            for tag in &tags {
                query.append_pair("tags", tag);
            }
            if let Some(q) = &q {
                query.append_pair("q", q);
            }
            query.append_pair("exact", if exact { "true" } else { "false" });
            let parsed = parse_query::<Filter>(&query.finish());
            prop_assert_eq!(parsed, Ok(Filter { limit, tags, q, exact }));
        }

        /// Any query string at all is answered, never a panic, and refused without
        /// echoing a value: every detail is a path and a code.
        #[test]
        fn any_query_is_answered(query in "[a-z=&%0-9+.\\u{e9}\\[\\]-]{0,60}") {
            if let Err(details) = parse_query::<Filter>(&query) {
                let known: BTreeMap<&str, ()> =
                    ["limit", "tags", "q", "exact", "body"].into_iter().map(|k| (k, ())).collect();
                for (path, codes) in &details {
                    prop_assert!(!codes.is_empty());
                    let root = path.split(['.', '[']).next().unwrap_or_default();
                    prop_assert!(known.contains_key(root) || codes.iter().all(|c| c == "unknown"));
                }
            }
        }
    }

    /// A number without a fractional part is an integer, as JSON Schema's `integer`
    /// says; a fraction, or one past what a float holds exactly, is a type error.
    #[test]
    fn an_integral_float_is_an_integer() {
        let doc = parse_json::<Doc>(br#"{"name":"a","count":3.0,"tags":[2.0]}"#).unwrap();
        assert_eq!((doc.count, doc.tags), (3, vec![2]));
        let negative = parse_json::<Doc>(br#"{"name":"a","count":-7e0}"#).unwrap();
        assert_eq!(negative.count, -7);
        for refused in [
            r#"{"name":"a","count":3.5}"#,
            r#"{"name":"a","count":1e300}"#,
            r#"{"name":"a","count":1e17}"#,
        ] {
            let details = parse_json::<Doc>(refused.as_bytes()).expect_err(refused);
            assert!(
                details.values().flatten().any(|code| code == "type"),
                "{refused}: {details:?}"
            );
        }
        // Out of its type's range, as the same integer written without `.0`.
        assert_eq!(
            parse_json::<Doc>(br#"{"name":"a","count":1,"tags":[300.0]}"#),
            parse_json::<Doc>(br#"{"name":"a","count":1,"tags":[300]}"#)
        );
    }
}
