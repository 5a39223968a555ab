//! Decisions compiled from an engine's partial evaluation. For one principal, action and
//! resource type, partial evaluation with the resource unknown leaves each policy that
//! can still apply as a condition on the resource's attributes; read as [`Filter`]s,
//! those conditions are the list's [`Plan`] and also decide a single resource without
//! asking the engine again, as long as every attribute they read is there with the type
//! they compare it with. Where a filter cannot say exactly what the engine would (an
//! attribute missing or of another type, where the engine would stop on an error), the
//! decision is left to the engine.
//!
//! The compilations are kept per principal, action and type, at most
//! [`MOST_COMPILATIONS`] of them; past that the table is emptied and refilled as
//! questions come.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde_json::{Map, Value};

use super::{Decision, EngineError, Filter, Plan, Subject};

/// How many compilations an engine keeps before it starts again from none.
pub(crate) const MOST_COMPILATIONS: usize = 4096;

/// One policy that can still apply, as a filter on the resource.
#[derive(Debug)]
pub(crate) struct CompiledPolicy {
    /// Its name in the audit log.
    pub name: String,
    /// Whether it forbids (otherwise it permits).
    pub forbid: bool,
    /// When it applies.
    pub filter: Filter,
}

/// The policies that can still apply for one principal, action and resource type.
#[derive(Debug)]
pub(crate) struct Compiled {
    policies: Vec<CompiledPolicy>,
    /// Whether single decisions may be taken from the filters: the engine would accept
    /// the question (its schema lets the action apply to this principal and type).
    decides: bool,
}

impl Compiled {
    pub fn new(policies: Vec<CompiledPolicy>, decides: bool) -> Compiled {
        Compiled { policies, decides }
    }

    /// The list's plan: any permit, and no forbid.
    pub fn plan(&self) -> Plan {
        let (forbids, permits): (Vec<_>, Vec<_>) =
            self.policies.iter().partition(|policy| policy.forbid);
        let filters = |policies: Vec<&CompiledPolicy>| {
            Filter::Or(policies.into_iter().map(|p| p.filter.clone()).collect())
        };
        Plan::of(Filter::And(vec![
            filters(permits),
            Filter::Not(Box::new(filters(forbids))),
        ]))
    }

    /// The decision on a resource with `attributes`, as the engine gives it: denied
    /// when a forbid applies (decided by those), else permitted when a permit applies
    /// (decided by those), else denied by none. `None` when a filter cannot say exactly.
    pub fn decide(&self, attributes: &Map<String, Value>) -> Option<Decision> {
        if !self.decides || !attributes.values().all(representable) {
            return None;
        }
        let mut permits = Vec::new();
        let mut forbids = Vec::new();
        for policy in &self.policies {
            if exact(&policy.filter, attributes)? {
                if policy.forbid {
                    forbids.push(policy.name.clone());
                } else {
                    permits.push(policy.name.clone());
                }
            }
        }
        Some(if !forbids.is_empty() {
            Decision {
                allowed: false,
                reasons: forbids,
            }
        } else {
            Decision {
                allowed: !permits.is_empty(),
                reasons: permits,
            }
        })
    }
}

/// Whether the engine holds `value` as it is: every number in it a whole number of 64
/// bits (the engine refuses the question otherwise, which the engine itself reports).
fn representable(value: &Value) -> bool {
    match value {
        Value::Number(n) => n.as_i64().is_some(),
        Value::Array(items) => items.iter().all(representable),
        Value::Object(fields) => fields.values().all(representable),
        Value::Null | Value::Bool(_) | Value::String(_) => true,
    }
}

/// Whether `a` and `b` are values of one type (string, boolean or number).
fn same_type(a: &Value, b: &Value) -> bool {
    matches!(
        (a, b),
        (Value::String(_), Value::String(_))
            | (Value::Bool(_), Value::Bool(_))
            | (Value::Number(_), Value::Number(_))
    )
}

/// `filter` on `attributes`, or `None` where the engine would stop on an error (an
/// attribute missing or null, a comparison of two types, membership in what is not a
/// set). Every part is evaluated, so that no error is hidden behind another part's
/// answer whatever order the engine takes them in.
fn exact(filter: &Filter, attributes: &Map<String, Value>) -> Option<bool> {
    let present = |name: &str| attributes.get(name).filter(|value| !value.is_null());
    match filter {
        Filter::Eq(name, literal) => {
            let value = present(name)?;
            same_type(value, literal).then(|| value == literal)
        }
        Filter::Contains(name, literal) => Some(present(name)?.as_array()?.contains(literal)),
        Filter::In(name, literals) => Some(literals.contains(present(name)?)),
        Filter::And(parts) => parts.iter().try_fold(true, |all, part| {
            let this = exact(part, attributes)?;
            Some(all && this)
        }),
        Filter::Or(parts) => parts.iter().try_fold(false, |any, part| {
            let this = exact(part, attributes)?;
            Some(any || this)
        }),
        Filter::Not(inner) => Some(!exact(inner, attributes)?),
    }
}

/// A compilation, or why there is none (the same for every later question).
pub(crate) type Compilation = Arc<Result<Compiled, EngineError>>;

/// An engine's compilations, by principal, action and resource type.
#[derive(Default)]
pub(crate) struct Compilations {
    entries: RwLock<HashMap<Vec<u8>, Compilation>>,
}

impl Compilations {
    /// The compilation for `subject`, `action` and `kind`, compiled by `compile` when
    /// none is kept.
    pub fn get(
        &self,
        subject: &Subject<'_>,
        action: &str,
        kind: &str,
        compile: impl FnOnce() -> Result<Compiled, EngineError>,
    ) -> Compilation {
        let key = key(subject, action, kind);
        if let Some(found) = self
            .entries
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&key)
        {
            return found.clone();
        }
        let compiled = Arc::new(compile());
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() >= MOST_COMPILATIONS {
            entries.clear();
        }
        entries.insert(key, compiled.clone());
        compiled
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.read().unwrap().len()
    }
}

/// The table's key: every part preceded by its length, so that no two questions share
/// one whatever their ids and roles hold.
fn key(subject: &Subject<'_>, action: &str, kind: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(64);
    let mut part = |text: &str| {
        key.extend_from_slice(&(text.len() as u64).to_le_bytes());
        key.extend_from_slice(text.as_bytes());
    };
    part(action);
    part(kind);
    part(subject.id);
    part(subject.tenant.unwrap_or(""));
    part(if subject.tenant.is_some() { "t" } else { "" });
    for role in &subject.roles {
        part(role);
    }
    key
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn attributes(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    #[test]
    fn a_missing_or_mistyped_attribute_is_left_to_the_engine() {
        let eq = Filter::Eq("author".into(), json!("al"));
        assert_eq!(exact(&eq, &attributes(json!({"author": "al"}))), Some(true));
        assert_eq!(
            exact(&eq, &attributes(json!({"author": "bo"}))),
            Some(false)
        );
        assert_eq!(exact(&eq, &attributes(json!({}))), None);
        assert_eq!(exact(&eq, &attributes(json!({"author": null}))), None);
        assert_eq!(exact(&eq, &attributes(json!({"author": 3}))), None);
        let not = Filter::Not(Box::new(eq));
        assert_eq!(exact(&not, &attributes(json!({"author": 3}))), None);
        let contains = Filter::Contains("editors".into(), json!("al"));
        assert_eq!(
            exact(&contains, &attributes(json!({"editors": ["al"]}))),
            Some(true)
        );
        assert_eq!(
            exact(&contains, &attributes(json!({"editors": "al"}))),
            None
        );
        let either = Filter::Or(vec![
            Filter::Eq("draft".into(), json!(false)),
            Filter::Eq("author".into(), json!("al")),
        ]);
        assert_eq!(
            exact(&either, &attributes(json!({"draft": false}))),
            None,
            "an error after an answer is still an error"
        );
    }

    #[test]
    fn a_fraction_anywhere_is_left_to_the_engine() {
        let compiled = Compiled::new(
            vec![CompiledPolicy {
                name: "all".into(),
                forbid: false,
                filter: Filter::And(Vec::new()),
            }],
            true,
        );
        let allowed = compiled.decide(&attributes(json!({"n": 3, "nested": {"m": [1]}})));
        assert_eq!(allowed.map(|d| d.allowed), Some(true));
        assert!(
            compiled
                .decide(&attributes(json!({"nested": {"m": [1.5]}})))
                .is_none()
        );
    }

    #[test]
    fn keys_of_different_questions_differ() {
        let subject = |id, roles: Vec<&'static str>, tenant| Subject { id, roles, tenant };
        let keys = [
            key(&subject("a", vec!["b"], None), "read", "Post"),
            key(&subject("ab", vec![], None), "read", "Post"),
            key(&subject("a", vec![], Some("b")), "read", "Post"),
            key(&subject("a", vec![""], None), "read", "Post"),
            key(&subject("a", vec![], Some("")), "read", "Post"),
            key(&subject("a", vec![], None), "read", "Post"),
            key(&subject("a", vec![], None), "edit", "Post"),
        ];
        let distinct: std::collections::HashSet<_> = keys.iter().collect();
        assert_eq!(distinct.len(), keys.len(), "{keys:?}");
    }
}
