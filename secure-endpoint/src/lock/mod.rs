//! The security lock (DESIGN §17): the whole policy as a stable, line-oriented text, and
//! a diff of two locks in which every changed line is marked weaker, stronger or neutral.
//!
//! The text is one block per route (`METHOD /path handler`), sorted by path then method,
//! each protection one indented line `key value` in the fixed order of the table in
//! [`protections`]; then a block `settings`. Nothing in it depends on the order routes were
//! added, on a `HashMap`'s order, on the platform or on the time. [`diff`] compares two.

pub(crate) mod diff;
pub(crate) mod protections;

use std::fmt::Write as _;

use serde_json::Value;

pub use protections::Direction;
use protections::{PROTECTIONS, protection};

use crate::inventory::{Inventory, RouteEntry, RoutePolicy};
use crate::rate::Counts;

/// One block of a lock: its title and its `key value` lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Block {
    pub(crate) title: String,
    pub(crate) lines: Vec<(String, String)>,
}

impl Block {
    fn new(title: String) -> Self {
        Block {
            title,
            lines: Vec::new(),
        }
    }

    fn push(&mut self, key: &'static str, value: impl Into<String>) {
        debug_assert!(protection(key).is_some(), "{key} has a row in PROTECTIONS");
        self.lines.push((key.to_owned(), value.into()));
    }

    /// The lines in the table's order, multi-valued ones sorted.
    fn sorted(mut self) -> Self {
        let rank = |key: &str| PROTECTIONS.iter().position(|p| p.key == key);
        self.lines
            .sort_by(|a, b| rank(&a.0).cmp(&rank(&b.0)).then_with(|| a.1.cmp(&b.1)));
        self.lines.dedup();
        self
    }
}

/// The lock's header: what the file is and how to rewrite it.
pub(crate) const HEADER: &str = "# security.lock: every route's protections and the security settings, generated\n# from the declarations that enforce them. Review a change to it as a change to security;\n# rewrite it with SECURE_ENDPOINT_LOCK=overwrite cargo test.\n";

impl Inventory {
    /// The security lock: the stable, line-oriented text of every route's protections
    /// and the settings (DESIGN §17), for
    /// [`assert_security_lock`](crate::testing::assert_security_lock).
    ///
    /// ```
    /// use secure_endpoint::routing::get;
    /// use secure_endpoint::{SecureRouter, secure};
    ///
    /// #[secure(auth, role = "admin", rate = "10/m")]
    /// async fn stats() {}
    ///
    /// let router: SecureRouter = SecureRouter::new().route("/admin/stats", get(stats));
    /// let lock = router.inventory().lock();
    /// assert!(lock.contains("GET /admin/stats stats\n  access secure\n  auth required\n"));
    /// assert!(lock.contains("  roles admin\n"));
    /// assert!(lock.contains("  limit key=user counts=any group=- except=- rate=10/m\n"));
    /// ```
    pub fn lock(&self) -> String {
        let mut routes: Vec<&RouteEntry> = self.routes().iter().collect();
        routes.sort_by(|a, b| (&a.path, &a.method).cmp(&(&b.path, &b.method)));
        let mut blocks: Vec<Block> = routes.into_iter().map(|r| self.route_block(r)).collect();
        blocks.push(self.settings_block());
        let mut text = String::from(HEADER);
        for block in blocks {
            let _ = write!(text, "\n{}\n", block.title);
            for (key, value) in &block.lines {
                let _ = writeln!(text, "  {key} {value}");
            }
        }
        text
    }

    fn route_block(&self, route: &RouteEntry) -> Block {
        let handler = route.handler.unwrap_or("-");
        let mut block = Block::new(format!("{} {} {handler}", route.method, route.path));
        let policy = match route.policy {
            RoutePolicy::Declared(policy) => policy,
            RoutePolicy::Unchecked { ref reason } => {
                block.push("access", "unchecked");
                block.push("reason", reason.clone());
                return block;
            }
        };
        block.push(
            "access",
            match policy.access() {
                crate::policy::Access::Secure => "secure",
                crate::policy::Access::Public => "public",
            },
        );
        if let Some(reason) = policy.public_reason() {
            block.push("reason", reason);
        }
        let authenticates = policy.requires_auth() || policy.allows_optional_auth();
        if authenticates {
            block.push(
                "auth",
                if policy.requires_auth() {
                    "required"
                } else {
                    "optional"
                },
            );
            block.push("authenticator", policy.authenticator().unwrap_or("default"));
            if let Some(entry) = self.authenticator(policy.authenticator()) {
                block.push("credential", entry.credential.clone());
                if let Some(cookie) = &entry.cookie {
                    block.push("credential", format!("cookie {cookie}"));
                }
            }
        }
        if !policy.roles().is_empty() {
            block.push("roles", sorted_words(policy.roles()));
        }
        if !policy.scopes().is_empty() {
            block.push("scopes", sorted_words(policy.scopes()));
        }
        if let Some(owner) = policy.owner() {
            block.push("owner", owner);
        }
        if let Some(role) = policy.owner_or_role() {
            block.push("owner-or-role", role);
        }
        if let Some(tenant) = policy.tenant() {
            block.push("tenant", tenant);
        }
        if let Some((action, on)) = policy.permission() {
            match on {
                Some(on) if policy.permission_on_list_items() => {
                    block.push("can", format!("{action} on {on}[]"))
                }
                Some(on) => block.push("can", format!("{action} on {on}")),
                None => block.push("can", action),
            }
        }
        let schemas = (route.schemas)();
        if let Some(body) = policy.validated_body() {
            let form = if schemas.body_form { " form" } else { " json" };
            block.push("validate-body", format!("{body}{form}"));
            if let Some(schema) = &schemas.body {
                for line in field_lines("body", schema) {
                    block.push("field", line);
                }
            }
        }
        if let Some(query) = policy.validated_query() {
            block.push("validate-query", query);
            if let Some(schema) = &schemas.query {
                for line in field_lines("query", schema) {
                    block.push("field", line);
                }
            }
        }
        for limit in policy.limits() {
            let counts = match limit.counts() {
                Counts::Any => "any",
                Counts::Failure => "failure",
            };
            let except = if limit.excepts_devices() {
                "device"
            } else {
                "-"
            };
            let mode = if limit.reports() { " mode=report" } else { "" };
            block.push(
                "limit",
                format!(
                    "key={} counts={counts} group={} except={except} rate={}{mode}",
                    limit.key().to_string().replace(' ', "-"),
                    limit.group().unwrap_or("-"),
                    limit.rate()
                ),
            );
        }
        if let Some(timeout) = policy.timeout() {
            block.push("timeout", format!("{}ms", timeout.as_millis()));
        }
        if let Some(n) = policy.concurrency() {
            block.push("concurrency", n.to_string());
        }
        let method = route.method.parse().unwrap_or(http::Method::GET);
        if self.served(route, &method).csrf_checked {
            block.push("csrf", "checked");
        }
        if let Some(limit) = route.body_limit {
            block.push("body-limit", limit.to_string());
        }
        for (place, keys) in [
            ("body", route.guards.body),
            ("answer", route.guards.response),
        ] {
            for key in keys {
                let mut line = format!("{place}.{}", key.key);
                if let Some(owner) = key.owner {
                    let _ = write!(line, " owner={owner}");
                }
                if let Some(role) = key.role {
                    let _ = write!(line, " role={role}");
                }
                block.push("guarded", line);
            }
        }
        block.sorted()
    }

    fn settings_block(&self) -> Block {
        let mut block = Block::new("settings".to_owned());
        for entry in self.authenticators() {
            let name = entry.name.as_deref().unwrap_or("default");
            block.push("authenticator", format!("{name} {}", entry.credential));
        }
        if let Some(browsers) = self.browsers() {
            if let Some(cookie) = &browsers.session_cookie {
                block.push(
                    "session-cookie",
                    format!("{cookie} Path=/ Secure HttpOnly SameSite=Lax"),
                );
            }
            for origin in &browsers.cors_origins {
                block.push("cors-origin", origin.clone());
            }
            if !browsers.cors_origins.is_empty() {
                block.push("cors-credentials", browsers.cors_credentials.to_string());
            }
        }
        for (key, value) in self.settings_lines() {
            block.push(key, value.clone());
        }
        let mut block = block.sorted();
        // `authenticator` shares its key with the routes' line; in the settings it comes
        // first.
        block.lines.sort_by_key(|(key, _)| key != "authenticator");
        block
    }
}

fn sorted_words(names: &[&str]) -> String {
    let mut names = names.to_vec();
    names.sort_unstable();
    names.dedup();
    names.join(" ")
}

/// The rules of each field of a JSON Schema: `place.path type=… [required] rule=…`,
/// nested objects by their dotted path, `$ref`s resolved in the schema's `$defs`.
fn field_lines(place: &str, schema: &Value) -> Vec<String> {
    let defs = schema
        .get("$defs")
        .or_else(|| schema.get("definitions"))
        .cloned()
        .unwrap_or(Value::Null);
    let mut lines = Vec::new();
    object_fields(place, schema, &defs, &mut lines, 0);
    lines
}

const RULES: &[&str] = &[
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minItems",
    "maxItems",
    "pattern",
    "format",
    "enum",
    "const",
];

fn resolve<'a>(schema: &'a Value, defs: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => reference
            .rsplit('/')
            .next()
            .and_then(|name| defs.get(name))
            .unwrap_or(schema),
        None => schema,
    }
}

fn object_fields(path: &str, schema: &Value, defs: &Value, lines: &mut Vec<String>, depth: u8) {
    let schema = resolve(schema, defs);
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for (name, field) in properties {
        let field_path = format!("{path}.{name}");
        let field = resolve(field, defs);
        let mut line = field_path.clone();
        let kind = match field.get("type") {
            Some(Value::String(kind)) => kind.clone(),
            Some(Value::Array(kinds)) => kinds
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("|"),
            _ => "any".to_owned(),
        };
        let _ = write!(line, " type={kind}");
        if required.contains(&name.as_str()) {
            line.push_str(" required");
        }
        for rule in RULES {
            if let Some(value) = field.get(*rule) {
                let value = match value {
                    Value::String(s) => s.replace(' ', "\\x20"),
                    other => other.to_string().replace(' ', ""),
                };
                let _ = write!(line, " {rule}={value}");
            }
        }
        if let Some(items) = field.get("items") {
            let items = resolve(items, defs);
            for rule in RULES {
                if let Some(value) = items.get(*rule) {
                    let _ = write!(line, " items.{rule}={}", value.to_string().replace(' ', ""));
                }
            }
            if depth < 8 {
                object_fields(&format!("{field_path}[]"), items, defs, lines, depth + 1);
            }
        }
        lines.push(line);
        if depth < 8 {
            object_fields(&field_path, field, defs, lines, depth + 1);
        }
    }
}
