//! The scanner: every route of a router attacked, in process, as its policy says it must
//! resist.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use std::sync::Arc;

use super::TokenMint;
use crate::guard::GuardedKey;
use crate::inventory::{Inventory, RouteEntry, RoutePolicy};
use crate::policy::Policy;
use crate::rejection::{self, ErrorBody, ErrorInfo};
use crate::revocation::RevocationStore;
use crate::router::SecureRouter;
use crate::sanitize::{DEFAULT_CACHE_CONTROL, SECURITY_HEADERS};

/// What the scanner needs to know that the router cannot tell it.
///
/// ```
/// use secure_endpoint::testing::{ScanSettings, TokenMint};
/// use jsonwebtoken::Algorithm;
///
/// let settings = ScanSettings::new()
///     .mint(TokenMint::hmac(Algorithm::HS256, [7u8; 32]).issuer("blog").audience("blog"))
///     .path("/posts/{id}", "/posts/1")
///     .owner("/posts/{id}", "1");
/// ```
#[derive(Clone, Default)]
pub struct ScanSettings {
    mint: Option<TokenMint>,
    paths: BTreeMap<String, String>,
    owners: BTreeMap<String, String>,
    outside: Vec<String>,
    error_body: Option<Arc<dyn ErrorBody>>,
    tenant_claim: Option<String>,
    tenants: BTreeMap<String, String>,
    guarded: Vec<GuardedKey>,
    intruder: Option<String>,
    principal: Option<String>,
}

impl fmt::Debug for ScanSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScanSettings")
            .field("mint", &self.mint.is_some())
            .field("paths", &self.paths)
            .field("owners", &self.owners)
            .field("outside", &self.outside)
            .finish()
    }
}

impl ScanSettings {
    /// Nothing known: routes with path parameters are probed with `1` for each.
    pub fn new() -> Self {
        Self::default()
    }

    /// Mints tokens the router accepts: needed for the cases past authentication (a
    /// missing role, another principal's resource, bodies, limits on `auth` routes).
    pub fn mint(mut self, mint: TokenMint) -> Self {
        self.mint = Some(mint);
        self
    }

    /// The concrete path to probe for a route pattern (`/posts/{id}` → `/posts/1`).
    pub fn path(mut self, pattern: &str, concrete: &str) -> Self {
        self.paths.insert(pattern.to_owned(), concrete.to_owned());
        self
    }

    /// A path the served application answers outside the inventory (added to the
    /// `axum::Router` after [`SecureRouter::into_router`], say): [`scan_router`] sends it
    /// a GET and checks the security headers and that a 5xx carries no detail.
    pub fn outside_the_inventory(mut self, path: &str) -> Self {
        self.outside.push(path.to_owned());
        self
    }

    /// The application's own error body, for [`scan_router`] (which cannot read it from
    /// the settings; [`scan`] does): refusals and the 500 are then checked against it.
    pub fn error_body<E: ErrorBody>(mut self, writer: E) -> Self {
        self.error_body = Some(Arc::new(writer));
        self
    }

    /// The claim that carries the principal's tenant in the minted tokens (`"org"`), for
    /// the tenant cases.
    pub fn tenant_claim(mut self, claim: &str) -> Self {
        self.tenant_claim = Some(claim.to_owned());
        self
    }

    /// For a `tenant` route: the tenant that owns the resource at its concrete path (or
    /// the items of the list). A principal of another tenant must get 404 (or none of
    /// them).
    pub fn tenant(mut self, pattern: &str, tenant: &str) -> Self {
        self.tenants.insert(pattern.to_owned(), tenant.to_owned());
        self
    }

    /// The guarded fields of `T`, checked in every answer of every route: a type the
    /// router does not name (one a handler serializes some other way) is found this way.
    /// The fields of the routes' own bodies and answers are checked without it.
    pub fn guarded<T: crate::guard::Guarded>(mut self) -> Self {
        self.guarded.extend_from_slice(T::KEYS);
        self
    }

    /// The id of a principal the service serves (an existing account), for the tokens
    /// the scanner signs to get past authentication: bodies, limits, lists. Without it
    /// the scanner invents ids (`scan-author`, …), which a service with a
    /// [`principal_check`](crate::SecurityBuilder::principal_check) refuses.
    pub fn principal(mut self, id: &str) -> Self {
        self.principal = Some(id.to_owned());
        self
    }

    /// The id of the second principal the scanner signs tokens for, one that owns
    /// nothing: `scan-intruder` unless given. Give one of the shape the service's ids
    /// have (a number, for a service whose ids are numbers), or its loaders refuse the
    /// id before they show what they would have let through.
    pub fn intruder(mut self, id: &str) -> Self {
        self.intruder = Some(id.to_owned());
        self
    }

    /// For an `owner` route: the principal id that owns the resource at its concrete
    /// path. Another principal is then refused (403, or 404 when existence is hidden).
    pub fn owner(mut self, pattern: &str, owner_id: &str) -> Self {
        self.owners.insert(pattern.to_owned(), owner_id.to_owned());
        self
    }
}

/// One check that failed: the route, the case, and what was seen instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// `METHOD /path` as in the inventory.
    pub route: String,
    /// The attack or check, e.g. `"no token"`.
    pub case: String,
    /// What the response was, and what it should have been.
    pub detail: String,
}

/// What a scan found.
#[derive(Debug, Clone, Default)]
pub struct ScanReport {
    /// The checks that failed.
    pub findings: Vec<Finding>,
    /// How many requests were sent.
    pub requests: usize,
    /// How many routes were scanned.
    pub routes: usize,
}

impl ScanReport {
    /// Whether nothing was found.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    /// Fails the calling test with the report unless it is clean.
    #[track_caller]
    pub fn assert_clean(&self) {
        assert!(
            self.is_clean(),
            "the security scan found weaknesses:\n{self}"
        );
    }
}

impl fmt::Display for ScanReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} routes, {} requests, {} findings",
            self.routes,
            self.requests,
            self.findings.len()
        )?;
        for finding in &self.findings {
            writeln!(
                f,
                "- {} [{}]: {}",
                finding.route, finding.case, finding.detail
            )?;
        }
        Ok(())
    }
}

/// Attacks every route of `router`, in process, as its declared policy says it must
/// resist, and reports what got through.
///
/// For each route: without a token and with bad ones (junk, `alg: none`, another key,
/// expired) on `auth` routes (401, same body); a valid token lacking the role or scope
/// (403); another principal's resource where an owner fixture is given (403/404); a
/// wrong content type, an oversized and an invalid body on `validate` routes (415, 413,
/// 400); a burst past the limit on `rate` routes (429 with `Retry-After`). Every
/// response must carry the security headers, and a 5xx only the generic body. Routes
/// served through the unchecked opt-out are reported as such.
///
/// ```no_run
/// # async fn run(app: secure_endpoint::SecureRouter) {
/// use secure_endpoint::testing::{ScanSettings, scan};
///
/// scan(app, ScanSettings::new()).await.assert_clean();
/// # }
/// ```
pub async fn scan(router: SecureRouter, settings: ScanSettings) -> ScanReport {
    let inventory = router.inventory();
    let error_body = router.error_body();
    let revocations = router.revocations();
    let built = router
        .mock_connect_info(SocketAddr::from(([192, 0, 2, 1], 40000)))
        .try_into_router();
    match built {
        Ok(app) => scan_with(app, &inventory, settings, error_body, revocations).await,
        Err(error) => {
            let mut report = ScanReport::default();
            report.findings.push(Finding {
                route: "(router)".to_owned(),
                case: "setup".to_owned(),
                detail: error.to_string(),
            });
            report
        }
    }
}

/// Like [`scan`], for the application as it is served: the `axum::Router` built from a
/// [`SecureRouter`] (give it connection info, e.g. with `with_mock_connect_info` of
/// feature `testing`, when it limits by address), with anything added to it afterwards. `inventory` is the secure router's;
/// the paths added outside it are named in
/// [`ScanSettings::outside_the_inventory`].
pub async fn scan_router(app: Router, inventory: &Inventory, settings: ScanSettings) -> ScanReport {
    let error_body = settings.error_body.clone();
    scan_with(app, inventory, settings, error_body, None).await
}

async fn scan_with(
    app: Router,
    inventory: &Inventory,
    settings: ScanSettings,
    error_body: Option<Arc<dyn ErrorBody>>,
    revocations: Option<Arc<RevocationStore>>,
) -> ScanReport {
    let outside = settings.outside.clone();
    let mut scanner = Scanner {
        settings,
        report: ScanReport::default(),
        router: Some(app),
        error_body,
        revocations,
        inventory: inventory.clone(),
    };
    for route in inventory.routes() {
        scanner.report.routes += 1;
        scanner.route(route).await;
    }
    for path in outside {
        scanner.report.routes += 1;
        let label = format!("GET {path}");
        let request = Request::get(path.as_str())
            .body(Body::empty())
            .expect("a valid request");
        scanner
            .send(&label, "outside the inventory", request, next_address())
            .await;
    }
    scanner.report
}

struct Scanner {
    settings: ScanSettings,
    report: ScanReport,
    router: Option<Router>,
    /// The application's own error body, when its settings have one.
    error_body: Option<Arc<dyn ErrorBody>>,
    /// The router's revocations, when its settings have them: a token revoked there must
    /// be refused on every `auth` route.
    revocations: Option<Arc<RevocationStore>>,
    /// What the router says of itself: its authenticators' cookies, its CORS settings.
    inventory: Inventory,
}

/// A response as the scanner reads it.
struct Seen {
    status: StatusCode,
    headers: http::HeaderMap,
    body: String,
    /// The request was a HEAD: no body to judge.
    head: bool,
}

/// Each probe comes from an address of its own (198.18.0.0/15, set aside for tests), so
/// one probe's limits do not answer another's.
fn next_address() -> SocketAddr {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let ip = Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 18, 0, 0)) + (n & 0x1_ffff));
    SocketAddr::new(IpAddr::V4(ip), 40000)
}

impl Scanner {
    fn find(&mut self, route: &str, case: &str, detail: impl Into<String>) {
        self.report.findings.push(Finding {
            route: route.to_owned(),
            case: case.to_owned(),
            detail: detail.into(),
        });
    }

    fn token(&self, sub: &str, roles: &[&str]) -> Option<String> {
        self.settings.mint.as_ref().map(|m| m.token(sub, roles))
    }

    /// A token holding the roles and every scope of `policy`, so that only the step
    /// under test can refuse it.
    fn privileged_token(&self, sub: &str, policy: &Policy) -> Option<String> {
        self.token_in_tenant(sub, policy, None)
    }

    /// A token holding the roles and scopes of `policy`, in `tenant` (or in the tenant of
    /// the route's fixture, when one is given and `tenant` is not).
    /// The served principal's id, or `invented`.
    fn principal_or(&self, invented: &str) -> String {
        self.settings
            .principal
            .clone()
            .unwrap_or_else(|| invented.to_owned())
    }

    /// The second principal's id.
    fn intruder(&self) -> String {
        self.settings
            .intruder
            .clone()
            .unwrap_or_else(|| "scan-intruder".to_owned())
    }

    fn token_in_tenant(&self, sub: &str, policy: &Policy, tenant: Option<&str>) -> Option<String> {
        let claims = self.claims_in_tenant(sub, policy, tenant)?;
        Some(self.settings.mint.as_ref()?.sign(&claims))
    }

    /// The claims [`token_in_tenant`](Self::token_in_tenant) signs.
    fn claims_in_tenant(&self, sub: &str, policy: &Policy, tenant: Option<&str>) -> Option<Value> {
        let mint = self.settings.mint.as_ref()?;
        let mut claims = mint.claims(sub, policy.roles());
        if !policy.scopes().is_empty() {
            claims["scope"] = Value::String(policy.scopes().join(" "));
        }
        if let (Some(claim), Some(tenant)) = (&self.settings.tenant_claim, tenant) {
            claims[claim.as_str()] = Value::String(tenant.to_owned());
        }
        Some(claims)
    }

    /// Lists and tenants, as a second principal and another tenant would try them.
    async fn beyond_one_object(
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
        } else if policy.tenant().is_some()
            && tenant.is_some()
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

    /// Every answer of a route, as a caller without the guarded fields' roles and owning
    /// nothing sees it: no guarded key may be in it, at any depth.
    async fn guarded_fields(
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

    async fn send(
        &mut self,
        label: &str,
        case: &str,
        request: Request<Body>,
        from: SocketAddr,
    ) -> Option<Seen> {
        let mut request = request;
        let head = request.method() == Method::HEAD;
        request.extensions_mut().insert(ConnectInfo(from));
        let router = self.router.clone()?;
        self.report.requests += 1;
        let response = match router.oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let (parts, body) = response.into_parts();
        let bytes = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let seen = Seen {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            head,
        };
        self.check_every_response(label, case, &seen);
        Some(seen)
    }

    fn check_every_response(&mut self, label: &str, case: &str, seen: &Seen) {
        for (name, value) in SECURITY_HEADERS.into_iter().chain([DEFAULT_CACHE_CONTROL]) {
            let present = seen.headers.get(name).and_then(|v| v.to_str().ok());
            // A handler may set its own Cache-Control; it must still be there.
            let ok = if name == DEFAULT_CACHE_CONTROL.0 {
                present.is_some()
            } else {
                present == Some(value)
            };
            if !ok {
                self.find(
                    label,
                    case,
                    format!("header {name} is {present:?}, want {value:?}"),
                );
            }
        }
        // A refusal a handler or an extractor wrote in its own words may quote the
        // input: every 4xx body must be the framework's shape, `{"error": …}` (400s
        // may add `details`), or the application's own error body. HEAD answers have
        // no body.
        if seen.status.is_client_error() && !seen.head {
            let shaped = match &self.error_body {
                Some(writer) => {
                    let content_type = seen
                        .headers
                        .get("content-type")
                        .and_then(|v| v.to_str().ok());
                    content_type == Some(writer.content_type())
                        && (seen.status == StatusCode::BAD_REQUEST
                            || seen.body.as_bytes() == self.refusal_body(seen.status).as_slice())
                }
                None => serde_json::from_str::<Value>(&seen.body)
                    .ok()
                    .is_some_and(|body| {
                        body.as_object().is_some_and(|o| {
                            o.get("error").is_some_and(Value::is_string)
                                && o.keys().all(|k| k == "error" || k == "details")
                        })
                    }),
            };
            if !shaped {
                self.find(
                    label,
                    case,
                    format!(
                        "a {} body is not the framework's error body: {:.200}",
                        seen.status, seen.body
                    ),
                );
            }
        }
        if seen.status.is_server_error() {
            let id = seen
                .headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok());
            let generic = match (&self.error_body, id) {
                (Some(writer), Some(id)) => {
                    seen.body.as_bytes()
                        == writer
                            .write(&ErrorInfo {
                                status: StatusCode::INTERNAL_SERVER_ERROR,
                                message: "An unexpected error occurred",
                                details: None,
                                request_id: Some(id),
                            })
                            .as_slice()
                }
                (Some(_), None) => false,
                (None, _) => serde_json::from_str::<Value>(&seen.body)
                    .ok()
                    .is_some_and(|body| {
                        body.as_object().is_some_and(|o| {
                            o.len() == 2
                                && o.get("request_id").is_some_and(Value::is_string)
                                && o.get("error").and_then(Value::as_str)
                                    == Some("An unexpected error occurred")
                        })
                    }),
            };
            if !generic {
                self.find(
                    label,
                    case,
                    format!(
                        "a {} response leaks its body: {:.200}",
                        seen.status, seen.body
                    ),
                );
            }
        }
    }

    /// The body the framework answers `status` with: its own JSON, or the application's.
    fn refusal_body(&self, status: StatusCode) -> Vec<u8> {
        match &self.error_body {
            Some(writer) => writer.write(&ErrorInfo {
                status,
                message: rejection::message(status),
                details: None,
                request_id: None,
            }),
            None => rejection::fixed_body(status).to_vec(),
        }
    }

    fn expect(
        &mut self,
        label: &str,
        case: &str,
        seen: Option<Seen>,
        allowed: &[StatusCode],
        body_of: Option<StatusCode>,
    ) {
        let Some(seen) = seen else { return };
        let body =
            body_of.map(|status| String::from_utf8_lossy(&self.refusal_body(status)).into_owned());
        if !allowed.contains(&seen.status) {
            self.find(
                label,
                case,
                format!(
                    "answered {}, want {:?}",
                    seen.status,
                    allowed.iter().map(|s| s.as_u16()).collect::<Vec<_>>()
                ),
            );
        } else if let Some(body) = body
            && seen.body != body
        {
            let body = &body;
            self.find(label, case, format!("body {:.200}, want {body}", seen.body));
        }
    }

    /// What a browser front end's attacker tries: an unsafe request from another site
    /// carrying the session cookie (refused with 403), and a preflight from an origin
    /// the CORS settings do not list (no CORS headers in the answer).
    async fn browsers(&mut self, label: &str, policy: &Policy, method: &Method, path: &str) {
        let cookie = self
            .inventory
            .authenticator(policy.authenticator())
            .and_then(|a| a.cookie.clone());
        let unsafe_method = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
        if let Some(cookie) = cookie
            && unsafe_method
            && (policy.requires_auth() || policy.allows_optional_auth())
        {
            let tenant = self.settings.tenants.values().next().cloned();
            if let Some(token) =
                self.token_in_tenant(&self.principal_or("scan-author"), policy, tenant.as_deref())
            {
                let case = "cross-site request with the session cookie";
                let request = Request::builder()
                    .method(method.clone())
                    .uri(path)
                    .header("cookie", format!("{cookie}={token}"))
                    .header("sec-fetch-site", "cross-site")
                    .header("origin", "https://scanner-cross-site.example")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(Body::from("title=forged"))
                    .expect("a valid request");
                let seen = self.send(label, case, request, next_address()).await;
                self.expect(
                    label,
                    case,
                    seen,
                    &[StatusCode::FORBIDDEN],
                    Some(StatusCode::FORBIDDEN),
                );
            }
        }
        // With any origin allowed (`*`, never with credentials), every origin is listed.
        if self
            .inventory
            .browsers()
            .is_some_and(|b| !b.cors_origins.is_empty() && b.cors_origins != ["*"])
        {
            let case = "preflight from an origin CORS does not list";
            let request = Request::builder()
                .method(Method::OPTIONS)
                .uri(path)
                .header("origin", "https://scanner-unlisted.example")
                .header("access-control-request-method", method.as_str())
                .body(Body::empty())
                .expect("a valid request");
            if let Some(seen) = self.send(label, case, request, next_address()).await
                && seen.headers.contains_key("access-control-allow-origin")
            {
                self.find(label, case, "answered with Access-Control-Allow-Origin");
            }
        }
    }

    async fn route(&mut self, route: &RouteEntry) {
        let label = format!("{} {}", route.method, route.path);
        let policy = match route.policy {
            RoutePolicy::Unchecked { ref reason } => {
                self.find(
                    &label,
                    "unchecked route",
                    format!("served without a declared policy ({reason})"),
                );
                // Still answered through the router: headers and 5xx bodies are checked.
                if route.path != "*" {
                    let path = self.concrete_path(&route.path);
                    let request = Request::get(path.as_str())
                        .body(Body::empty())
                        .expect("a valid request");
                    self.send(&label, "unchecked route", request, next_address())
                        .await;
                }
                return;
            }
            RoutePolicy::Declared(policy) => policy,
        };
        // The fallback answers every path no route matches: probed at one.
        let fallback = route.path == "(fallback)";
        let Some(method) = probe_method(&route.method, fallback) else {
            return;
        };
        let path = if fallback {
            "/no-route-answers-this-scanner-path".to_owned()
        } else {
            self.concrete_path(&route.path)
        };
        let request = |token: Option<&str>| {
            let mut builder = Request::builder().method(method.clone()).uri(path.as_str());
            if let Some(token) = token {
                builder = builder.header("authorization", format!("Bearer {token}"));
            }
            builder.body(Body::empty()).expect("a valid request")
        };

        if !policy.requires_auth() {
            // Anyone may call it: one plain request, for what every response must be.
            self.send(&label, "plain request", request(None), next_address())
                .await;
        }
        if policy.requires_auth() {
            self.authentication(&label, policy, &request).await;
            // axum answers HEAD with the GET handler: the same policy applies.
            if method == Method::GET {
                let head = Request::head(path.as_str())
                    .body(Body::empty())
                    .expect("a valid request");
                let seen = self
                    .send(&label, "HEAD without a token", head, next_address())
                    .await;
                self.expect(
                    &label,
                    "HEAD without a token",
                    seen,
                    &[StatusCode::UNAUTHORIZED],
                    None,
                );
            }
        }
        if policy.requires_auth()
            && (!policy.roles().is_empty() || !policy.scopes().is_empty())
            && let Some(token) = self.token(&self.intruder(), &[])
        {
            let seen = self
                .send(
                    &label,
                    "valid token lacking the role or scope",
                    request(Some(&token)),
                    next_address(),
                )
                .await;
            self.expect(
                &label,
                "valid token lacking the role or scope",
                seen,
                &[StatusCode::FORBIDDEN],
                Some(StatusCode::FORBIDDEN),
            );
        }
        if policy.owner().is_some_and(|owner| !owner.contains("[]"))
            && self.settings.owners.contains_key(&route.path)
            && let Some(token) = self.privileged_token(&self.intruder(), policy)
        {
            let seen = self
                .send(
                    &label,
                    "another principal's resource",
                    request(Some(&token)),
                    next_address(),
                )
                .await;
            self.expect(
                &label,
                "another principal's resource",
                seen,
                &[StatusCode::FORBIDDEN, StatusCode::NOT_FOUND],
                None,
            );
        }
        if policy.requires_auth() && (policy.owner().is_some() || policy.tenant().is_some()) {
            self.beyond_one_object(&label, route, policy, &request)
                .await;
        }
        self.browsers(&label, policy, &method, &path).await;
        if method == Method::GET {
            let mut keys: Vec<GuardedKey> = route.guards.response.to_vec();
            keys.extend_from_slice(&self.settings.guarded);
            if !keys.is_empty() {
                self.guarded_fields(&label, policy, &keys, &request).await;
            }
        }
        if policy.validated_body().is_some() {
            self.bodies(&label, policy, route, &method, &path).await;
        }
        // The smallest limit that counts every request is burst past; a route with a
        // limit on a body field counts only valid bodies, which the scanner cannot write.
        let counted = policy
            .limits()
            .iter()
            .filter(|limit| limit.counts() == crate::rate::Counts::Any)
            .map(|limit| limit.rate().count())
            .min();
        let on_input = policy
            .limits()
            .iter()
            .any(|limit| matches!(limit.key(), crate::rate::RateKey::Input(_)));
        if let Some(count) = counted
            && !on_input
        {
            self.burst(&label, policy, count, &request).await;
        }
    }

    fn concrete_path(&self, pattern: &str) -> String {
        if let Some(concrete) = self.settings.paths.get(pattern) {
            return concrete.clone();
        }
        pattern
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    "1"
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    async fn authentication(
        &mut self,
        label: &str,
        policy: &Policy,
        request: &dyn Fn(Option<&str>) -> Request<Body>,
    ) {
        let unauthorized = Some(StatusCode::UNAUTHORIZED);
        let seen = self
            .send(label, "no token", request(None), next_address())
            .await;
        self.expect(
            label,
            "no token",
            seen,
            &[StatusCode::UNAUTHORIZED],
            unauthorized,
        );
        let roles: &[&str] = policy.roles();
        let mut bad: Vec<(&str, String)> = vec![
            ("junk token", "junk.token.value".to_owned()),
            (
                "alg none",
                "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJzY2FuIiwicm9sZXMiOlsiYWRtaW4iXSwiZXhwIjo0MTAyNDQ0ODAwfQ.".to_owned(),
            ),
            (
                "another key",
                TokenMint::hmac(jsonwebtoken::Algorithm::HS256, b"scanner-key-no-router-trusts-0000")
                    .token("scan", roles),
            ),
        ];
        if let Some(mint) = &self.settings.mint {
            let mut expired = mint.claims("scan", roles);
            expired["exp"] = serde_json::json!(super::now() - 3600);
            bad.push(("expired token", mint.sign(&expired)));
        }
        // A token the route would accept, revoked through the router's revocations.
        let tenant = self.settings.tenants.values().next().cloned();
        if let Some(store) = self.revocations.clone()
            && let Some(claims) = self.claims_in_tenant(
                &self.principal_or("scan-revoked"),
                policy,
                tenant.as_deref(),
            )
            && let (Some(jti), Some(exp)) = (claims["jti"].as_str(), claims["exp"].as_u64())
            && let Some(mint) = &self.settings.mint
        {
            store.revoke_token(jti, exp).await;
            bad.push(("revoked token", mint.sign(&claims)));
        }
        for (case, token) in bad {
            let seen = self
                .send(label, case, request(Some(&token)), next_address())
                .await;
            self.expect(label, case, seen, &[StatusCode::UNAUTHORIZED], unauthorized);
        }
    }

    async fn bodies(
        &mut self,
        label: &str,
        policy: &Policy,
        route: &RouteEntry,
        method: &Method,
        path: &str,
    ) {
        // Past authentication, roles and ownership, so that the body step answers.
        let owner = self.settings.owners.get(&route.path).cloned();
        if policy.owner().is_some() && owner.is_none() {
            return;
        }
        let token = if policy.requires_auth() {
            let author = owner.unwrap_or_else(|| self.principal_or("scan-author"));
            match self.privileged_token(&author, policy) {
                Some(token) => Some(token),
                None => return,
            }
        } else {
            None
        };
        let cases: [(&str, &str, Vec<u8>, StatusCode); 3] = [
            (
                "wrong content type",
                "text/plain",
                b"{}".to_vec(),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ),
            (
                "oversized body",
                "application/json",
                oversized(),
                StatusCode::PAYLOAD_TOO_LARGE,
            ),
            (
                "invalid body",
                "application/json",
                b"{\"unterminated\": ".to_vec(),
                StatusCode::BAD_REQUEST,
            ),
        ];
        for (case, content_type, body, want) in cases {
            let mut builder = Request::builder()
                .method(method.clone())
                .uri(path)
                .header("content-type", content_type);
            if let Some(token) = &token {
                builder = builder.header("authorization", format!("Bearer {token}"));
            }
            let request = builder.body(Body::from(body)).expect("a valid request");
            let seen = self.send(label, case, request, next_address()).await;
            self.expect(label, case, seen, &[want], None);
        }
    }

    async fn burst(
        &mut self,
        label: &str,
        policy: &Policy,
        count: u32,
        request: &dyn Fn(Option<&str>) -> Request<Body>,
    ) {
        let sub = self
            .settings
            .principal
            .clone()
            .unwrap_or_else(|| format!("scan-burst-{}", next_address().ip()));
        let token = if policy.requires_auth() {
            match self.privileged_token(&sub, policy) {
                Some(token) => Some(token),
                None => return,
            }
        } else {
            None
        };
        let from = next_address();
        // Refills may land during the burst on fast limits: send up to twice the count.
        let attempts = count.min(10_000) * 2 + 1;
        let mut limited = None;
        for _ in 0..attempts {
            let Some(seen) = self
                .send(
                    label,
                    "burst past the limit",
                    request(token.as_deref()),
                    from,
                )
                .await
            else {
                return;
            };
            if seen.status == StatusCode::TOO_MANY_REQUESTS {
                limited = Some(seen);
                break;
            }
        }
        match limited {
            None => self.find(
                label,
                "burst past the limit",
                format!("{attempts} requests, none refused with 429"),
            ),
            Some(seen) if !seen.headers.contains_key("retry-after") => {
                self.find(label, "burst past the limit", "429 without Retry-After")
            }
            Some(_) => {}
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

fn probe_method(method: &str, fallback: bool) -> Option<Method> {
    match method {
        "ANY" => Some(Method::GET),
        "*" if fallback => Some(Method::GET),
        "*" => None,
        other => Method::from_bytes(other.as_bytes()).ok(),
    }
}

/// A JSON body larger than any limit a route would set by default (2 MiB).
fn oversized() -> Vec<u8> {
    let mut body = b"{\"padding\":\"".to_vec();
    body.resize(2 * 1024 * 1024, b'a');
    body.extend_from_slice(b"\"}");
    body
}
