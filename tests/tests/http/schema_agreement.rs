//! The OpenAPI document's request schema and the body reader agree: documents generated
//! from the schema (valid ones, and ones the schema refuses in one way) are accepted and
//! refused by the reader exactly as the schema says. What is valid is read from the
//! generated document itself, not written here.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use proptest::prelude::*;
use secure_endpoint::routing::post;
use secure_endpoint::{SecureRouter, public};
use serde_json::{Value, json};
use tower::ServiceExt;

#[derive(serde::Deserialize, validator::Validate, schemars::JsonSchema)]
struct Signup {
    #[validate(length(min = 3, max = 12))]
    name: String,
    #[validate(range(min = 13, max = 130))]
    age: u32,
    #[serde(default)]
    #[validate(length(max = 3))]
    tags: Vec<String>,
    nickname: Option<String>,
}

#[public(validate = Signup)]
async fn signup(input: Signup) -> &'static str {
    let _ = (input.name, input.age, input.tags, input.nickname);
    "ok"
}

fn router() -> SecureRouter {
    SecureRouter::new().route("/signup", post(signup))
}

/// The body's schema, as the document gives it.
fn body_schema() -> Value {
    let document = router().inventory().openapi("t", "1");
    let schema = document["paths"]["/signup"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"]
        .clone();
    assert_eq!(schema["type"], "object", "{schema}");
    schema
}

/// One way of departing from a valid document.
#[derive(Debug, Clone)]
enum Change {
    None,
    NameOfLength(usize, char),
    Age(i64),
    Tags(usize),
    Drop(&'static str),
    Extra,
    WrongType(&'static str),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        Just(Change::None),
        (
            0usize..20,
            prop_oneof![Just('a'), Just('é'), Just('漢'), Just('🦀')]
        )
            .prop_map(|(n, c)| Change::NameOfLength(n, c)),
        (-5i64..300).prop_map(Change::Age),
        (0usize..6).prop_map(Change::Tags),
        prop_oneof![Just("name"), Just("age"), Just("tags"), Just("nickname")]
            .prop_map(Change::Drop),
        Just(Change::Extra),
        prop_oneof![Just("name"), Just("age"), Just("tags")].prop_map(Change::WrongType),
    ]
}

/// The document, and whether the schema accepts it, judged from the schema's keywords.
fn document(schema: &Value, change: &Change) -> (Value, bool) {
    let properties = &schema["properties"];
    let required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut doc = json!({ "name": "alice", "age": 30, "tags": ["a"], "nickname": "al" });
    let within = |value: i64, low: &Value, high: &Value| {
        low.as_i64().is_none_or(|l| value >= l) && high.as_i64().is_none_or(|h| value <= h)
    };
    let valid = match change {
        Change::None => true,
        Change::NameOfLength(n, c) => {
            doc["name"] = json!(std::iter::repeat_n(*c, *n).collect::<String>());
            within(
                *n as i64,
                &properties["name"]["minLength"],
                &properties["name"]["maxLength"],
            )
        }
        Change::Age(age) => {
            doc["age"] = json!(age);
            within(
                *age,
                &properties["age"]["minimum"],
                &properties["age"]["maximum"],
            )
        }
        Change::Tags(n) => {
            doc["tags"] = json!(vec!["t"; *n]);
            within(
                *n as i64,
                &properties["tags"]["minItems"],
                &properties["tags"]["maxItems"],
            )
        }
        Change::Drop(field) => {
            doc.as_object_mut().unwrap().remove(*field);
            !required.contains(field)
        }
        Change::Extra => {
            doc["role"] = json!("admin");
            schema["additionalProperties"] != false
        }
        Change::WrongType(field) => {
            doc[*field] = json!({ "not": "this" });
            false
        }
    };
    (doc, valid)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn the_reader_accepts_exactly_what_the_schema_accepts(change in change()) {
        let schema = body_schema();
        let (doc, valid) = document(&schema, &change);
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let app = router().try_into_router().unwrap();
        let request = Request::post("/signup")
            .header("content-type", "application/json")
            .body(Body::from(doc.to_string()))
            .unwrap();
        let status = runtime.block_on(app.oneshot(request)).unwrap().status();
        let expected = if valid { StatusCode::OK } else { StatusCode::BAD_REQUEST };
        prop_assert_eq!(status, expected, "{} with schema {}", doc, schema);
    }
}
