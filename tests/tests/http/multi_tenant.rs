//! A multi-tenant service as a newcomer writes it (projects in organisations, owners,
//! admins, validated and guarded bodies) with a principal type that requires its
//! tenant: the scanner passes it, and finds the copy whose tenant check was removed.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use jsonwebtoken::Algorithm;
use secure_endpoint::routing::{get, post};
use secure_endpoint::testing::{ScanSettings, TokenMint, scan};
use secure_endpoint::{
    Authenticated, Error, Guarded, JwtAuthenticator, Limiter, Principal, Resource, SecureRouter,
    Security, secure,
};
use secure_endpoint_tests::SECRET;
use serde::{Deserialize, Serialize};
use validator::Validate;

/// A member of an organisation: a token without `org` is no member.
#[derive(Clone, Deserialize)]
struct Member {
    sub: String,
    org: String,
    #[serde(default)]
    roles: Vec<String>,
}

impl Principal for Member {
    fn id(&self) -> &str {
        &self.sub
    }
    fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
    fn tenant(&self) -> Option<&str> {
        Some(&self.org)
    }
}

#[derive(Clone, Serialize, Guarded)]
struct Project {
    id: u64,
    org_id: String,
    owner_id: String,
    name: String,
    #[guarded(role = "admin")]
    budget: u64,
}

#[derive(Clone, Default)]
struct Store {
    projects: Arc<Vec<Project>>,
}

impl Resource for Project {
    type Key = u64;
    type State = Store;

    async fn load(id: u64, store: &Store) -> Result<Option<Project>, Error> {
        Ok(store.projects.iter().find(|p| p.id == id).cloned())
    }
}

#[derive(Deserialize, Validate, Guarded)]
struct Edit {
    #[validate(length(min = 1, max = 100))]
    name: String,
    #[serde(default)]
    #[guarded(role = "admin")]
    budget: Option<u64>,
}

#[secure(auth, tenant = "project.org_id")]
async fn read(project: Project) -> Json<Project> {
    Json(project)
}

#[secure(auth, tenant = "project.org_id", owner = "project.owner_id", validate = Edit)]
async fn edit(project: Project, input: Edit) -> Json<Project> {
    Json(Project {
        name: input.name,
        budget: input.budget.unwrap_or(project.budget),
        ..project
    })
}

#[secure(auth, tenant = "project.org_id", role = "admin", rate = "100/s")]
async fn archive(project: Project) -> String {
    format!("archived {}", project.id)
}

#[secure(auth, validate = Edit, rate = "100/s")]
async fn create(Authenticated(member): Authenticated<Member>, input: Edit) -> Json<Project> {
    Json(Project {
        id: 9,
        org_id: member.org,
        owner_id: member.sub,
        name: input.name,
        budget: input.budget.unwrap_or(0),
    })
}

/// The copy of `read` whose tenant check was removed.
#[secure(auth)]
async fn read_any(
    State(store): State<Store>,
    axum::extract::Path(id): axum::extract::Path<u64>,
) -> Json<Option<Project>> {
    Json(store.projects.iter().find(|p| p.id == id).cloned())
}

fn router(broken: bool) -> SecureRouter {
    let store = Store {
        projects: Arc::new(vec![Project {
            id: 1,
            org_id: "acme".into(),
            owner_id: "alice".into(),
            name: "rocket".into(),
            budget: 1_000_000,
        }]),
    };
    let jwt = JwtAuthenticator::hmac(Algorithm::HS256, SECRET)
        .unwrap()
        .claims::<Member>();
    let security = Security::builder()
        .authenticator(jwt)
        .rate_limiter(Limiter::memory())
        .build()
        .unwrap();
    let project = if broken {
        get(read_any)
    } else {
        get(read).put(edit).delete(archive)
    };
    SecureRouter::new()
        .route("/projects", post(create))
        .route("/projects/{id}", project)
        .with_security(security)
        .with_state(store)
}

fn settings() -> ScanSettings {
    ScanSettings::new()
        .mint(TokenMint::hmac(Algorithm::HS256, SECRET))
        .tenant_claim("org")
        .path("/projects/{id}", "/projects/1")
        .tenant("/projects/{id}", "acme")
        .owner("/projects/{id}", "alice")
        .guarded::<Project>()
}

#[tokio::test]
async fn a_sound_multi_tenant_service_scans_clean() {
    let report = scan(router(false), settings()).await;
    report.assert_clean();
    // The report says what ran: the tenant probes did.
    assert!(report.cases["another tenant's resource"] > 0, "{report}");
    assert!(report.to_string().contains("cases run: "), "{report}");
}

#[tokio::test]
async fn a_route_without_its_tenant_check_is_reported() {
    let report = scan(router(true), settings()).await;
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.route == "GET /projects/{id}" && f.case == "another tenant's resource"),
        "{report}"
    );
}
