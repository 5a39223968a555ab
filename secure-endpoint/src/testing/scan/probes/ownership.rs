//! Steps 3 and 4 attacked: another principal's resource (403 or 404), another tenant's
//! (404), a list that must hold only the caller's items.

use axum::body::Body;
use http::{Request, StatusCode};
use serde_json::Value;

use crate::inventory::RouteEntry;
use crate::policy::Policy;

use super::super::scanner::{Scanner, next_address};

impl Scanner {
    /// Lists and tenants, as a second principal and another tenant would try them.
    pub(in crate::testing::scan) async fn beyond_one_object(
        &mut self,
        label: &str,
        route: &RouteEntry,
        policy: &Policy,
        request: &dyn Fn(Option<&str>) -> Request<Body>,
    ) {
        let collection = policy.owner().is_some_and(|o| o.contains("[]"))
            || policy.tenant().is_some_and(|t| t.contains("[]"));
        let tenant = self.settings.tenants.get(&route.path).cloned();
        let owner = self.settings.owners.get(&route.path).cloned();
        if collection {
            // The fixture's owner sees its items; another principal of the same tenant,
            // and a principal of another tenant, must see none of them.
            let Some(owner_id) = owner
                .clone()
                .or_else(|| Some(self.principal_or("scan-owner")))
            else {
                return;
            };
            let Some(token) = self.token_in_tenant(&owner_id, policy, tenant.as_deref()) else {
                return;
            };
            let theirs = self
                .send(
                    label,
                    "the owner's list",
                    request(Some(&token)),
                    next_address(),
                )
                .await;
            let theirs: Vec<Value> = theirs
                .and_then(|seen| serde_json::from_str::<Value>(&seen.body).ok())
                .and_then(|body| body.as_array().cloned())
                .unwrap_or_default();
            let mut intruders = Vec::new();
            if policy.owner().is_some_and(|o| o.contains("[]")) {
                intruders.push(("another principal's list", self.intruder(), tenant.clone()));
            }
            if tenant.is_some() {
                intruders.push((
                    "another tenant's list",
                    "scan-other-tenant".to_owned(),
                    Some("scan-other-tenant".to_owned()),
                ));
            }
            for (case, sub, in_tenant) in intruders {
                let Some(token) = self.token_in_tenant(&sub, policy, in_tenant.as_deref()) else {
                    continue;
                };
                let Some(seen) = self
                    .send(label, case, request(Some(&token)), next_address())
                    .await
                else {
                    continue;
                };
                if seen.status.is_server_error() {
                    self.find(label, case, "answered 500: the collection's loader failed for this caller, or returned items outside its scope (the framework then refuses to hand them over, and the log names the loader)");
                    continue;
                }
                let items: Vec<Value> = serde_json::from_str::<Value>(&seen.body)
                    .ok()
                    .and_then(|body| body.as_array().cloned())
                    .unwrap_or_default();
                if let Some(leak) = items.iter().find(|item| theirs.contains(item)) {
                    self.find(
                        label,
                        case,
                        format!("shows the owner's item {:.120}", leak.to_string()),
                    );
                }
            }
        } else if tenant.is_some()
            && let Some(token) =
                self.token_in_tenant("scan-other-tenant", policy, Some("scan-other-tenant"))
        {
            let seen = self
                .send(
                    label,
                    "another tenant's resource",
                    request(Some(&token)),
                    next_address(),
                )
                .await;
            self.expect(
                label,
                "another tenant's resource",
                seen,
                &[StatusCode::NOT_FOUND],
                None,
            );
        }
    }
}
