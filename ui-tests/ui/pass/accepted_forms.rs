//! Every form of the attributes this version accepts, routed.

use axum::extract::{Path, Query, State};
use axum::Json;
use secure_endpoint::routing::{any, delete, get, head, options, patch, post, put};
use secure_endpoint::{Authenticated, Claims, Error, Principal, SecureHandler, SecureRouter, public, secure};
use serde::Deserialize;

#[derive(Clone)]
struct AppState;

#[derive(Clone, Deserialize)]
struct Staff {
    sub: String,
    groups: Vec<String>,
}

impl Principal for Staff {
    fn id(&self) -> &str {
        &self.sub
    }
    fn has_role(&self, role: &str) -> bool {
        self.groups.iter().any(|g| g == role)
    }
}

#[derive(Deserialize, validator::Validate)]
struct Page {
    page: u32,
}

/// Doc comments stay on the handler.
#[public]
async fn bare() -> &'static str {
    "bare"
}

#[public(reason = "health checks")]
pub async fn with_reason() -> &'static str {
    "ok"
}

#[secure(auth)]
async fn auth_only(claims: Claims) -> String {
    claims.sub
}

#[secure(auth, role = "admin")]
async fn one_role(State(_state): State<AppState>) -> &'static str {
    "admin"
}

#[secure(auth, roles = ["admin", "editor"], validate_query = Page,)]
async fn any_role(Path(id): Path<u64>, Query(page): Query<Page>) -> String {
    format!("{id} {}", page.page)
}

#[secure(auth, scope = "posts:write")]
async fn one_scope(Authenticated(staff): Authenticated<Staff>) -> String {
    staff.sub
}

#[secure(auth, role = "admin", scopes = ["a", "b"])]
async fn roles_and_scopes() -> Result<&'static str, Error> {
    Ok("both")
}

#[secure_endpoint::secure(auth)]
async fn fully_qualified() -> &'static str {
    "qualified"
}

#[public]
async fn not_found() -> &'static str {
    "nothing here"
}

#[public]
#[allow(unused_variables)]
async fn other_attributes_are_kept(Path(unused): Path<String>) -> &'static str {
    "kept"
}

mod nested {
    use secure_endpoint::public;

    #[public]
    pub async fn visible_outside() -> &'static str {
        "pub"
    }
}

fn main() {
    const _: () = assert!(<auth_only as SecureHandler>::POLICY.requires_auth());
    let api = SecureRouter::new()
        .route("/any-role/{id}", get(any_role))
        .route("/scope", post(one_scope).put(roles_and_scopes));
    let _app: SecureRouter = SecureRouter::new()
        .route("/", get(bare).head(bare).options(bare))
        .route("/health", get(with_reason))
        .route("/me", get(auth_only).patch(fully_qualified).delete(auth_only))
        .route("/admin", put(one_role))
        .route("/p/{unused}", get(other_attributes_are_kept))
        .route("/pub", get(nested::visible_outside))
        .route("/each", patch(bare))
        .route("/d", delete(bare))
        .route("/h", head(bare))
        .route("/o", options(bare))
        .route("/any", any(bare))
        .nest("/api", api)
        .fallback(not_found)
        .with_state(AppState);
    let _ = Json(1);
}
