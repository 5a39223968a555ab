//! `owner = "posts[].user_id"`, `tenant = "posts[].org_id"` and `can = "read", on =
//! "posts[]"`: the list the handler receives is loaded for the caller through its
//! [`Collection`](crate::Collection) (the query validated like `validate_query`, the
//! engine's plan in the scope), then every item is checked against the scope it was
//! loaded for before the handler runs (the engine's own check is `permit.rs`'s). An item outside it, or more items
//! than the page holds, fails the request closed: the generic 500, with the loader's
//! name in the log, and nothing of the items in the response.

use axum::response::{IntoResponse, Response};
use http::request::Parts;

use super::Admitted;
use crate::audit::{self, Step};
use crate::handler::SecureHandler;
use crate::input::InputFor;
use crate::permission::Plan;
use crate::rejection::Rejection;
use crate::resource::{ListableFrom, OwnerId, Scope};

/// The caller's items.
pub async fn load_collection<C, S, H>(
    admitted: &Admitted,
    parts: &Parts,
    state: &S,
    owner_of: Option<fn(&C) -> &dyn OwnerId>,
    tenant_of: Option<fn(&C) -> &dyn OwnerId>,
    plan: Option<&Plan>,
) -> Result<Vec<C>, Response>
where
    C: ListableFrom<S>,
    C::Query: InputFor<S>,
    S: Send + Sync,
    H: SecureHandler,
{
    let route = admitted.audit_route();
    let policy = H::POLICY;
    let principal = admitted.caller();
    if principal.is_none() && (owner_of.is_some() || tenant_of.is_some()) {
        audit::deny(route, Step::Owner, "no authenticated principal");
        return Err(Rejection::Internal.into_response());
    }
    let everyone = owner_of.is_none()
        || policy
            .owner_or_role()
            .is_some_and(|role| principal.is_some_and(|p| p.has_role(role)));
    let tenant = match tenant_of {
        None => None,
        Some(_) => match principal.and_then(|p| p.tenant()) {
            Some(tenant) => Some(tenant),
            None => {
                audit::deny(route, Step::Tenant, "the principal has no tenant");
                return Err(Rejection::Forbidden.into_response());
            }
        },
    };
    let query = <C::Query as InputFor<S>>::from_query(parts.uri.query().unwrap_or("")).map_err(
        |details| {
            audit::deny_with(
                route,
                Step::Validate,
                "invalid query",
                &details.keys().collect::<Vec<_>>(),
            );
            Rejection::InvalidInput(details).into_response()
        },
    )?;
    let scope = Scope {
        owner: if everyone {
            None
        } else {
            principal.map(|p| p.id())
        },
        tenant,
        limit: C::MAX_PAGE,
        plan,
    };
    let items = C::list_from(scope, query, state)
        .await
        .map_err(IntoResponse::into_response)?;
    let loader = std::any::type_name::<C>();
    if items.len() > scope.limit {
        tracing::error!(
            loader,
            items = items.len(),
            limit = scope.limit,
            "a collection's loader returned more items than its page holds"
        );
        audit::deny(route, Step::Owner, "the loader returned more than a page");
        return Err(Rejection::Internal.into_response());
    }
    for item in &items {
        let owned = match (scope.owner, owner_of) {
            (Some(owner), Some(owner_of)) => owner_of(item).is_owned_by(owner),
            _ => true,
        };
        let in_tenant = match (scope.tenant, tenant_of) {
            (Some(tenant), Some(tenant_of)) => tenant_of(item).is_owned_by(tenant),
            _ => true,
        };
        if !owned || !in_tenant {
            tracing::error!(
                loader,
                "a collection's loader returned an item outside the caller's scope; the request fails closed"
            );
            audit::deny(
                route,
                Step::Owner,
                "the loader returned an item outside the scope",
            );
            return Err(Rejection::Internal.into_response());
        }
    }
    if owner_of.is_some() || tenant_of.is_some() {
        audit::allow(route, Step::Owner, "every item is in the caller's scope");
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use http::StatusCode;

    use crate::error::Error;
    use crate::pipeline::harness::{Note, bearer, empty, notes, request, send, settings, token};
    use crate::resource::{Collection, NoQuery, Scope};
    use crate::routing::get;
    use crate::{SecureRouter, secure};

    /// Lists as the scope says.
    struct Mine {
        id: u32,
        owner: String,
    }

    impl Collection for Mine {
        type State = ();
        type Query = NoQuery;

        async fn list(scope: Scope<'_>, _query: NoQuery, _state: &()) -> Result<Vec<Mine>, Error> {
            Ok(notes()
                .into_iter()
                .filter(|note| scope.owner().is_none_or(|owner| note.owner == owner))
                .map(|Note { id, owner, .. }| Mine { id, owner })
                .collect())
        }
    }

    /// Ignores the scope: a loader with a bug.
    struct Leaky {
        owner: String,
    }

    impl Collection for Leaky {
        type State = ();
        type Query = NoQuery;

        async fn list(
            _scope: Scope<'_>,
            _query: NoQuery,
            _state: &(),
        ) -> Result<Vec<Leaky>, Error> {
            Ok(notes()
                .into_iter()
                .map(|note| Leaky { owner: note.owner })
                .collect())
        }
    }

    #[secure(auth, owner = "notes[].owner")]
    async fn mine(notes: Vec<Mine>) -> String {
        let ids: Vec<String> = notes
            .iter()
            .map(|n| format!("{}:{}", n.id, n.owner))
            .collect();
        ids.join(",")
    }

    #[secure(auth, owner = "notes[].owner")]
    async fn leaky(notes: Vec<Leaky>) -> String {
        let owners: Vec<&str> = notes.iter().map(|n| n.owner.as_str()).collect();
        owners.join(",")
    }

    fn router() -> SecureRouter {
        SecureRouter::new()
            .route("/mine", get(mine))
            .route("/leaky", get(leaky))
            .with_security(settings().build().unwrap())
    }

    #[tokio::test]
    async fn the_handler_receives_the_caller_s_items_only() {
        let answer = send(
            router(),
            empty(bearer(request("GET", "/mine"), &token("8", &[]))),
        )
        .await;
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (StatusCode::OK, "2:8")
        );
    }

    #[tokio::test]
    async fn a_loader_returning_someone_else_s_item_fails_closed() {
        let answer = send(
            router(),
            empty(bearer(request("GET", "/leaky"), &token("8", &[]))),
        )
        .await;
        assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            answer
                .body
                .starts_with(r#"{"error":"An unexpected error occurred","request_id":""#),
            "{}",
            answer.body
        );
    }

    #[tokio::test]
    async fn an_undeclared_query_parameter_is_400() {
        let answer = send(
            router(),
            empty(bearer(request("GET", "/mine?owner=7"), &token("8", &[]))),
        )
        .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        assert!(!answer.body.contains("7\""), "{}", answer.body);
    }
}
