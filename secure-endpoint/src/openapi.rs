//! An OpenAPI 3.1 document generated from the inventory, so that the documentation
//! cannot drift from what is enforced: every route's security, refusals and limits, and
//! with feature `schemars` its inputs and answer ([`crate::schema`]).

use serde_json::{Map, Value, json};

use crate::handler::Guards;
use crate::inventory::{AuthenticatorEntry, Inventory, RoutePolicy};
use crate::policy::{Access, Policy, Served};

/// The name of the security scheme in `components.securitySchemes`.
pub const BEARER_SCHEME: &str = "bearerAuth";

impl Inventory {
    /// An OpenAPI 3.1 document of every route with a declared policy: its security
    /// requirement (`bearerAuth` with the route's scopes, or none for `#[public]`), and
    /// the refusals its policy can produce (401, 403, 404, 400, 413, 415, 429, 500), each
    /// with the error body's schema. Routes served through the unchecked opt-out have no
    /// method the router can name; they are listed under `x-unchecked-routes`.
    ///
    /// With feature `schemars`, each operation also carries what its types say (the
    /// `validate` body as `requestBody`, closed to undeclared properties; the
    /// `validate_query` properties as query parameters; the path key's type; the
    /// answer's JSON as the `2XX` response), and a `POST` on a collection whose answer
    /// has an `id` links to the operations on `…/{id}`. A type that does not derive
    /// `schemars::JsonSchema` is left without a schema; the handler's own statuses are
    /// covered by each operation's `default` response.
    ///
    /// ```
    /// use secure_endpoint::routing::get;
    /// use secure_endpoint::{SecureRouter, secure};
    ///
    /// #[secure(auth, role = "admin")]
    /// async fn stats() -> &'static str { "stats" }
    ///
    /// let app: SecureRouter = SecureRouter::new().route("/admin/stats", get(stats));
    /// let doc = app.inventory().openapi("Admin API", "1.0.0");
    /// assert_eq!(doc["paths"]["/admin/stats"]["get"]["security"][0]["bearerAuth"], serde_json::json!([]));
    /// assert!(doc["paths"]["/admin/stats"]["get"]["responses"]["403"].is_object());
    /// ```
    pub fn openapi(&self, title: &str, version: &str) -> Value {
        let mut paths = Map::new();
        let mut components = Map::new();
        let mut unchecked = Vec::new();
        let mut operation_ids = std::collections::HashSet::new();
        for route in self.routes() {
            let policy = match &route.policy {
                RoutePolicy::Declared(policy) => *policy,
                RoutePolicy::Unchecked { reason } => {
                    unchecked.push(json!({ "path": route.path, "reason": reason }));
                    continue;
                }
            };
            let methods: Vec<&str> = match route.method.as_str() {
                "ANY" => vec![
                    "get", "put", "post", "delete", "options", "head", "patch", "trace",
                ],
                method => match openapi_method(method) {
                    Some(method) => vec![method],
                    None => continue,
                },
            };
            // axum's `{*rest}` is OpenAPI's `{rest}`.
            let template = route.path.replace("{*", "{");
            let item = paths
                .entry(template)
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("path items are objects");
            for method in methods {
                // Operation ids are unique in a document: a handler routed twice gets
                // a suffix.
                let handler = route.handler.unwrap_or("handler");
                let mut id = handler.to_owned();
                let mut n = 1;
                while !operation_ids.insert(id.clone()) {
                    n += 1;
                    id = format!("{handler}_{n}");
                }
                let scheme = scheme_of(self, policy);
                let cookie = self
                    .authenticator(policy.authenticator())
                    .filter(|a| a.cookie.is_some())
                    .map(cookie_scheme_name);
                let served = http::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
                    .map(|method| self.served(route, &method))
                    .unwrap_or_default();
                let mut operation =
                    operation(policy, &route.guards, served, &id, &route.path, &scheme);
                crate::schema::describe(&mut operation, &(route.schemas)(), &mut components);
                if let Some(cookie) = cookie
                    && (policy.requires_auth() || policy.allows_optional_auth())
                {
                    with_cookie(&mut operation, policy, &cookie, method);
                }
                item.insert(method.to_owned(), operation);
            }
        }
        let mut schemes = Map::new();
        schemes.insert(
            BEARER_SCHEME.to_owned(),
            json!({
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "Authorization: Bearer <token>, verified by the router's authenticator"
            }),
        );
        for authenticator in self.authenticators() {
            let name = scheme_name(authenticator);
            let scheme = match &authenticator.header {
                Some(header) => json!({
                    "type": "apiKey",
                    "in": "header",
                    "name": header,
                    "description": format!("{}: the credential alone", header)
                }),
                None => json!({
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Authorization: Bearer <credential>"
                }),
            };
            if name != BEARER_SCHEME {
                schemes.insert(name, scheme);
            }
            if let Some(cookie) = &authenticator.cookie {
                schemes.insert(
                    cookie_scheme_name(authenticator),
                    json!({
                        "type": "apiKey",
                        "in": "cookie",
                        "name": cookie,
                        "description": "The same token in a cookie, for browser front ends; unsafe methods are checked for cross-site forgery"
                    }),
                );
            }
        }
        link_created_objects(&mut paths, &components);
        let mut document = json!({
            "openapi": "3.1.0",
            "info": { "title": title, "version": version },
            "paths": paths,
            "components": {
                "securitySchemes": schemes,
                "schemas": {
                    "Error": {
                        "type": "object",
                        "required": ["error"],
                        "properties": {
                            "error": { "type": "string" },
                            "request_id": { "type": "string" },
                            "details": {
                                "type": "object",
                                "additionalProperties": { "type": "array", "items": { "type": "string" } }
                            }
                        }
                    }
                }
            }
        });
        if let Some(schemas) = document["components"]["schemas"].as_object_mut() {
            for (name, schema) in components {
                schemas.entry(name).or_insert(schema);
            }
        }
        if !unchecked.is_empty() {
            document["x-unchecked-routes"] = Value::Array(unchecked);
        }
        if let Some(browsers) = self.browsers() {
            document["x-secure-endpoint-cors"] = json!({
                "origins": browsers.cors_origins,
                "credentials": browsers.cors_credentials,
            });
        }
        document
    }
}

#[cfg(feature = "utoipa")]
impl Inventory {
    /// [`openapi`](Self::openapi) as a utoipa document (feature `utoipa`), to merge into
    /// the one your handlers' annotations build:
    /// `api.merge(app.inventory().utoipa("api", "1.0.0"))`.
    pub fn utoipa(&self, title: &str, version: &str) -> utoipa::openapi::OpenApi {
        serde_json::from_value(self.openapi(title, version))
            .expect("the generated document is OpenAPI that utoipa reads")
    }
}

/// OpenAPI links from a `POST` on a collection (`/posts`) whose answer has an `id` to
/// the operations on one of its objects (`/posts/{id}`), the id taken from the answer:
/// a client, or a stateful fuzzer, reaches the object it created.
fn link_created_objects(paths: &mut Map<String, Value>, components: &Map<String, Value>) {
    let created: Vec<String> = paths
        .iter()
        .filter(|(_, item)| {
            let answer = &item["post"]["responses"]["2XX"]["content"]["application/json"]["schema"];
            let answer = answer["$ref"]
                .as_str()
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
                .and_then(|name| components.get(name))
                .unwrap_or(answer);
            answer["properties"]["id"].is_object()
        })
        .map(|(path, _)| path.clone())
        .collect();
    for collection in created {
        let mut links = Map::new();
        for (path, item) in paths.iter() {
            let Some(rest) = path.strip_prefix(collection.trim_end_matches('/')) else {
                continue;
            };
            let Some(parameter) = rest
                .strip_prefix("/{")
                .and_then(|r| r.strip_suffix('}'))
                .filter(|p| !p.contains(['/', '{', '}']))
            else {
                continue;
            };
            for method in ["get", "put", "patch", "delete"] {
                if let Some(id) = item[method]["operationId"].as_str() {
                    links.insert(
                        id.to_owned(),
                        json!({
                            "operationId": id,
                            "parameters": { parameter: "$response.body#/id" }
                        }),
                    );
                }
            }
        }
        if !links.is_empty()
            && let Some(answer) = paths
                .get_mut(&collection)
                .and_then(|item| item["post"]["responses"].get_mut("2XX"))
        {
            answer["links"] = Value::Object(links);
        }
    }
}

fn openapi_method(method: &str) -> Option<&'static str> {
    Some(match method {
        "GET" => "get",
        "POST" => "post",
        "PUT" => "put",
        "PATCH" => "patch",
        "DELETE" => "delete",
        "HEAD" => "head",
        "OPTIONS" => "options",
        "TRACE" => "trace",
        _ => return None,
    })
}

fn refusal(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
    })
}

/// The cookie's scheme name for an authenticator that also reads the session cookie.
fn cookie_scheme_name(authenticator: &AuthenticatorEntry) -> String {
    match &authenticator.name {
        Some(name) => format!("{name}Cookie"),
        None => "cookieAuth".to_owned(),
    }
}

/// The cookie as a second way to meet `operation`'s requirement, and the CSRF check it
/// brings on unsafe methods.
fn with_cookie(operation: &mut Value, policy: &Policy, cookie: &str, method: &str) {
    let mut requirement = Map::new();
    requirement.insert(cookie.to_owned(), json!(policy.scopes()));
    if let Some(alternatives) = operation["security"].as_array_mut() {
        alternatives.push(Value::Object(requirement));
    }
    if !matches!(method, "get" | "head" | "options" | "trace") {
        operation["x-secure-endpoint-csrf"] = json!(
            "with the cookie: Sec-Fetch-Site same-origin or none, or an Origin that is the service's own or allowed by CORS"
        );
    }
}

/// The security scheme's name in the document for an authenticator: `bearerAuth` for a
/// default one reading `Authorization: Bearer`, `apiKeyAuth` for a default one reading
/// a header, else its own name.
fn scheme_name(authenticator: &AuthenticatorEntry) -> String {
    match (&authenticator.name, &authenticator.header) {
        (Some(name), _) => name.clone(),
        (None, None) => BEARER_SCHEME.to_owned(),
        (None, Some(_)) => "apiKeyAuth".to_owned(),
    }
}

/// The scheme of a route's authenticator (`bearerAuth` when the inventory does not know
/// it: a router without settings).
fn scheme_of(inventory: &Inventory, policy: &Policy) -> String {
    inventory
        .authenticator(policy.authenticator())
        .map(scheme_name)
        .or_else(|| policy.authenticator().map(str::to_owned))
        .unwrap_or_else(|| BEARER_SCHEME.to_owned())
}

fn operation(
    policy: &Policy,
    guards: &Guards,
    served: Served,
    handler: &str,
    path: &str,
    scheme: &str,
) -> Value {
    let mut responses = Map::new();
    responses.insert(
        "default".into(),
        json!({ "description": "The handler's response" }),
    );
    for status in policy.refusals(served) {
        let described = match status.as_u16() {
            401 if policy.requires_auth() => {
                refusal("No valid bearer token (WWW-Authenticate: Bearer)")
            }
            401 => refusal("A credential was sent and is not valid (none is needed)"),
            403 if served.csrf_checked => refusal(
                "The principal lacks a role or scope, does not own the resource, or sent the cookie from another site",
            ),
            403 => refusal(
                "The principal lacks a role or scope, does not own the resource, has no tenant, or sent a field it may not write",
            ),
            404 => refusal("The resource does not exist, or belongs to another tenant"),
            400 => refusal("Invalid input: field paths and rule codes in details"),
            408 => refusal("The body did not arrive within the server's body timeout"),
            413 => refusal("The body is larger than the route's limit"),
            415 => refusal("The body is not declared as JSON"),
            429 => {
                let mut too_many = refusal(if !policy.limits().is_empty() {
                    "Over the rate limit (on routes with authentication, also too many failed authentications from this address when the settings limit them)"
                } else {
                    "Too many failed authentications from this address, when the settings limit them"
                });
                too_many["headers"] = json!({
                    "Retry-After": { "schema": { "type": "integer" }, "description": "Seconds until a request may pass" },
                    "RateLimit-Policy": { "schema": { "type": "string" } },
                    "RateLimit": { "schema": { "type": "string" } }
                });
                too_many
            }
            503 => refusal(
                "Unavailable for now: a shared limiter or the revocations unreachable where the settings fail closed, every permit of the route taken (concurrency), or the handler past its timeout",
            ),
            _ => refusal("An unexpected error; the body carries only a request id"),
        };
        responses.insert(status.as_str().into(), described);
    }
    if let Some(unauthorized) = responses.get_mut("401") {
        unauthorized["headers"] = json!({
            "WWW-Authenticate": {
                "schema": { "type": "string" },
                "description": "`Bearer`, with `error=\"invalid_token\"` when a token was given"
            }
        });
    }

    let security = if policy.requires_auth() {
        let mut requirement = Map::new();
        requirement.insert(scheme.to_owned(), json!(policy.scopes()));
        json!([requirement])
    } else if policy.allows_optional_auth() {
        // Either no credential, or this one: OpenAPI's way of saying optional.
        let mut requirement = Map::new();
        requirement.insert(scheme.to_owned(), json!([]));
        json!([{}, requirement])
    } else {
        json!([])
    };
    let parameters: Vec<Value> = path
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            json!({
                "name": name.trim_start_matches('*'),
                "in": "path",
                "required": true,
                "schema": { "type": "string" }
            })
        })
        .collect();
    let mut operation = json!({
        "operationId": handler,
        "security": security,
        "responses": responses,
        "x-secure-endpoint-policy": policy.to_string(),
    });
    if !policy.limits().is_empty() {
        // Each limit as the 429's `RateLimit-Policy` names it.
        operation["x-ratelimit"] = policy
            .limits()
            .iter()
            .map(|limit| {
                let mut entry = json!({
                    "name": limit.name(),
                    "rate": limit.rate().to_string(),
                    "quota": limit.rate().count(),
                    "window_seconds": limit.rate().period().as_secs_f64(),
                    "key": limit.key().to_string(),
                    "on": match limit.counts() {
                        crate::rate::Counts::Any => "any",
                        crate::rate::Counts::Failure => "failure",
                    },
                });
                if let Some(group) = limit.group() {
                    entry["group"] = json!(group);
                }
                if limit.reports() {
                    entry["mode"] = json!("report");
                }
                entry
            })
            .collect();
    }
    if let Some((action, on)) = policy.permission() {
        operation["x-permission"] =
            json!({ "action": action, "on": on, "list": policy.permission_on_list_items() });
    }
    if !guards.is_empty() {
        operation["x-secure-endpoint-guarded"] = json!({
            "body": guards.body,
            "response": guards.response,
        });
    }
    if policy.access() == Access::Public
        && let Some(reason) = policy.public_reason()
    {
        operation["description"] = json!(format!("Public: {reason}"));
    }
    if !parameters.is_empty() {
        operation["parameters"] = Value::Array(parameters);
    }
    operation
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use crate::routing::{get, post};
    use crate::{Claims, SecureRouter, public, secure};

    #[derive(serde::Deserialize, validator::Validate)]
    struct Note {
        text: String,
    }

    #[public(timeout = "5s")]
    async fn slow() -> &'static str {
        "slow"
    }

    #[public(concurrency = 2)]
    async fn narrow() -> &'static str {
        "narrow"
    }

    #[public(optional_auth)]
    async fn feed(caller: Option<Claims>) -> String {
        caller.map(|c| c.sub).unwrap_or_default()
    }

    #[public(validate = Note)]
    async fn write(note: Note) -> String {
        note.text
    }

    #[secure(auth)]
    async fn me(claims: Claims) -> String {
        claims.sub
    }

    fn statuses(document: &Value, path: &str, method: &str) -> Vec<String> {
        let responses = document["paths"][path][method]["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{method} {path} has answers"));
        responses
            .keys()
            .filter(|k| *k != "default")
            .cloned()
            .collect()
    }

    #[test]
    fn every_status_a_policy_answers_on_its_own_is_documented() {
        let router: SecureRouter = SecureRouter::new()
            .route("/slow", get(slow))
            .route("/narrow", get(narrow))
            .route("/feed", get(feed))
            .route("/notes", post(write))
            .route("/me", get(me));
        let document = router.inventory().openapi("t", "1");
        assert_eq!(statuses(&document, "/slow", "get"), ["500", "503"]);
        assert_eq!(statuses(&document, "/narrow", "get"), ["500", "503"]);
        assert_eq!(statuses(&document, "/feed", "get"), ["401", "429", "500"]);
        assert_eq!(
            statuses(&document, "/notes", "post"),
            ["400", "408", "413", "415", "500"]
        );
        assert_eq!(statuses(&document, "/me", "get"), ["401", "429", "500"]);
    }

    #[cfg(feature = "redis")]
    #[test]
    fn revocations_that_fail_closed_add_their_503() {
        let revocations = crate::revocation::Revocations::redis("redis://127.0.0.1:1")
            .unwrap()
            .fail_closed();
        let router: SecureRouter = SecureRouter::new().route("/me", get(me)).with_security(
            crate::pipeline::harness::settings()
                .revocation(revocations)
                .build()
                .unwrap(),
        );
        let document = router.inventory().openapi("t", "1");
        assert_eq!(
            statuses(&document, "/me", "get"),
            ["401", "429", "500", "503"]
        );
    }
}
