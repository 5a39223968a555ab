//! The JSON Schemas of a handler's inputs and answer, for the OpenAPI document: from
//! `schemars::JsonSchema` (feature `schemars`) where the type derives it, absent where
//! it does not. Which one is chosen where the type is known, by the same
//! method-resolution probe the guarded fields use: [`SchemaProbe`] of a type with a
//! schema in its role has [`WithSchema::schema`], any other falls back to
//! [`WithoutSchema::schema`] through a reference.

use serde_json::Value;

/// The schemas of one handler, as the OpenAPI document shows them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schemas {
    /// The `validate` body's.
    pub body: Option<Value>,
    /// Whether the body is a form (`Form<T>`) rather than JSON.
    pub body_form: bool,
    /// The `validate_query` type's: each property is a query parameter.
    pub query: Option<Value>,
    /// The path key's (`Resource::Key` of the loaded resource).
    pub path_key: Option<Value>,
    /// The answer's JSON, when the return type says it (`Json<T>`, in a `Result` or
    /// beside a status code).
    pub response: Option<Value>,
}

/// The path's key from every parameter that reads the path (a loaded resource's key, a
/// `Path<T>` extractor): their object schemas' properties together, so that each path
/// parameter finds its own (`/posts/{id}/editors/{user_id}`, the resource reading `id`
/// and an extractor `user_id`); otherwise the first.
#[doc(hidden)]
pub fn path_keys(keys: Vec<Option<Value>>) -> Option<Value> {
    let mut merged: Option<Value> = None;
    for key in keys.into_iter().flatten() {
        let Some(into) = merged.as_mut() else {
            merged = Some(key);
            continue;
        };
        if let (Some(Value::Object(have)), Some(Value::Object(more))) =
            (into.get_mut("properties"), key.get("properties"))
        {
            for (name, schema) in more {
                have.entry(name.clone()).or_insert_with(|| schema.clone());
            }
        }
    }
    merged
}

/// Asks for the schema of `T` in one role: the body (`Body`), a loaded resource's key
/// (`Key`), a path extractor's parameter (`PathParameter`) or a return type's answer
/// (`Answer`). [`WithSchema`] answers where the role's bound holds; any other type falls
/// back to [`WithoutSchema`] through a reference. A type that is not a resource is thus
/// reported by the resource check alone, not here.
#[doc(hidden)]
pub struct SchemaProbe<Role, T>(std::marker::PhantomData<(Role, T)>);

impl<Role, T> SchemaProbe<Role, T> {
    pub fn new() -> Self {
        SchemaProbe(std::marker::PhantomData)
    }
}

impl<Role, T> Default for SchemaProbe<Role, T> {
    fn default() -> Self {
        Self::new()
    }
}

/// The roles a [`SchemaProbe`] asks in.
#[doc(hidden)]
pub mod role {
    /// The `validate`/`validate_query` type itself.
    pub struct Body;
    /// `Resource::Key` of a loaded resource.
    pub struct Key;
    /// The parameter a `Path<T>` extractor reads.
    pub struct PathParameter;
    /// The JSON a return type answers with.
    pub struct Answer;
}

/// The schema, where the role's bound holds.
#[doc(hidden)]
pub trait WithSchema {
    fn schema(&self) -> Option<Value>;
}

/// No schema: the type does not derive `JsonSchema`, or the feature is off.
#[doc(hidden)]
pub trait WithoutSchema {
    fn schema(&self) -> Option<Value>;
}

impl<Role, T> WithoutSchema for &SchemaProbe<Role, T> {
    fn schema(&self) -> Option<Value> {
        None
    }
}

#[cfg(feature = "schemars")]
fn schema_of<T: schemars::JsonSchema + ?Sized>() -> Option<Value> {
    serde_json::to_value(schemars::schema_for!(T)).ok()
}

#[cfg(feature = "schemars")]
impl<T: schemars::JsonSchema> WithSchema for SchemaProbe<role::Body, T> {
    fn schema(&self) -> Option<Value> {
        schema_of::<T>()
    }
}

#[cfg(feature = "schemars")]
impl<T: crate::resource::Resource> WithSchema for SchemaProbe<role::Key, T>
where
    T::Key: schemars::JsonSchema,
{
    fn schema(&self) -> Option<Value> {
        schema_of::<T::Key>()
    }
}

#[cfg(feature = "schemars")]
impl<T: schemars::JsonSchema> WithSchema
    for SchemaProbe<role::PathParameter, axum::extract::Path<T>>
{
    fn schema(&self) -> Option<Value> {
        // A tuple of several parameters is an array: its names are not known here.
        schema_of::<T>().filter(|schema| schema["type"] != "array")
    }
}

impl<R: AnswerSchema> WithSchema for SchemaProbe<role::Answer, R> {
    fn schema(&self) -> Option<Value> {
        R::answer_schema()
    }
}

/// The JSON a return type answers with, when it says.
#[doc(hidden)]
pub trait AnswerSchema {
    fn answer_schema() -> Option<Value>;
}

#[cfg(feature = "schemars")]
impl<T: schemars::JsonSchema> AnswerSchema for axum::Json<T> {
    fn answer_schema() -> Option<Value> {
        schema_of::<T>()
    }
}

impl<T: AnswerSchema> AnswerSchema for (http::StatusCode, T) {
    fn answer_schema() -> Option<Value> {
        T::answer_schema()
    }
}

impl<T: AnswerSchema, E> AnswerSchema for Result<T, E> {
    fn answer_schema() -> Option<Value> {
        T::answer_schema()
    }
}

/// Puts a handler's schemas into its OpenAPI operation: the body as `requestBody`
/// (objects refusing undeclared properties, as the reader does), each query property
/// as a parameter, the path key's type on the path parameters, and the answer's JSON
/// as the `2XX` response. Types the schemas refer to go to `components`.
pub(crate) fn describe(
    operation: &mut Value,
    schemas: &Schemas,
    components: &mut serde_json::Map<String, Value>,
) {
    use serde_json::json;
    if let Some(body) = &schemas.body {
        let mut body = hoist(body.clone(), components);
        close(&mut body, components);
        let content_type = if schemas.body_form {
            "application/x-www-form-urlencoded"
        } else {
            "application/json"
        };
        operation["requestBody"] = json!({
            "required": true,
            "content": { content_type: { "schema": body } }
        });
    }
    let mut parameters = operation
        .get("parameters")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if let Some(key) = &schemas.path_key {
        let mut key = hoist(key.clone(), components);
        if let Some(object) = key.as_object_mut() {
            object.remove("title");
        }
        // A key of several path parameters (a struct, `{id, user_id}`) gives each its
        // property's schema; a key of one, its own.
        let fields = resolve(&key, components)["properties"].as_object().cloned();
        for parameter in &mut parameters {
            if parameter["in"] != "path" {
                continue;
            }
            let own = match (&fields, parameter["name"].as_str()) {
                (Some(fields), Some(name)) => fields.get(name).cloned(),
                _ => Some(key.clone()),
            };
            if let Some(schema) = own {
                parameter["schema"] = schema;
            }
        }
    }
    if let Some(query) = &schemas.query {
        let query = hoist(query.clone(), components);
        let query = resolve(&query, components);
        let required: Vec<&str> = query["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(properties) = query["properties"].as_object() {
            for (name, schema) in properties {
                // An absent parameter is `None`: a query string has no null.
                let mut schema = schema.clone();
                if let Some(types) = schema["type"].as_array() {
                    let types: Vec<Value> =
                        types.iter().filter(|t| *t != "null").cloned().collect();
                    schema["type"] = match types.as_slice() {
                        [only] => only.clone(),
                        _ => Value::Array(types),
                    };
                }
                parameters.push(json!({
                    "name": name,
                    "in": "query",
                    "required": required.contains(&name.as_str()),
                    "schema": schema,
                }));
            }
        }
    }
    if !parameters.is_empty() {
        operation["parameters"] = Value::Array(parameters);
    }
    if let Some(answer) = &schemas.response {
        let answer = hoist(answer.clone(), components);
        operation["responses"]["2XX"] = json!({
            "description": "The handler's answer",
            "content": { "application/json": { "schema": answer } }
        });
    }
}

/// A schema of schemars' root form, its definitions moved to `components` and its
/// references pointed there.
fn hoist(mut schema: Value, components: &mut serde_json::Map<String, Value>) -> Value {
    if let Some(object) = schema.as_object_mut() {
        object.remove("$schema");
        if let Some(Value::Object(definitions)) = object.remove("$defs") {
            for (name, mut definition) in definitions {
                repoint(&mut definition);
                components.insert(name, definition);
            }
        }
    }
    repoint(&mut schema);
    schema
}

/// `#/$defs/X` → `#/components/schemas/X`, everywhere in the schema.
fn repoint(schema: &mut Value) {
    match schema {
        Value::Object(object) => {
            if let Some(Value::String(reference)) = object.get_mut("$ref")
                && let Some(name) = reference.strip_prefix("#/$defs/")
            {
                *reference = format!("#/components/schemas/{name}");
            }
            object.values_mut().for_each(repoint);
        }
        Value::Array(items) => items.iter_mut().for_each(repoint),
        _ => {}
    }
}

/// The schema a reference points to, or the schema itself.
fn resolve(schema: &Value, components: &serde_json::Map<String, Value>) -> Value {
    schema["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
        .and_then(|name| components.get(name))
        .cloned()
        .unwrap_or_else(|| schema.clone())
}

/// The body's object refuses properties it does not declare, as the reader does.
fn close(schema: &mut Value, components: &mut serde_json::Map<String, Value>) {
    if let Some(name) = schema["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
        .map(str::to_owned)
    {
        if let Some(target) = components.get_mut(&name) {
            close_object(target);
        }
        return;
    }
    close_object(schema);
}

fn close_object(schema: &mut Value) {
    if schema["type"] == "object"
        && schema.get("additionalProperties").is_none()
        && let Some(object) = schema.as_object_mut()
    {
        object.insert("additionalProperties".to_owned(), Value::Bool(false));
    }
}
