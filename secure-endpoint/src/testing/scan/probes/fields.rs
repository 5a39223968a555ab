//! Guarded fields attacked: a field the caller may not write is refused, one it may not
//! read is never in an answer.

use axum::body::Body;
use http::Request;
use serde_json::Value;

use crate::guard::GuardedKey;
use crate::policy::Policy;

use super::super::scanner::{Scanner, next_address};

impl Scanner {
    /// Every answer of a route, as a caller without the guarded fields' roles and owning
    /// nothing sees it: no guarded key may be in it, at any depth.
    pub(in crate::testing::scan) async fn guarded_fields(
        &mut self,
        label: &str,
        policy: &Policy,
        keys: &[GuardedKey],
        request: &dyn Fn(Option<&str>) -> Request<Body>,
    ) {
        let token = if policy.requires_auth() {
            match self.token_in_tenant(
                &self.intruder(),
                policy,
                self.settings.tenants.values().next().map(String::as_str),
            ) {
                Some(token) => Some(token),
                None => return,
            }
        } else {
            None
        };
        let case = "guarded fields for a caller who may not read them";
        let Some(seen) = self
            .send(label, case, request(token.as_deref()), next_address())
            .await
        else {
            return;
        };
        let Ok(body) = serde_json::from_str::<Value>(&seen.body) else {
            return;
        };
        // The route's own roles are the caller's: a guard by one of them is not tested.
        let hidden: Vec<&str> = keys
            .iter()
            .filter(|k| k.role.is_none_or(|role| !policy.roles().contains(&role)))
            .map(|k| k.key)
            .collect();
        if let Some(key) = first_key(&body, &hidden) {
            self.find(
                label,
                case,
                format!("the answer shows the guarded field `{key}`"),
            );
        }
    }
}

/// The first of `keys` found as an object key anywhere in `value`.
fn first_key<'k>(value: &Value, keys: &[&'k str]) -> Option<&'k str> {
    match value {
        Value::Object(object) => keys
            .iter()
            .find(|k| object.contains_key(**k))
            .copied()
            .or_else(|| object.values().find_map(|v| first_key(v, keys))),
        Value::Array(items) => items.iter().find_map(|v| first_key(v, keys)),
        _ => None,
    }
}
