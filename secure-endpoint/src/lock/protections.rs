//! What a change of each line of the lock means: one row per protection, with the
//! direction of adding it, removing it and changing its value, each decided and tested
//! here.

use std::collections::BTreeMap;

use crate::rate::Rate;

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
    pub(crate) fn label(self) -> &'static str {
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
    pub(crate) identity: Option<fn(&str) -> &str>,
    pub(crate) added: Direction,
    pub(crate) removed: Direction,
    pub(crate) changed: fn(&str, &str) -> Direction,
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
    // The permission engine asked (`can … on …`): removed is weaker; another action is
    // neutral (what it permits is the policies').
    row("can", None, Stronger, Weaker, neutral),
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
    // The engine and a digest of its policies: any change to them is judged weaker, for
    // review: what a policy permits cannot be read off its text.
    row("permissions", None, Stronger, Weaker, changed_is_weaker),
];

pub(crate) fn protection(key: &str) -> Option<&'static Protection> {
    PROTECTIONS.iter().find(|p| p.key == key)
}

fn neutral(_: &str, _: &str) -> Direction {
    Neutral
}

fn changed_is_weaker(_: &str, _: &str) -> Direction {
    Weaker
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
