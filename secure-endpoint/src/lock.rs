//! The security lock (DESIGN §17): the whole policy as a stable, line-oriented text, and
//! a diff of two locks in which every changed line is marked weaker, stronger or neutral.
//!
//! The text is one block per route (`METHOD /path handler`), sorted by path then method,
//! each protection one indented line `key value` in the fixed order of [`PROTECTIONS`];
//! then a block `settings`. Nothing in it depends on the order routes were added, on a
//! `HashMap`'s order, on the platform or on the time.
//!
//! [`PROTECTIONS`] is the one table of what a change means: for each key, whether adding
//! or removing the line, or changing its value, loosens or tightens what is enforced.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use crate::inventory::{Inventory, RouteEntry, RoutePolicy};
use crate::rate::{Counts, Rate};

/// Which way a change moves the security of a route or of the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Direction {
    /// A protection removed or loosened.
    Weaker,
    /// A protection added or tightened.
    Stronger,
    /// Neither: review it all the same.
    Neutral,
}

impl Direction {
    fn label(self) -> &'static str {
        match self {
            Direction::Weaker => "weaker",
            Direction::Stronger => "stronger",
            Direction::Neutral => "neutral",
        }
    }
}

use Direction::{Neutral, Stronger, Weaker};

/// One row of the table: a protection's key and what a change of its line means.
pub(crate) struct Protection {
    pub(crate) key: &'static str,
    /// Lines of this key with the same identity are one protection whose value changed;
    /// `None`: the key has one line at most.
    identity: Option<fn(&str) -> &str>,
    added: Direction,
    removed: Direction,
    changed: fn(&str, &str) -> Direction,
}

const fn row(
    key: &'static str,
    identity: Option<fn(&str) -> &str>,
    added: Direction,
    removed: Direction,
    changed: fn(&str, &str) -> Direction,
) -> Protection {
    Protection {
        key,
        identity,
        added,
        removed,
        changed,
    }
}

/// Every line of a lock, in the order it is written. A route's lines first, then the
/// settings'. Where a row says "multi", a key may have several lines, paired by the
/// identity given.
pub(crate) const PROTECTIONS: &[Protection] = &[
    // `#[secure]` or `#[public]`: becoming public is weaker.
    row("access", None, Neutral, Neutral, access),
    row("reason", None, Neutral, Neutral, neutral),
    // `required` or `optional` (`optional_auth`): optional is weaker than required.
    row("auth", None, Stronger, Weaker, auth),
    // Another authenticator: review what it accepts.
    row("authenticator", None, Neutral, Neutral, neutral),
    // Where a credential is read (multi): one more way in is weaker.
    row("credential", Some(whole), Weaker, Stronger, neutral),
    // Any of these roles: a role requirement added is stronger; another role accepted
    // is weaker.
    row("roles", None, Stronger, Weaker, any_of),
    // Every one of these scopes: one more required is stronger.
    row("scopes", None, Stronger, Weaker, all_of),
    // The owner's field: another field is neutral, the check removed weaker.
    row("owner", None, Stronger, Weaker, neutral),
    // The role that passes the ownership check: granting one is weaker.
    row("owner-or-role", None, Weaker, Stronger, neutral),
    row("tenant", None, Stronger, Weaker, neutral),
    row("validate-body", None, Stronger, Weaker, neutral),
    row("validate-query", None, Stronger, Weaker, neutral),
    // One field of a validated input and its rules (multi, by path): a rule loosened is
    // weaker, tightened stronger; a field added or removed is neutral.
    row("field", Some(first_word), Neutral, Neutral, field_rules),
    // One limit (multi, by what it counts): removed is weaker; a higher burst or a higher
    // sustained rate is weaker; report-only is weaker than enforced.
    row("limit", Some(limit_identity), Stronger, Weaker, limit),
    row("timeout", None, Stronger, Weaker, lower_is_stronger),
    row("concurrency", None, Stronger, Weaker, lower_is_stronger),
    row("csrf", None, Stronger, Weaker, neutral),
    row("body-limit", None, Stronger, Weaker, lower_is_stronger),
    // A guarded field (multi, by key): unguarded is weaker.
    row("guarded", Some(first_word), Stronger, Weaker, neutral),
    // Settings. Each authenticator's own lines name it first.
    row("issuer", Some(whole), Weaker, Stronger, neutral),
    row("audience", Some(whole), Weaker, Stronger, neutral),
    row("algorithm", Some(whole), Weaker, Stronger, neutral),
    row("keys", Some(all_but_last_word), Neutral, Neutral, neutral),
    row(
        "leeway",
        Some(all_but_last_word),
        Stronger,
        Weaker,
        lower_is_stronger,
    ),
    row("max-token-bytes", None, Stronger, Weaker, lower_is_stronger),
    row("trusted-proxy", Some(whole), Weaker, Stronger, neutral),
    row("forwarded-header", None, Neutral, Neutral, neutral),
    row("failed-auth-limit", None, Stronger, Weaker, rate),
    row("session-cookie", None, Weaker, Stronger, neutral),
    row("cors-origin", Some(whole), Weaker, Stronger, neutral),
    // Credentialed requests from the listed origins: allowing them is weaker.
    row("cors-credentials", None, Weaker, Stronger, true_is_weaker),
    row("own-origin", None, Neutral, Neutral, neutral),
    row("hsts", None, Stronger, Weaker, neutral),
    // Forbidden resources answered 404: switched off is weaker.
    row("hide-forbidden", None, Stronger, Weaker, true_is_stronger),
    row("rate-limiter", None, Stronger, Weaker, neutral),
    row("revocation", None, Stronger, Weaker, neutral),
    // `closed` (503 while the shared store is silent) or `open`: open is weaker.
    row("revocation-fails", None, Stronger, Weaker, fails),
    row(
        "max-token-lifetime",
        None,
        Stronger,
        Weaker,
        lower_is_stronger,
    ),
    row("principal-check", None, Stronger, Weaker, neutral),
    row("declared-roles", None, Neutral, Neutral, neutral),
    row("declared-scopes", None, Neutral, Neutral, neutral),
    row("device-credentials", None, Neutral, Neutral, neutral),
    row("limit-key-normalizer", None, Neutral, Neutral, neutral),
];

fn protection(key: &str) -> Option<&'static Protection> {
    PROTECTIONS.iter().find(|p| p.key == key)
}

fn neutral(_: &str, _: &str) -> Direction {
    Neutral
}

fn whole(value: &str) -> &str {
    value
}

fn first_word(value: &str) -> &str {
    value.split(' ').next().unwrap_or(value)
}

fn all_but_last_word(value: &str) -> &str {
    value.rsplit_once(' ').map_or("", |(rest, _)| rest)
}

fn limit_identity(value: &str) -> &str {
    value.split(" rate=").next().unwrap_or(value)
}

fn true_is_stronger(old: &str, new: &str) -> Direction {
    match (old, new) {
        ("true", "false") => Weaker,
        ("false", "true") => Stronger,
        _ => Neutral,
    }
}

fn true_is_weaker(old: &str, new: &str) -> Direction {
    match true_is_stronger(old, new) {
        Weaker => Stronger,
        Stronger => Weaker,
        Neutral => Neutral,
    }
}

fn access(old: &str, new: &str) -> Direction {
    match (old, new) {
        ("secure", "public") => Weaker,
        ("public", "secure") => Stronger,
        _ => Neutral,
    }
}

fn auth(old: &str, new: &str) -> Direction {
    match (old, new) {
        ("required", "optional") => Weaker,
        ("optional", "required") => Stronger,
        _ => Neutral,
    }
}

fn fails(old: &str, new: &str) -> Direction {
    match (old, new) {
        ("closed", "open") => Weaker,
        ("open", "closed") => Stronger,
        _ => Neutral,
    }
}

fn words(value: &str) -> std::collections::BTreeSet<&str> {
    value.split(' ').filter(|w| !w.is_empty()).collect()
}

/// Any of the names admits: more names admit more callers.
fn any_of(old: &str, new: &str) -> Direction {
    let (old, new) = (words(old), words(new));
    if new.is_subset(&old) {
        Stronger
    } else {
        Weaker
    }
}

/// Every name is required: more names admit fewer callers.
fn all_of(old: &str, new: &str) -> Direction {
    let (old, new) = (words(old), words(new));
    if old.is_subset(&new) {
        Stronger
    } else {
        Weaker
    }
}

/// A number with an optional unit (`65536`, `5s`, `60s`, `24h`), in comparable units.
fn magnitude(value: &str) -> Option<f64> {
    let value = value.split(' ').next_back()?;
    if let Ok(n) = value.parse::<f64>() {
        return Some(n);
    }
    secure_endpoint_grammar::parse_duration(value)
        .ok()
        .map(|ms| ms as f64)
}

fn lower_is_stronger(old: &str, new: &str) -> Direction {
    match (magnitude(old), magnitude(new)) {
        (Some(old), Some(new)) if new > old => Weaker,
        (Some(old), Some(new)) if new < old => Stronger,
        (Some(_), Some(_)) => Neutral,
        _ => Weaker,
    }
}

/// Two rates: a higher burst or a higher sustained rate is weaker.
fn rate(old: &str, new: &str) -> Direction {
    let (Ok(old), Ok(new)) = (Rate::parse(old), Rate::parse(new)) else {
        return Weaker;
    };
    let (c1, p1) = (u128::from(old.count()), old.period().as_millis());
    let (c2, p2) = (u128::from(new.count()), new.period().as_millis());
    let burst_up = c2 > c1;
    let sustained_up = c2 * p1 > c1 * p2;
    if burst_up || sustained_up {
        Weaker
    } else if c2 == c1 && c2 * p1 == c1 * p2 {
        Neutral
    } else {
        Stronger
    }
}

fn value_of<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split(' ')
        .find_map(|word| word.strip_prefix(key)?.strip_prefix('='))
}

/// A limit's line: `key=… counts=… group=… except=… rate=… [mode=report]`.
fn limit(old: &str, new: &str) -> Direction {
    let report = |line: &str| value_of(line, "mode") == Some("report");
    match (report(old), report(new)) {
        (false, true) => return Weaker,
        (true, false) => return Stronger,
        _ => {}
    }
    match (value_of(old, "rate"), value_of(new, "rate")) {
        (Some(old), Some(new)) => rate(old, new),
        _ => Neutral,
    }
}

/// A field's rules: `path type=… required minLength=1 maxLength=200 …`.
fn field_rules(old: &str, new: &str) -> Direction {
    let rules = |line: &str| -> BTreeMap<String, String> {
        line.split(' ')
            .skip(1)
            .map(|word| match word.split_once('=') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None => (word.to_owned(), String::new()),
            })
            .collect()
    };
    let (old, new) = (rules(old), rules(new));
    let mut weaker = false;
    let mut stronger = false;
    let keys: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for key in keys {
        if key == "type" {
            continue;
        }
        let lower_bound = key.starts_with("min") || key == "exclusiveMinimum";
        let upper_bound = key.starts_with("max") || key == "exclusiveMaximum";
        match (old.get(key), new.get(key)) {
            (Some(_), None) => weaker = true,
            (None, Some(_)) => stronger = true,
            (Some(a), Some(b)) if a != b => {
                let (a, b) = (a.parse::<f64>().ok(), b.parse::<f64>().ok());
                match (a, b) {
                    (Some(a), Some(b)) if lower_bound => {
                        weaker |= b < a;
                        stronger |= b > a;
                    }
                    (Some(a), Some(b)) if upper_bound => {
                        weaker |= b > a;
                        stronger |= b < a;
                    }
                    // Another pattern, format or set of values: judged looser.
                    _ => weaker = true,
                }
            }
            _ => {}
        }
    }
    if weaker {
        Weaker
    } else if stronger {
        Stronger
    } else {
        Neutral
    }
}

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

/// A lock's text read back into blocks (comments and blank lines skipped).
pub(crate) fn parse(text: &str) -> Vec<Block> {
    let mut blocks: Vec<Block> = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        match line.strip_prefix("  ") {
            Some(entry) => {
                let (key, value) = entry.split_once(' ').unwrap_or((entry, ""));
                if let Some(block) = blocks.last_mut() {
                    block.lines.push((key.to_owned(), value.to_owned()));
                }
            }
            None => blocks.push(Block::new(line.to_owned())),
        }
    }
    blocks
}

/// One changed line of a diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Change {
    pub(crate) direction: Direction,
    /// `- line`, `+ line`, or `~ old -> new`.
    pub(crate) text: String,
}

/// Every changed block, with its changes, weaker first.
pub(crate) fn diff(old: &[Block], new: &[Block]) -> Vec<(String, Vec<Change>)> {
    let mut changed = Vec::new();
    let find = |blocks: &[Block], title: &str| blocks.iter().find(|b| b.title == title).cloned();
    let route_key = |title: &str| {
        // `METHOD /path handler`: the handler's name may change without the route.
        let mut words = title.split(' ');
        format!(
            "{} {}",
            words.next().unwrap_or(""),
            words.next().unwrap_or("")
        )
    };
    let mut titles: Vec<String> = Vec::new();
    for block in old.iter().chain(new) {
        let key = route_key(&block.title);
        if !titles.contains(&key) {
            titles.push(key);
        }
    }
    for key in titles {
        let old_block = old
            .iter()
            .find(|b| route_key(&b.title) == key)
            .and_then(|b| find(old, &b.title));
        let new_block = new
            .iter()
            .find(|b| route_key(&b.title) == key)
            .and_then(|b| find(new, &b.title));
        let title = new_block
            .as_ref()
            .or(old_block.as_ref())
            .map(|b| b.title.clone())
            .unwrap_or(key);
        let changes = match (old_block, new_block) {
            (Some(old), Some(new)) => block_changes(&old, &new),
            (None, Some(new)) => {
                let public = new
                    .lines
                    .iter()
                    .any(|(k, v)| k == "access" && v != "secure");
                let direction = if public { Weaker } else { Neutral };
                vec![Change {
                    direction,
                    text: "+ the route (new)".to_owned(),
                }]
            }
            (Some(_), None) => vec![Change {
                direction: Stronger,
                text: "- the route (gone)".to_owned(),
            }],
            (None, None) => Vec::new(),
        };
        if !changes.is_empty() {
            changed.push((title, changes));
        }
    }
    changed.sort_by_key(|(_, changes)| changes.iter().map(|c| c.direction).min());
    changed
}

fn block_changes(old: &Block, new: &Block) -> Vec<Change> {
    let mut changes = Vec::new();
    let keys: Vec<&String> = {
        let mut keys: Vec<&String> = old.lines.iter().chain(&new.lines).map(|(k, _)| k).collect();
        keys.dedup();
        let mut unique = Vec::new();
        for key in keys {
            if !unique.contains(&key) {
                unique.push(key);
            }
        }
        unique
    };
    for key in keys {
        let table = protection(key);
        let values = |block: &Block| -> Vec<String> {
            block
                .lines
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .collect()
        };
        let (mut before, mut after) = (values(old), values(new));
        before.retain(|v| {
            let same = after.iter().position(|w| w == v);
            if let Some(i) = same {
                after.remove(i);
            }
            same.is_none()
        });
        let identity = |value: &str| -> String {
            match table.and_then(|t| t.identity) {
                Some(identity) => identity(value).to_owned(),
                None => String::new(),
            }
        };
        for value in before {
            let id = identity(&value);
            match after.iter().position(|w| identity(w) == id) {
                Some(i) => {
                    let new_value = after.remove(i);
                    let direction = table.map_or(Weaker, |t| (t.changed)(&value, &new_value));
                    changes.push(Change {
                        direction,
                        text: format!("~ {key} {value} -> {new_value}"),
                    });
                }
                None => changes.push(Change {
                    direction: table.map_or(Weaker, |t| t.removed),
                    text: format!("- {key} {value}"),
                }),
            }
        }
        for value in after {
            changes.push(Change {
                direction: table.map_or(Weaker, |t| t.added),
                text: format!("+ {key} {value}"),
            });
        }
    }
    changes.sort_by_key(|c| c.direction);
    changes
}

/// The diff as a reviewer reads it: a first line counting what weakened, then each
/// changed route with its lines marked.
pub(crate) fn render_diff(path: &str, changes: &[(String, Vec<Change>)]) -> String {
    let weakened: Vec<&str> = changes
        .iter()
        .filter(|(_, c)| c.iter().any(|c| c.direction == Weaker))
        .map(|(title, _)| title.as_str())
        .collect();
    let mut text = match weakened.len() {
        0 => format!("{path}: the security lock changed; nothing weakened\n"),
        1 => format!("{path}: 1 route or setting weakened: {}\n", weakened[0]),
        n => format!(
            "{path}: {n} routes or settings weakened: {}\n",
            weakened.join(", ")
        ),
    };
    for (title, lines) in changes {
        let _ = writeln!(text, "\n{title}");
        for change in lines {
            let _ = writeln!(text, "  {:<8} {}", change.direction.label(), change.text);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judge(key: &str, old: Option<&str>, new: Option<&str>) -> Direction {
        let block = |value: Option<&str>| Block {
            title: "GET /x x".to_owned(),
            lines: value
                .map(|v| vec![(key.to_owned(), v.to_owned())])
                .unwrap_or_default(),
        };
        let changes = block_changes(&block(old), &block(new));
        assert_eq!(changes.len(), 1, "{changes:?}");
        changes[0].direction
    }

    #[test]
    fn every_key_written_has_a_row() {
        let keys: Vec<&str> = PROTECTIONS.iter().map(|p| p.key).collect();
        let mut unique = keys.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), keys.len(), "a key is in the table twice");
    }

    #[test]
    fn access_public_is_weaker() {
        assert_eq!(judge("access", Some("secure"), Some("public")), Weaker);
        assert_eq!(judge("access", Some("public"), Some("secure")), Stronger);
    }

    #[test]
    fn auth_dropped_or_made_optional_is_weaker() {
        assert_eq!(judge("auth", Some("required"), None), Weaker);
        assert_eq!(judge("auth", Some("required"), Some("optional")), Weaker);
        assert_eq!(judge("auth", None, Some("required")), Stronger);
    }

    #[test]
    fn a_credential_accepted_more_is_weaker() {
        assert_eq!(
            judge("credential", None, Some("cookie __Host-session")),
            Weaker
        );
        assert_eq!(
            judge("credential", Some("cookie __Host-session"), None),
            Stronger
        );
    }

    #[test]
    fn roles_are_any_of() {
        assert_eq!(judge("roles", Some("admin"), None), Weaker);
        assert_eq!(judge("roles", None, Some("admin")), Stronger);
        assert_eq!(judge("roles", Some("admin"), Some("admin editor")), Weaker);
        assert_eq!(
            judge("roles", Some("admin editor"), Some("admin")),
            Stronger
        );
        assert_eq!(judge("roles", Some("admin"), Some("editor")), Weaker);
    }

    #[test]
    fn scopes_are_all_of() {
        assert_eq!(judge("scopes", Some("a"), None), Weaker);
        assert_eq!(judge("scopes", Some("a"), Some("a b")), Stronger);
        assert_eq!(judge("scopes", Some("a b"), Some("a")), Weaker);
        assert_eq!(judge("scopes", Some("a"), Some("b")), Weaker);
    }

    #[test]
    fn owner_and_tenant_removed_are_weaker_and_moved_neutral() {
        for key in ["owner", "tenant"] {
            assert_eq!(judge(key, Some("post.user_id"), None), Weaker);
            assert_eq!(judge(key, None, Some("post.user_id")), Stronger);
            assert_eq!(
                judge(key, Some("post.user_id"), Some("post.author_id")),
                Neutral
            );
        }
    }

    #[test]
    fn a_role_passing_the_owner_check_is_weaker() {
        assert_eq!(judge("owner-or-role", None, Some("admin")), Weaker);
        assert_eq!(judge("owner-or-role", Some("admin"), None), Stronger);
    }

    #[test]
    fn validation_removed_is_weaker() {
        assert_eq!(judge("validate-body", Some("Post json"), None), Weaker);
        assert_eq!(judge("validate-query", None, Some("Filter")), Stronger);
    }

    #[test]
    fn field_rules_loosened_are_weaker() {
        let field = |rules: &str| format!("body.title type=string required {rules}");
        assert_eq!(
            judge(
                "field",
                Some(&field("maxLength=200")),
                Some(&field("maxLength=500"))
            ),
            Weaker
        );
        assert_eq!(
            judge(
                "field",
                Some(&field("maxLength=500")),
                Some(&field("maxLength=200"))
            ),
            Stronger
        );
        assert_eq!(
            judge(
                "field",
                Some(&field("minLength=1")),
                Some(&field("minLength=0"))
            ),
            Weaker
        );
        assert_eq!(
            judge("field", Some(&field("minLength=1")), Some(&field(""))),
            Weaker
        );
        assert_eq!(
            judge(
                "field",
                Some(&field("pattern=^a$")),
                Some(&field("pattern=.*"))
            ),
            Weaker
        );
        assert_eq!(judge("field", None, Some("body.note type=string")), Neutral);
    }

    #[test]
    fn limits_raised_removed_or_reporting_are_weaker() {
        let limit = |rest: &str| format!("key=user counts=any group=- except=- {rest}");
        assert_eq!(
            judge(
                "limit",
                Some(&limit("rate=10/m")),
                Some(&limit("rate=20/m"))
            ),
            Weaker
        );
        // The same burst over a shorter period sustains more.
        assert_eq!(
            judge(
                "limit",
                Some(&limit("rate=10/m")),
                Some(&limit("rate=10/s"))
            ),
            Weaker
        );
        // A longer period sustains less.
        assert_eq!(
            judge(
                "limit",
                Some(&limit("rate=10/s")),
                Some(&limit("rate=10/m"))
            ),
            Stronger
        );
        assert_eq!(judge("limit", Some(&limit("rate=10/m")), None), Weaker);
        assert_eq!(judge("limit", None, Some(&limit("rate=10/m"))), Stronger);
        assert_eq!(
            judge(
                "limit",
                Some(&limit("rate=10/m")),
                Some(&limit("rate=10/m mode=report"))
            ),
            Weaker
        );
    }

    #[test]
    fn timeouts_concurrency_and_body_limits_raised_are_weaker() {
        for key in ["timeout", "concurrency", "body-limit", "max-token-lifetime"] {
            assert_eq!(judge(key, Some("5000ms"), Some("9000ms")), Weaker, "{key}");
            assert_eq!(
                judge(key, Some("9000ms"), Some("5000ms")),
                Stronger,
                "{key}"
            );
            assert_eq!(judge(key, Some("5000ms"), None), Weaker, "{key}");
        }
        assert_eq!(judge("body-limit", Some("65536"), Some("1048576")), Weaker);
    }

    #[test]
    fn csrf_and_guards_removed_are_weaker() {
        assert_eq!(judge("csrf", Some("checked"), None), Weaker);
        assert_eq!(
            judge("guarded", Some("answer.email owner=id"), None),
            Weaker
        );
        assert_eq!(
            judge("guarded", None, Some("body.pinned role=admin")),
            Stronger
        );
    }

    #[test]
    fn settings_that_admit_more_are_weaker() {
        for key in [
            "issuer",
            "audience",
            "algorithm",
            "trusted-proxy",
            "cors-origin",
        ] {
            assert_eq!(judge(key, None, Some("x")), Weaker, "{key}");
            assert_eq!(judge(key, Some("x"), None), Stronger, "{key}");
        }
        assert_eq!(judge("cors-credentials", None, Some("true")), Weaker);
        assert_eq!(
            judge("cors-credentials", Some("false"), Some("true")),
            Weaker
        );
        assert_eq!(judge("hide-forbidden", Some("true"), Some("false")), Weaker);
        assert_eq!(
            judge("hide-forbidden", Some("false"), Some("true")),
            Stronger
        );
        assert_eq!(
            judge("revocation-fails", Some("closed"), Some("open")),
            Weaker
        );
        assert_eq!(judge("revocation", Some("memory"), None), Weaker);
        assert_eq!(judge("principal-check", Some("cache=60s"), None), Weaker);
        assert_eq!(judge("hsts", Some("max-age=31536000"), None), Weaker);
        assert_eq!(
            judge("leeway", Some("default 30s"), Some("default 120s")),
            Weaker
        );
        assert_eq!(
            judge("max-token-bytes", Some("8192"), Some("65536")),
            Weaker
        );
        assert_eq!(
            judge("failed-auth-limit", Some("20/m"), Some("100/m")),
            Weaker
        );
        assert_eq!(judge("failed-auth-limit", Some("20/m"), None), Weaker);
        assert_eq!(
            judge("session-cookie", None, Some("__Host-session")),
            Weaker
        );
    }

    #[test]
    fn neutral_settings_are_neutral() {
        for key in [
            "reason",
            "authenticator",
            "forwarded-header",
            "own-origin",
            "declared-roles",
            "device-credentials",
        ] {
            assert_eq!(judge(key, Some("a"), Some("b")), Neutral, "{key}");
        }
    }

    #[test]
    fn the_diff_counts_the_weakened_routes_and_lists_them_first() {
        let old = parse(
            "GET /admin/stats stats\n  access secure\n  auth required\n  roles admin\nGET /me me\n  access secure\n  auth required\n",
        );
        let new = parse(
            "GET /admin/stats stats\n  access secure\n  auth required\nGET /me me\n  access secure\n  auth required\n  roles user\n",
        );
        let changes = diff(&old, &new);
        assert_eq!(changes[0].0, "GET /admin/stats stats");
        let text = render_diff("security.lock", &changes);
        assert!(
            text.starts_with(
                "security.lock: 1 route or setting weakened: GET /admin/stats stats\n"
            ),
            "{text}"
        );
        assert!(text.contains("  weaker   - roles admin\n"), "{text}");
        assert!(text.contains("  stronger + roles user\n"), "{text}");
    }
}
